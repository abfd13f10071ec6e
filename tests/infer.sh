#!/bin/sh
# The standalone inference code (cnncc --emit=inference, docs/inference.md)
# against the training code's evaluation-mode forward, for every example,
# tests/torch-ops*.cnn, tests/infer-edge.cnn and tests/ops/grouped*.cnn:
#  - tests/infer-ref.c drives the training code: a few Adam steps from the
#    initialization (so that batchnorm statistics are not trivial), a
#    checkpoint, and NET_predict() on the first test images (28x28
#    networks) or on random inputs;
#  - the inference code is generated from that checkpoint, compiled with
#    gcc and clang as strict C99 (-Wall -Wextra -Wpedantic -Werror), its
#    object may reference no symbol but libm's, and tests/infer-run.c
#    compares its outputs, with each SIMD path (native, AVX2, SSE2, plain C);
#  - for lenet also --header, --static-arena and examples/classify.c.
# The error is |got - want| / max(1, |want|): at most 1e-5, 1e-4 for the
# deep networks. vgg-cifar (33 MB of C: 15 s a compilation) is compiled
# fewer ways. tests/infer.sh NAME... runs only those networks. Under the
# sanitizers the programs are built with them and the memory is what is
# checked: the native SIMD path, plain C, and AVX2 if native is another
# level; the strict compilations are the plain run's.
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
SEED=${INFER_SEED:-5}
IMAGES=$top_srcdir/data/fashion-mnist/t10k-images-idx3-ubyte.gz
LABELS=$top_srcdir/data/fashion-mnist/t10k-labels-idx1-ubyte.gz
# source samples tolerance inputs (images or random) compilations (all or few)
networks="examples/lenet 16 1e-5 images all
examples/mlp 16 1e-5 images all
examples/vgg 8 1e-4 images all
examples/resnet 8 1e-4 images all
examples/vgg-cifar 2 1e-4 random few
examples/mobilenet 2 1e-4 random all
examples/unet 2 1e-4 random all
examples/wavenet 2 1e-4 random all
tests/torch-ops2d 8 1e-5 random all
tests/torch-ops1d 8 1e-5 random all
tests/infer-edge 8 1e-5 random all
tests/ops/grouped 8 1e-5 random all
tests/ops/grouped1d 8 1e-5 random all"
networks=$(san_light "$networks")
[ -n "$SAN" ] && echo "$san_light_note"
[ $# -eq 0 ] || networks=$(select_lines "$networks" "$@")

have() { command -v "$1" >/dev/null 2>&1; }
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2"
# SIMD paths to run besides the native one: plain C always; on x86-64 SSE2,
# and AVX2 if this CPU has it
simd="0"
case $(uname -m) in
  x86_64|amd64)
    simd="$simd 1"
    grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && simd="$simd 2" ;;
esac
nsimd=$(echo $simd | wc -w)
CHECKS=$((6 + nsimd)) # per network
set -- $networks
extra=0
case " $networks " in *" examples/lenet "*) extra=5 ;; esac
plan $(($# / 5 * CHECKS + extra))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/infer.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
find_rtlib

# Under the sanitizers (SAN, tests/tap.sh) the inference code is built to
# recover from pointer-overflow reports: clang 14 takes 10 times as long
# (45 s for unet's) to compile that check when it aborts. UBSAN_OPTIONS
# halt_on_error=1 makes such a report end the program all the same.
RUNSAN=$SAN
if [ -n "$SAN" ]; then
  RUNSAN="$SAN -fsanitize-recover=pointer-overflow"
  UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1
  export UBSAN_OPTIONS
  echo "# sanitizers: programs built with $RUNSAN, UBSAN_OPTIONS=$UBSAN_OPTIONS"
fi

# run DIR N TOL [CFLAGS...]: build tests/infer-run.c with DIR/infer.c and run it
run() {
  rd=$1 rn=$2 rtol=$3
  shift 3
  $CC -O2 $RUNSAN "$@" -DINFER='"infer.c"' -I"$rd" -o "$rd/run" "$top_srcdir/tests/infer-run.c" -lm \
    >"$rd/run.log" 2>&1 && "$rd/run" "$rd" "$rn" "$rtol" >>"$rd/run.log" 2>&1
}

while [ $# -gt 0 ]; do
  src=$1 n=$2 tol=$3 img=$4 how=$5
  shift 5
  name=${src##*/}
  net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$top_srcdir/$src.cnn" | head -n 1)
  [ -n "$net" ] || net=$name
  NET=$(echo "$net" | tr 'a-z' 'A-Z')
  d=$tmp/$name
  mkdir -p "$d"
  log=$d/log
  imgarg=
  [ "$img" = images ] && imgarg=$IMAGES
  if infer_reference "$src" "$net" "$d" "$n" "$SEED" "$imgarg" "$RUNSAN"; then
    ok "$name: checkpoint and evaluation-mode outputs from the training code"
  else
    not_ok "$name: checkpoint and evaluation-mode outputs from the training code"
    diag "$(tail -n 20 "$log")"
  fi
  if "$CNNCC" --emit=inference --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/infer.c" >"$log" 2>&1; then
    ok "$name: cnncc --emit=inference"
  else
    not_ok "$name: cnncc --emit=inference"
    diag "$(tail -n 20 "$log")"
  fi
  for cc in gcc clang; do
    if ! have $cc; then
      ok "$name: strict C99 with $cc # SKIP no $cc"
    elif [ -n "$SAN" ]; then
      ok "$name: strict C99 with $cc # SKIP under the sanitizers: the plain run compiles it"
    elif [ "$how" = few ] && $cc $STRICT -c -o "$d/infer-$cc.o" "$d/infer.c" >"$log" 2>&1; then
      ok "$name: strict C99 with $cc, no warnings (not with -march=native: a big file)"
    elif [ "$how" = all ] && $cc $STRICT -c -o "$d/infer-$cc.o" "$d/infer.c" >"$log" 2>&1 &&
         $cc $STRICT -march=native -c -o "$d/infer-$cc-native.o" "$d/infer.c" >>"$log" 2>&1; then
      ok "$name: strict C99 with $cc, portable and -march=native, no warnings"
    else
      not_ok "$name: strict C99 with $cc, no warnings"
      diag "$(head -n 20 "$log")"
    fi
  done
  # undefined symbols: libm's (and its vector variants) only
  objs=$(ls "$d"/infer-*.o 2>/dev/null)
  if [ -n "$objs" ] && have nm; then
    bad=$(nm -u $objs | awk 'NF { print $NF }' | grep -v ':$' |
          grep -Ev '^(expf|tanhf|erff|sqrtf|_ZGV.*)$' | sort -u | tr '\n' ' ')
    if [ -z "$bad" ]; then
      ok "$name: the object needs no symbol but libm's"
    else
      not_ok "$name: the object needs no symbol but libm's"
      diag "undefined: $bad"
    fi
  else
    ok "$name: the object needs no symbol but libm's # SKIP no object (sanitizers) or no nm"
  fi
  if run "$d" "$n" "$tol" -march=native; then
    ok "$name: same outputs (native SIMD): $(tail -n 1 "$d/run.log")"
  else
    not_ok "$name: same outputs (native SIMD)"
    diag "$(tail -n 20 "$d/run.log")"
  fi
  native=$(sed -n 's/^CNNCC_SIMD //p' "$d/run.log")
  for s in $simd; do
    if [ "$how" = few ] && [ "$s" != 0 ]; then
      ok "$name: same outputs with CNNCC_SIMD=$s # SKIP a big file: native and plain C only"
      continue
    fi
    if [ -n "$SAN" ] && { [ "$s" = 1 ] || [ "$s" = "$native" ]; }; then
      ok "$name: same outputs with CNNCC_SIMD=$s # SKIP under the sanitizers: native and plain C (and AVX2 when native is another level)"
      continue
    fi
    flags=
    [ "$s" = 2 ] && flags="-mavx2 -mfma"
    # infer-run reports the level it was built with: the one forced
    if run "$d" "$n" "$tol" -DCNNCC_SIMD="$s" $flags && grep -q "^CNNCC_SIMD $s\$" "$d/run.log"; then
      ok "$name: same outputs with CNNCC_SIMD=$s: $(tail -n 1 "$d/run.log")"
    else
      not_ok "$name: same outputs with CNNCC_SIMD=$s"
      diag "$(tail -n 20 "$d/run.log")"
    fi
  done

  [ "$name" = lenet ] || continue
  # --header: the .c includes the .h; classify.c links with it
  mkdir -p "$d/h"
  if "$CNNCC" --emit=inference --header --weights "$d/ckpt" "$top_srcdir/$src.cnn" \
       -o "$d/h/lenet_infer.c" >"$log" 2>&1 &&
     grep -q '#include "lenet_infer.h"' "$d/h/lenet_infer.c" &&
     $CC $STRICT -c -o "$d/h/lenet_infer.o" "$d/h/lenet_infer.c" >>"$log" 2>&1; then
    ok "lenet: --header writes lenet_infer.h, which the .c includes"
  else
    not_ok "lenet: --header writes lenet_infer.h, which the .c includes"
    diag "$(tail -n 20 "$log")"
  fi
  if $CC -O2 $RUNSAN -std=c99 -Wall -Wextra -Werror -DCNN_HEADER='"lenet_infer.h"' -I"$d/h" \
       -o "$d/classify" "$top_srcdir/examples/classify.c" "$d/h/lenet_infer.o" -lm >"$log" 2>&1 &&
     "$d/classify" "$IMAGES" "$LABELS" 100 >"$d/classify.out" 2>>"$log" &&
     grep -q '^accuracy [0-9.]* (100 images)' "$d/classify.out"; then
    ok "lenet: examples/classify.c builds with the header and classifies: $(tail -n 1 "$d/classify.out")"
  else
    not_ok "lenet: examples/classify.c builds with the header and classifies"
    diag "$(cat "$d/classify.out" "$log" 2>/dev/null | tail -n 20)"
  fi
  # --static-arena: no scratch argument needed, the same outputs
  mkdir -p "$d/s"
  cp "$d/x.f32" "$d/ref.f32" "$d/s/"
  if "$CNNCC" --emit=inference --static-arena --weights "$d/ckpt" "$top_srcdir/$src.cnn" \
       -o "$d/s/infer.c" >"$log" 2>&1 &&
     grep -q 'define LENET_SCRATCH_BYTES 0' "$d/s/infer.c" &&
     $CC $STRICT -c -o "$d/s/infer.o" "$d/s/infer.c" >>"$log" 2>&1 &&
     run "$d/s" "$n" "$tol" -march=native; then
    ok "lenet: --static-arena: $(tail -n 1 "$d/s/run.log")"
  else
    not_ok "lenet: --static-arena"
    diag "$(cat "$log" "$d/s/run.log" 2>/dev/null | tail -n 20)"
  fi
  # --no-softmax drops lenet_softmax and with it math.h
  if "$CNNCC" --emit=inference --no-softmax --weights "$d/ckpt" "$top_srcdir/$src.cnn" \
       -o "$d/nosoft.c" >"$log" 2>&1 &&
     ! grep -q 'lenet_softmax\|<math.h>' "$d/nosoft.c" && grep -q 'lenet_softmax' "$d/infer.c"; then
    ok "lenet: --no-softmax leaves out lenet_softmax() and <math.h>"
  else
    not_ok "lenet: --no-softmax leaves out lenet_softmax() and <math.h>"
  fi
  # a damaged checkpoint is refused, and nothing is written
  bad=$tmp/bad.ckpt
  cp "$d/ckpt" "$bad" && printf 'x' | dd of="$bad" bs=1 seek=200 conv=notrunc 2>/dev/null
  if "$CNNCC" --emit=inference --weights "$bad" "$top_srcdir/$src.cnn" -o "$d/bad.c" >"$log" 2>&1 ||
     [ -e "$d/bad.c" ]; then
    not_ok "lenet: a damaged checkpoint is refused"
    diag "$(cat "$log")"
  else
    ok "lenet: a damaged checkpoint is refused: $(head -n 1 "$log")"
  fi
done
exit 0
