#!/bin/sh
# bench/baseline.sh - training speed of this tree against the baseline commit
# (`make bench-baseline`, docs/performance.md): issue #12's refactor must not
# make the generated trainers slower.
#
# Builds the baseline's cnncc and libcnnrt from the git history (git archive
# into a temporary directory, its own configure and Makefile), compiles each
# example with both cnncc (--target=native when that cnncc has it), then
# times `PROG bench` for the old and the new trainer in turn, BENCH_ROUNDS
# times, so that a change in the machine's load falls on both alike. Prints
# one line per example: the best images/s of each and the ratio new/old. A
# benchmark, not a test: it fails only when something does not build or run.
#
# Environment:
#   BENCH_BASELINE   the commit to compare with (default: CNNCC_BASELINE of
#                    tests/baseline.sh, the last one before the refactor)
#   BENCH_EXAMPLES   examples (default: those of bench/train.sh, lenet vgg
#                    resnet vgg-cifar)
#   BENCH_BATCH      batch size (default 64)
#   BENCH_STEPS      timed steps of each run (default 20)
#   BENCH_ROUNDS     runs of each trainer, alternating; the best counts (default 3)
#   BENCH_THREADS    OpenMP threads (default 1)
#   CNNCC            this tree's compiler (default: $top_builddir/cnncc)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/bench/common.sh"
. "$top_srcdir/tests/baseline.sh"
BENCH_BASELINE=${BENCH_BASELINE:-$CNNCC_BASELINE}
BENCH_EXAMPLES=${BENCH_EXAMPLES:-lenet vgg resnet vgg-cifar}
BENCH_BATCH=${BENCH_BATCH:-64}
BENCH_STEPS=${BENCH_STEPS:-20}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_THREADS=${BENCH_THREADS:-1}

say() { printf 'bench-baseline: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$CNNCC" ] || die "no cnncc at $CNNCC (run make, or set CNNCC)"
base=$(git -C "$top_srcdir" rev-parse --verify -q "$BENCH_BASELINE^{commit}") ||
  die "no commit $BENCH_BASELINE in the git history of $top_srcdir (a shallow clone?)"
work=$(mktemp -d "${TMPDIR:-/tmp}/cnncc-bench-baseline.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building the baseline $base"
build_baseline "$base" "$work/base" "$work/base.log" ||
  { tail -n 20 "$work/base.log" >&2; die "the baseline does not build"; }

# build WHO CNNCC SRC: the trainer of SRC by CNNCC, as $work/WHO
build() {
  target=
  if "$2" --help 2>&1 | grep -q -- '--target.*native'; then target=--target=native; fi
  "$2" $target "$3" -o "$work/$1" || die "$2 failed on $3"
}

# ips PROG: images/s of one bench run
ips() {
  "$1" bench --batch "$BENCH_BATCH" --steps "$BENCH_STEPS" --threads "$BENCH_THREADS" \
    >"$work/bench.out" 2>"$work/bench.err" || { cat "$work/bench.err" >&2; die "$1 bench failed"; }
  sed -n 's/^.*images_per_s=\([^ ]*\).*$/\1/p' "$work/bench.out" | tail -n 1
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }

printf 'cnncc training speed, baseline %s against %s\n' \
  "$(git -C "$top_srcdir" rev-parse --short "$base")" \
  "$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null || echo 'this tree')"
printf 'batch %s, %s steps a run, %s thread(s), best of %s runs each, alternating\n' \
  "$BENCH_BATCH" "$BENCH_STEPS" "$BENCH_THREADS" "$BENCH_ROUNDS"
printf '%-10s %12s %12s %9s\n' example "old im/s" "new im/s" "new/old"
for ex in $BENCH_EXAMPLES; do
  src=$top_srcdir/examples/$ex.cnn
  [ -f "$src" ] || die "no example $src"
  say "$ex: compiling with both"
  build old "$work/base/cnncc" "$src"
  build new "$CNNCC" "$src"
  old=0 new=0 r=0
  while [ "$r" -lt "$BENCH_ROUNDS" ]; do
    old=$(max "$old" "$(ips "$work/old")")
    new=$(max "$new" "$(ips "$work/new")")
    r=$((r + 1))
  done
  awk -v ex="$ex" -v o="$old" -v n="$new" \
    'BEGIN { printf "%-10s %12.1f %12.1f %8.3fx\n", ex, o, n, (o > 0 ? n / o : 0) }'
done
