#!/bin/sh
# The NEON path (CNNCC_SIMD 4, compiler/kernels/vector.h) on aarch64, by
# cross-compiling and running under qemu-aarch64 (user mode):
#  - tests/kernels.c and kernel-checks.c built for aarch64: the kernels of
#    the generated code against naive loops with NEON and in portable C,
#    cnn_vmax/cnn_vmin bit for bit as the portable code (NaN, -0, +0);
#  - for a few networks, as tests/infer.sh does on x86: the training code
#    (x86) writes a checkpoint and evaluation-mode outputs, cnncc
#    --emit=inference the inference C, which is built for aarch64 as strict
#    C99 with gcc (NEON, the default, and -DCNNCC_SIMD=0) and with clang
#    --target=aarch64-linux-gnu; tests/infer-run.c reports the level it was
#    built with (4 or 0) and the outputs must be within infer.sh's float
#    tolerance of the x86 ones;
#  - the NEON build's code has vector fused multiply-adds (fmla .4s), the
#    portable one no fmla at all;
#  - LeNet trained one epoch on data/fashion-mnist: examples/classify.c
#    gives every test image the same class on aarch64 (NEON) as on x86.
# Skipped when aarch64-linux-gnu-gcc or qemu-aarch64 is missing (Debian:
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user, which build.sh
# installs). tests/neon.sh NAME... runs only those networks.
. "$top_srcdir/tests/tap.sh"
have() { command -v "$1" >/dev/null 2>&1; }
XCC=aarch64-linux-gnu-gcc
OBJDUMP=aarch64-linux-gnu-objdump
SYSROOT=/usr/aarch64-linux-gnu
if [ -n "$SAN" ]; then
  # the aarch64 builds carry no sanitizers: make check runs this test
  echo "1..0 # SKIP under the sanitizers: the aarch64 builds are not sanitized"
  exit 0
fi
if ! have $XCC || ! have qemu-aarch64; then
  echo "1..0 # SKIP needs aarch64-linux-gnu-gcc and qemu-aarch64"
  exit 0
fi
CC=${CNNCC_CC:-cc}
QEMU="qemu-aarch64 -L $SYSROOT"
STRICT="-O2 -std=c99 -Werror -Wall -Wextra -pedantic"
SEED=5
IMAGES=$top_srcdir/data/fashion-mnist/t10k-images-idx3-ubyte.gz
LABELS=$top_srcdir/data/fashion-mnist/t10k-labels-idx1-ubyte.gz
# source samples tolerance inputs (tests/infer.sh's, fewer samples: qemu
# runs them 10-50 times slower). Left out: resnet, mobilenet, unet,
# wavenet and vgg-cifar, whose weights make C that takes 20-60 s a build
# (x3 here); the tanh, sigmoid, silu and gelu vector code is in
# tests/torch-ops*.
networks="examples/lenet 8 1e-5 images
examples/mlp 8 1e-5 images
examples/vgg 2 1e-4 images
tests/torch-ops2d 4 1e-5 random
tests/torch-ops1d 4 1e-5 random
tests/infer-edge 4 1e-5 random
tests/ops/grouped 4 1e-5 random
tests/ops/grouped1d 4 1e-5 random"
[ $# -eq 0 ] || networks=$(select_lines "$networks" "$@")
set -- $networks
plan $((2 + $# / 4 * 5 + 2))
use_tmp neon
find_rtlib

# the builds for aarch64 (the name says compiler and path); clang only
# where it can link for aarch64 (it uses the cross gcc's libraries)
builds="gcc-neon gcc-portable"
echo 'int main(void) { return 0; }' >"$tmp/t.c"
if have clang && clang --target=aarch64-linux-gnu -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1 &&
   $QEMU "$tmp/t"; then
  builds="$builds clang-neon"
fi
xcc() {
  case $1 in
    gcc-neon) echo "$XCC" ;;
    gcc-portable) echo "$XCC -DCNNCC_SIMD=0" ;;
    clang-neon) echo "clang --target=aarch64-linux-gnu" ;;
  esac
}
level() { case $1 in *-portable) echo 0 ;; *) echo 4 ;; esac; }

# the kernels: tests/kernels.c with the portable, double and NEON tables
mkdir -p "$tmp/k"
echo '#define KERNELS_NEON 1' >"$tmp/k/config.h"
kflags="$STRICT -I$top_srcdir/compiler -I$top_srcdir/tests"
if $XCC $kflags -DCNNCC_PORTABLE -DWANT_ISA='"portable"' -DCHECKS=kernel_checks_portable \
     -c -o "$tmp/k/p.o" "$top_srcdir/tests/kernel-checks.c" >"$tmp/k/log" 2>&1 &&
   $XCC $kflags -DKERNELS_DOUBLE -DWANT_ISA='"portable"' -DCHECKS=kernel_checks_double \
     -c -o "$tmp/k/d.o" "$top_srcdir/tests/kernel-checks.c" >>"$tmp/k/log" 2>&1 &&
   $XCC $kflags -DWANT_ISA='"neon"' -DCHECKS=kernel_checks_neon \
     -c -o "$tmp/k/n.o" "$top_srcdir/tests/kernel-checks.c" >>"$tmp/k/log" 2>&1 &&
   $XCC $kflags -I"$tmp/k" -c -o "$tmp/k/k.o" "$top_srcdir/tests/kernels.c" >>"$tmp/k/log" 2>&1 &&
   $XCC -o "$tmp/k/kernels" "$tmp/k"/*.o -lm >>"$tmp/k/log" 2>&1; then
  ok "tests/kernels builds for aarch64 (strict C99, NEON and portable tables)"
else
  not_ok "tests/kernels builds for aarch64 (strict C99, NEON and portable tables)"
  diag "$(head -n 20 "$tmp/k/log")"
fi
$QEMU "$tmp/k/kernels" >"$tmp/k/out" 2>&1
nneon=$(grep -c '^ok .* - neon: ' "$tmp/k/out")
bad=$(grep '^not ok' "$tmp/k/out")
if [ -z "$bad" ] && [ "$nneon" -gt 0 ] && [ "$(grep -c '^ok' "$tmp/k/out")" -gt "$nneon" ]; then
  ok "tests/kernels on aarch64: $(grep -c '^ok' "$tmp/k/out") checks pass, $nneon of them NEON's"
else
  not_ok "tests/kernels on aarch64"
  diag "$bad" "$(tail -n 5 "$tmp/k/out")"
fi

# xrun DIR EXE N TOL LEVEL: run one aarch64 build of tests/infer-run.c; it
# must say it was built with CNNCC_SIMD LEVEL and pass
xrun() {
  $QEMU "$1/$2" "$1" "$3" "$4" >"$1/$2.log" 2>&1 && grep -q "^CNNCC_SIMD $5\$" "$1/$2.log"
}

while [ $# -gt 0 ]; do
  src=$1 n=$2 tol=$3 img=$4
  shift 4
  name=${src##*/}
  net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$top_srcdir/$src.cnn" | head -n 1)
  [ -n "$net" ] || net=$name
  d=$tmp/$name
  mkdir -p "$d"
  log=$d/log
  imgarg=
  [ "$img" = images ] && imgarg=$IMAGES
  if infer_reference "$src" "$net" "$d" "$n" "$SEED" "$imgarg" "" &&
     "$CNNCC" --emit=inference --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/infer.c" >>"$log" 2>&1; then
    ok "$name: x86 checkpoint and outputs (training code), cnncc --emit=inference"
  else
    not_ok "$name: x86 checkpoint and outputs (training code), cnncc --emit=inference"
    diag "$(tail -n 20 "$log")"
  fi
  for b in $builds; do
    level=$(level $b)
    if $(xcc $b) $STRICT -DINFER='"infer.c"' -I"$d" -o "$d/$b" "$top_srcdir/tests/infer-run.c" -lm >"$log" 2>&1 &&
       xrun "$d" "$b" "$n" "$tol" "$level"; then
      ok "$name: $b on aarch64, CNNCC_SIMD $level: $(tail -n 1 "$d/$b.log")"
    else
      not_ok "$name: $b on aarch64, CNNCC_SIMD $level"
      diag "$(cat "$log" "$d/$b.log" 2>/dev/null | tail -n 20)"
    fi
  done
  case $builds in
    *clang-neon*) ;;
    *) ok "$name: clang-neon on aarch64 # SKIP clang cannot link for aarch64 here" ;;
  esac
  # the vector path's fused multiply-adds; the plain C one has none (no
  # contraction in ISO C mode), whatever gcc vectorizes of it
  if $OBJDUMP -d "$d/gcc-neon" >"$d/neon.s" 2>"$log" && $OBJDUMP -d "$d/gcc-portable" >"$d/portable.s" 2>>"$log" &&
     grep -Eq 'fmla[[:space:]]+v[0-9]+\.4s' "$d/neon.s" &&
     ! grep -q 'fmla' "$d/portable.s"; then
    ok "$name: the NEON build has fmla .4s ($(grep -Ec 'fmla[[:space:]]+v[0-9]+\.4s' "$d/neon.s")), the portable one no fmla"
  else
    not_ok "$name: the NEON build has fmla .4s, the portable one no fmla"
    diag "$(tail -n 20 "$log")"
  fi
done

# LeNet trained one epoch: the same class for every test image on aarch64
# as on x86
d=$tmp/trained
mkdir -p "$d"
log=$d/log
if "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$d/lenet" >"$log" 2>&1 &&
   "$d/lenet" train --data "$top_srcdir/data/fashion-mnist" --epochs 1 --save "$d/lenet.ckpt" >>"$log" 2>&1 &&
   "$CNNCC" --emit=inference --weights "$d/lenet.ckpt" "$top_srcdir/examples/lenet.cnn" -o "$d/infer.c" \
     >>"$log" 2>&1 &&
   gzip -dc "$IMAGES" >"$d/images" && gzip -dc "$LABELS" >"$d/labels" &&
   $CC -O2 -DCNN_SOURCE='"infer.c"' -I"$d" -o "$d/classify" "$top_srcdir/examples/classify.c" -lm >>"$log" 2>&1 &&
   "$d/classify" "$d/images" "$d/labels" >"$d/x86.out" 2>>"$log" &&
   grep -q '^accuracy' "$d/x86.out"; then
  ok "lenet trained 1 epoch on x86: $(tail -n 1 "$d/x86.out")"
else
  not_ok "lenet trained 1 epoch on x86"
  diag "$(tail -n 20 "$log")"
fi
# the class of each image (the first two columns), not the probabilities
if $XCC $STRICT -DCNN_SOURCE='"infer.c"' -I"$d" -o "$d/classify-a64" "$top_srcdir/examples/classify.c" -lm \
     >"$log" 2>&1 &&
   $QEMU "$d/classify-a64" "$d/images" "$d/labels" >"$d/a64.out" 2>>"$log" &&
   awk '!/^accuracy/ { print $1, $2 }' "$d/x86.out" >"$d/x86.classes" &&
   awk '!/^accuracy/ { print $1, $2 }' "$d/a64.out" >"$d/a64.classes" &&
   [ -s "$d/x86.classes" ] && cmp -s "$d/x86.classes" "$d/a64.classes"; then
  ok "lenet trained: the same class for each of $(wc -l <"$d/a64.classes") images on aarch64 (NEON): $(tail -n 1 "$d/a64.out")"
else
  not_ok "lenet trained: the same classes on aarch64 (NEON) as on x86"
  diag "$(tail -n 5 "$log")" "$(diff "$d/x86.classes" "$d/a64.classes" 2>&1 | head -n 10)"
fi
exit 0
