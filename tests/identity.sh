#!/bin/sh
# identity.sh - the refactor of issue #12 must not change behaviour: every
# example compiled by this tree's cnncc must train to the same checkpoint,
# bit for bit, and its inference code give the same outputs, bit for bit, as
# with the cnncc of the baseline commit, the last one before the refactor.
#
# The baseline is built from this repository's own git history:
# IDENTITY_BASELINE (default: CNNCC_BASELINE of tests/baseline.sh) is exported with git archive into a
# temporary directory, configured and built there (cnncc and its
# runtime/libcnnrt.a only); run from its build tree, that cnncc links the
# trainers with its own runtime/libcnnrt.a and cnnrt.h (compiler/build.c
# looks next to the executable first), not with this tree's or an installed
# one. Without git or without the commit (a tarball, a shallow clone) the
# test is skipped; CI runs it on a full clone.
#
# For each example in examples/*.cnn that the baseline has too, two TAP lines:
#   trainer   both cnncc build the trainer; each trains one epoch of 8 random
#             samples (batch 4, seed 7, 2 threads) from data written here
#             (IDX files shaped for the network's input and output, the same
#             bytes for both) and saves a checkpoint; cmp must find no
#             difference
#   inference from the new checkpoint, both cnncc write the standalone
#             inference C, compiled with the same flags (-O2 -march=native)
#             with a runner that feeds both the same fixed inputs; their
#             outputs (raw floats) must be the same bytes
# A failure prints cmp's first differing byte. Skipped under
# --enable-sanitizers, as tests/build-diff.sh is: the baseline's libcnnrt is
# built without them, and a sanitized trainer links only with a sanitized one.
#
#   IDENTITY_BASELINE=COMMIT make check TESTS=tests/identity.sh
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/baseline.sh"
BASELINE=${IDENTITY_BASELINE:-$CNNCC_BASELINE}
PYTHON=${CNNCC_PYTHON:-python3}
CC=${CNNCC_CC:-cc}
if [ -n "$SAN" ]; then
  echo "1..0 # SKIP the trainers of the baseline's unsanitized libcnnrt cannot take the sanitizer flags"
  exit 0
fi
if ! base=$(git -C "$top_srcdir" rev-parse --verify -q "$BASELINE^{commit}" 2>/dev/null); then
  echo "1..0 # SKIP no baseline commit $BASELINE in the git history"
  exit 0
fi
if ! "$PYTHON" -c 'import gzip, random' >/dev/null 2>&1; then
  echo "1..0 # SKIP no Python 3 (writes the data)"
  exit 0
fi
# The examples the baseline has too: a newer one may use what it cannot compile.
examples=$(for f in "$top_srcdir"/examples/*.cnn; do
  git -C "$top_srcdir" cat-file -e "$base:examples/${f##*/}" 2>/dev/null && echo "$f"
done)
plan $((1 + 2 * $(echo "$examples" | wc -l)))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/identity.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

# The baseline's cnncc and libcnnrt, built with its own Makefile.
if build_baseline "$base" "$tmp/base" "$tmp/base.log"; then
  ok "baseline $base built ($(($(date +%s) - start)) s)"
else
  not_ok "baseline $base built"
  diag "$(tail -n 20 "$tmp/base.log")"
  while [ "$tap_n" -lt $((1 + 2 * $(echo "$examples" | wc -l))) ]; do not_ok "skipped: no baseline"; done
  exit 0
fi
OLD=$tmp/base/cnncc
short=$(git -C "$top_srcdir" rev-parse --short "$base")
OMP_NUM_THREADS=2
export OMP_NUM_THREADS

# The inference runner: 3 inputs from a fixed generator through cnn_predict
# (and cnn_softmax, if the network has one), the raw floats to stdout.
cat >"$tmp/run.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#define CNNCC_GENERIC_NAMES
#include INFER
int main(void) {
  static float x[CNN_INPUT_SIZE], y[CNN_OUTPUT_SIZE], p[CNN_OUTPUT_SIZE];
  unsigned char *scratch = malloc(CNN_SCRATCH_BYTES + 1);
  unsigned long s = 12345;
  for (int n = 0; n < 3; n++) {
    for (long i = 0; i < CNN_INPUT_SIZE; i++) {
      s = s * 6364136223846793005UL + 1442695040888963407UL;
      x[i] = (float)((s >> 40) & 0xffff) / 65536.0f;
    }
    if (!scratch || cnn_predict(x, y, scratch)) return 1;
    fwrite(y, sizeof y, 1, stdout);
#ifdef cnn_softmax /* the probabilities too, when the network has them */
    cnn_softmax(y, p);
    fwrite(p, sizeof p, 1, stdout);
#endif
  }
  free(scratch);
  return 0;
}
EOF

# data DIR IN OUT: IDX files of 8 train and 4 test samples for a network with
# input shape IN and output shape OUT ("1,28,28", "10"): pixels random bytes,
# labels one per output position below the number of classes (OUT's first).
data() {
  "$PYTHON" - "$@" <<'EOF'
import gzip, random, struct, sys
out, shape, oshape = sys.argv[1], [int(d) for d in sys.argv[2].split(",")], \
    [int(d) for d in sys.argv[3].split(",")]
rng = random.Random(7)
def idx(name, dims, body):
    with gzip.GzipFile("%s/%s" % (out, name), "wb", mtime=0) as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims))
        f.write(bytes(body))
for split, n in (("train", 8), ("t10k", 4)):
    size, pos = 1, 1
    for d in shape: size *= d
    for d in oshape[1:]: pos *= d
    idx(split + "-images-idx3-ubyte.gz", [n] + shape, [rng.randrange(256) for _ in range(n * size)])
    idx(split + "-labels-idx1-ubyte.gz", [n] + oshape[1:], [rng.randrange(oshape[0]) for _ in range(n * pos)])
EOF
}

# dims SUMMARY PATTERN: the shape after PATTERN in cnncc --summary's output, "a,b,c"
dims() { sed -n "s/^$2[^[]*\[\([0-9, ]*\)\].*/\1/p" "$1" | head -n 1 | tr -d ' '; }

# trainer WHO CNNCC: build the trainer with CNNCC and train it into WHO.ckpt
trainer() {
  "$2" "$src" -o "$d/$1" >"$d/$1.log" 2>&1 &&
    "$d/$1" train --data "$d/data" --epochs 1 --batch 4 --seed 7 --threads 2 \
      --save "$d/$1.ckpt" >>"$d/$1.log" 2>&1
}

# inference WHO CNNCC: the inference C of new.ckpt by CNNCC, run on the inputs
inference() {
  "$2" --emit=inference --weights "$d/new.ckpt" "$src" -o "$d/$1-infer.c" >"$d/$1-infer.log" 2>&1 &&
    $CC -O2 -march=native -DINFER="\"$1-infer.c\"" -I"$d" -o "$d/$1-run" "$tmp/run.c" -lm \
      >>"$d/$1-infer.log" 2>&1 &&
    "$d/$1-run" >"$d/$1.out" 2>>"$d/$1-infer.log"
}

# same WHAT A B: A and B are the same bytes; else diagnostics
same() {
  if cmp "$2" "$3" >"$d/cmp" 2>&1; then return 0; fi
  diag "$1 differ: $(cat "$d/cmp")" "$(wc -c <"$2") bytes old, $(wc -c <"$3") new"
  return 1
}

# both FUNCTION: FUNCTION old and new at the same time (2 cores); diagnostics
# of a failing one
both() {
  "$1" old "$OLD" & pid=$!
  "$1" new "$CNNCC"; rn=$?
  wait $pid; ro=$?
  [ $ro -eq 0 ] || diag "old $1 failed:" "$(tail -n 15 "$d/old${2:-}.log")"
  [ $rn -eq 0 ] || diag "new $1 failed:" "$(tail -n 15 "$d/new${2:-}.log")"
  [ $ro -eq 0 ] && [ $rn -eq 0 ]
}

for src in $examples; do
  name=$(basename "$src" .cnn)
  d=$tmp/$name
  mkdir -p "$d/data"
  t0=$(date +%s)
  "$CNNCC" --summary "$src" >"$d/summary" 2>&1
  in=$(dims "$d/summary" '[A-Za-z_0-9]* (input)') out=$(dims "$d/summary" 'Output:')
  if [ -n "$in" ] && [ -n "$out" ] && data "$d/data" "$in" "$out" >"$d/data.log" 2>&1; then
    if both trainer && same "checkpoints" "$d/old.ckpt" "$d/new.ckpt"; then
      ok "$name: trainer checkpoint bitwise identical to $short ($(($(date +%s) - t0)) s)"
    else
      not_ok "$name: trainer checkpoint bitwise identical to $short"
    fi
  else
    not_ok "$name: trainer checkpoint bitwise identical to $short"
    diag "no data for input [$in], output [$out]:" "$(tail -n 5 "$d/summary" "$d/data.log")"
  fi
  t0=$(date +%s)
  if [ -f "$d/new.ckpt" ] && both inference -infer && same "outputs" "$d/old.out" "$d/new.out"; then
    ok "$name: inference outputs bitwise identical ($(($(date +%s) - t0)) s)"
  else
    not_ok "$name: inference outputs bitwise identical"
  fi
  rm -f "$d/old" "$d/new" "$d"/*-run "$d"/*-infer.c
done
diag "$(($(date +%s) - start)) s in all"
exit 0
