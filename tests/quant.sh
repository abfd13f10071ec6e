#!/bin/sh
# int8 quantization (cnncc --emit=inference --quantize=int8,
# docs/inference.md, "int8 quantization"):
#  - tests/quant-kernels.c: the requantization's and the input's rounding,
#    and (built with -march=native on an AVX2 machine) the x86 kernels'
#    requantization, and through quant.h's hooks the tile, the requantized
#    blocks, addition, interleaving and 2x2 max pooling against the
#    portable ones, bit for bit; the AVX-512 VNNI tile too, on a portable
#    vpdpbusd (tests/quant-vnni.h) and, where the machine has VNNI, on its
#    own;
#  - LeNet trained two epochs on the Fashion-MNIST sample with the generated
#    trainer, quantized with the sample's first 500 training images; the
#    int8 file builds as strict C99 with gcc and clang and references no
#    symbol at all; on the first 500 test images (tests/quant-run.c) its argmax
#    is the float file's on at least 97% of them, its outputs are within 10%
#    of the largest float output, its accuracy within 2 points of float's;
#    its outputs are the same bits with gcc and clang, -O0, -O3 and
#    -O3 -march=native;
#  - VGG, ResNet, tests/quant-ops.cnn and quant-ops1d.cnn (every group
#    kind the int8 code has, on random CSV data) from checkpoints of tests/infer-ref.c (three Adam steps), the
#    same checks against the float file on 40 samples (argmax on 80%,
#    outputs within 10%), and the same bits from the portable build (gcc,
#    no -march: CNNCC_SIMD 1, the portable int8 kernels), gcc and clang
#    -march=native (the AVX2 tiles where the machine has AVX2) and
#    -march=native -DCNNCC_SIMD=0; quant-ops has convolutions on inputs that
#    may be negative (the CSV input, an add without ReLU) and on ReLU
#    outputs, so both cases of the x86 tile run;
#  - aarch64 (quant_neon.h), cross-compiled and run under qemu-aarch64:
#    quant-kernels.c built with aarch64-linux-gnu-gcc -march=armv8-a (the
#    smull tile, run on a Cortex-A53, which has no dot product) and
#    -march=armv8.2-a+dotprod (the sdot tile) and clang; the int8 files of
#    LeNet, VGG, ResNet, quant-ops and quant-ops1d built with gcc -O2 both
#    ways (and quant-ops with clang) must give the portable x86 build's
#    output bits (tests/infer-run.c, tolerance 0, on the inputs quant-run
#    wrote), and their code must be NEON's: sqrdmulh in every build, sdot in
#    the dot-product ones only, sadalp in the others. Skipped without the
#    cross compiler and qemu-aarch64, and under the sanitizers;
#  - a layer without an int8 version (tests/infer-edge.cnn,
#    tests/torch-ops*.cnn) is refused by name, and the usage and data errors.
. "$top_srcdir/tests/tap.sh"
use_tmp quant
find_rtlib
DATA=$top_srcdir/data/fashion-mnist
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"
have() { command -v "$1" >/dev/null 2>&1; }
plan 40

# runner NAME INFER.c FLAGS...: tests/quant-run.c with INFER.c, built by CC
runner() {
  _n=$1 _c=$2
  shift 2
  $CC $STRICT $SAN "$@" -I"$tmp" -I"$top_srcdir/runtime" -DINFER="\"${_c##*/}\"" -o "$tmp/$_n" \
    "$top_srcdir/tests/quant-run.c" $rtlib -lz -lm >"$tmp/$_n.log" 2>&1 ||
    diag "$(tail -n 20 "$tmp/$_n.log")"
}
# within LINE AGREE DIFF: quant-run's line has agree >= AGREE, maxdiff <= DIFF
within() { echo "$1" | awk -v a="$2" -v d="$3" '{ exit !($6 >= a && $8 <= d) }'; }

# ---- the kernels' rounding (tests/quant-kernels.c) ----
for cc in gcc clang; do
  if ! have $cc; then ok "quant.h rounding with $cc # SKIP no $cc"; continue; fi
  if $cc $STRICT -O2 -I"$top_srcdir/compiler/kernels" -o "$tmp/qk-$cc" "$top_srcdir/tests/quant-kernels.c" -lm \
       >"$tmp/log" 2>&1 && "$tmp/qk-$cc" >>"$tmp/log" 2>&1 &&
     $cc $STRICT -O2 -march=native -I"$top_srcdir/compiler/kernels" -o "$tmp/qkn-$cc" \
       "$top_srcdir/tests/quant-kernels.c" -lm >>"$tmp/log" 2>&1 && "$tmp/qkn-$cc" >>"$tmp/log" 2>&1; then
    ok "quant.h rounding with $cc, the x86 kernels' the same with -march=native"
  else
    not_ok "quant.h rounding with $cc, the x86 kernels' the same with -march=native"
    diag "$(tail -n 20 "$tmp/log")"
  fi
done
# the AVX-512 VNNI tile (vpdpbusd): on a portable vpdpbusd where the machine
# has AVX2, for real (the -march=native build above) where it has VNNI
if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null || ! have gcc; then
  ok "the VNNI tile on a portable vpdpbusd # SKIP no AVX2 or no gcc"
elif gcc $STRICT -O2 -march=native -include "$top_srcdir/tests/quant-vnni.h" -I"$top_srcdir/compiler/kernels" \
       -o "$tmp/qkv" "$top_srcdir/tests/quant-kernels.c" -lm >"$tmp/log" 2>&1 && "$tmp/qkv" >>"$tmp/log" 2>&1 &&
     grep -q "the tile with vpdpbusd" "$tmp/log"; then
  ok "the VNNI tile on a portable vpdpbusd (tests/quant-vnni.h) gives the portable tile's sums"
else
  not_ok "the VNNI tile on a portable vpdpbusd (tests/quant-vnni.h) gives the portable tile's sums"
  diag "$(tail -n 20 "$tmp/log")"
fi
if ! grep -qw avx512vnni /proc/cpuinfo 2>/dev/null || ! grep -qw avx512vl /proc/cpuinfo || ! have gcc; then
  ok "the VNNI tile with the machine's vpdpbusd # SKIP no avx512vnni"
elif "$tmp/qkn-gcc" 2>&1 | grep -q "the tile with vpdpbusd"; then
  ok "the VNNI tile with the machine's vpdpbusd gives the portable tile's sums"
else
  not_ok "the VNNI tile with the machine's vpdpbusd gives the portable tile's sums"
  diag "$("$tmp/qkn-gcc" 2>&1 | tail -n 20)"
fi

# ---- aarch64: the NEON kernels under qemu-aarch64 ----
XCC=aarch64-linux-gnu-gcc
A64_ROOT=/usr/aarch64-linux-gnu
a64_skip=
if [ -n "$SAN" ]; then
  a64_skip="under the sanitizers: the aarch64 builds are not sanitized"
elif ! have $XCC || ! have qemu-aarch64; then
  a64_skip="needs aarch64-linux-gnu-gcc and qemu-aarch64"
fi
# the aarch64 builds: without the dot product (run on a core without it),
# with it, and clang with it where clang links for aarch64 (with the cross
# gcc's libraries)
a64_cc() {
  case $1 in
    gcc-v8) echo "$XCC -march=armv8-a" ;;
    gcc-dotprod) echo "$XCC -march=armv8.2-a+dotprod" ;;
    clang-dotprod) echo "clang --target=aarch64-linux-gnu -march=armv8.2-a+dotprod" ;;
  esac
}
a64_run() {
  case $1 in gcc-v8) _cpu=cortex-a53 ;; *) _cpu=max ;; esac
  shift
  qemu-aarch64 -L $A64_ROOT -cpu $_cpu "$@"
}
a64_clang=clang-dotprod
if [ -z "$a64_skip" ]; then
  echo 'int main(void) { return 0; }' >"$tmp/t.c"
  have clang && clang --target=aarch64-linux-gnu -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1 && a64_run clang "$tmp/t" ||
    a64_clang=
fi
if [ -n "$a64_skip" ]; then
  ok "quant_neon.h against quant.h on aarch64 # SKIP $a64_skip"
else
  : >"$tmp/log"
  n=0
  for b in gcc-v8 gcc-dotprod $a64_clang; do
    $(a64_cc $b) $STRICT -O2 -I"$top_srcdir/compiler/kernels" -o "$tmp/qk-$b" "$top_srcdir/tests/quant-kernels.c" \
      -lm >>"$tmp/log" 2>&1 && a64_run $b "$tmp/qk-$b" >"$tmp/qk-$b.out" 2>&1 &&
      grep -q '^the NEON requantization checked' "$tmp/qk-$b.out" &&
      grep -q "^the SIMD kernels' hooks checked" "$tmp/qk-$b.out" && n=$((n + 1))
    cat "$tmp/qk-$b.out" >>"$tmp/log" 2>/dev/null
  done
  what="quant_neon.h against quant.h on aarch64 (requantization, tile, blocks, add, interleave, max2)"
  if [ $n = $(echo gcc-v8 gcc-dotprod $a64_clang | wc -w) ]; then
    ok "$what: gcc armv8-a, armv8.2-a+dotprod${a64_clang:+ and clang}"
  else
    not_ok "$what"
    diag "$(tail -n 20 "$tmp/log")"
  fi
fi
# a64_same NAME INFER.c OUT N BUILDS: INFER.c built for aarch64 by BUILDS
# runs on the N inputs OUT.in of quant-run and gives the bits of OUT; its
# code is quant_neon.h's (sqrdmulh; sdot with the dot product, sadalp
# without), and its object references no symbol (no memcpy or memset
# made of the kernels' loops)
a64_same() {
  _name=$1 _c=$2 _out=$3 _n=$4 _builds=$5
  _what="$_name: aarch64 $(echo $_builds | sed 's/ /, /g') (NEON int8) give the portable x86 build's bits"
  if [ -n "$a64_skip" ]; then
    ok "$_what # SKIP $a64_skip"
    return
  fi
  _d=$tmp/a64-$_name _bad=
  mkdir -p "$_d"
  cp "$_out" "$_d/ref.f32" && cp "$_out.in" "$_d/x.f32" || _bad="no x86 outputs"
  for _b in $_builds; do
    if ! $(a64_cc $_b) $STRICT -O2 -DINFER="\"${_c##*/}\"" -I"${_c%/*}" -o "$_d/$_b" \
         "$top_srcdir/tests/infer-run.c" -lm >"$_d/$_b.log" 2>&1 ||
       ! a64_run $_b "$_d/$_b" "$_d" $_n 0 >>"$_d/$_b.log" 2>&1; then
      _bad="$_bad $_b: $(tail -n 3 "$_d/$_b.log")"
      continue
    fi
    $(a64_cc $_b) $STRICT -O2 -c -o "$_d/$_b.o" "$_c" >>"$_d/$_b.log" 2>&1 &&
      [ -z "$(aarch64-linux-gnu-nm -u "$_d/$_b.o")" ] ||
      _bad="$_bad $_b: the object references $(aarch64-linux-gnu-nm -u "$_d/$_b.o" 2>&1 | tr -s ' \n' ' ')"
    aarch64-linux-gnu-objdump -d "$_d/$_b" >"$_d/$_b.s"
    grep -q 'sqrdmulh' "$_d/$_b.s" || _bad="$_bad $_b: no sqrdmulh (not quant_neon.h's requantization)"
    case $_b in
      *dotprod) grep -q 'sdot' "$_d/$_b.s" || _bad="$_bad $_b: no sdot" ;;
      *) grep -q 'sdot' "$_d/$_b.s" && _bad="$_bad $_b: sdot without the dot product"
         grep -q 'sadalp' "$_d/$_b.s" || _bad="$_bad $_b: no sadalp" ;;
    esac
  done
  if [ -z "$_bad" ]; then
    ok "$_what, sdot only with the dot product, no symbol referenced"
  else
    not_ok "$_what"
    diag "$_bad"
  fi
}

# ---- LeNet, trained ----
if "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet" >"$tmp/log" 2>&1 &&
   "$tmp/lenet" train --data "$DATA" --epochs 2 --save "$tmp/lenet.ckpt" >>"$tmp/log" 2>&1; then
  ok "lenet: trained two epochs on the sample"
else
  not_ok "lenet: trained two epochs on the sample"
  diag "$(tail -n 20 "$tmp/log")"
fi
if "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet_f.c" &&
   "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 --calibrate "$DATA" \
     "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet_q.c" 2>"$tmp/log"; then
  ok "lenet: cnncc --quantize=int8 --calibrate"
else
  not_ok "lenet: cnncc --quantize=int8 --calibrate"
  diag "$(cat "$tmp/log")"
fi
for cc in gcc clang; do
  if ! have $cc; then ok "lenet: strict C99 with $cc # SKIP no $cc"; continue; fi
  if $cc $STRICT -O2 -c -o "$tmp/q-$cc.o" "$tmp/lenet_q.c" >"$tmp/log" 2>&1 &&
     $cc $STRICT -O2 -march=native -c -o "$tmp/qn-$cc.o" "$tmp/lenet_q.c" >>"$tmp/log" 2>&1 &&
     [ -z "$(nm -u "$tmp/q-$cc.o" "$tmp/qn-$cc.o" | grep -v ':$' | grep .)" ]; then
    ok "lenet: int8 file is strict C99 with $cc and references no symbol"
  else
    not_ok "lenet: int8 file is strict C99 with $cc and references no symbol"
    diag "$(cat "$tmp/log")" "$(nm -u "$tmp/q-$cc.o")"
  fi
done
CC=${CNNCC_CC:-cc} runner run_f "$tmp/lenet_f.c" -O2
# the builds that link libcnnrt: under the sanitizers only with the
# compiler that built it (its sanitizer runtime)
link_ccs="gcc clang"
[ -n "$SAN" ] && link_ccs=${CNNCC_CC:-cc}
builds=
for cc in $link_ccs; do
  have $cc || continue
  for o in "-O0" "-O3" "-O3 -march=native"; do
    n=run_q_${cc##*/}_$(echo $o | tr -dc 'a-zA-Z0-9')
    CC=$cc runner $n "$tmp/lenet_q.c" $o
    builds="$builds $n"
  done
done
"$tmp/run_f" "$DATA" 500 "$tmp/out_f" >"$tmp/float.txt" 2>&1
first=${builds%% *} first=${builds# }
first=${first%% *}
line=$("$tmp/$first" "$DATA" 500 "$tmp/out_q" "$tmp/out_f" 2>&1)
diag "float: $(cat "$tmp/float.txt")" "int8:  $line"
check "lenet: int8 argmax as float's on 97% of the test images, outputs within 10%" within "$line" 0.97 0.1
fa=$(awk '{ print $2 }' "$tmp/float.txt")
check "lenet: int8 accuracy within 2 points of float's" \
  sh -c "echo '$line' | awk -v f='$fa' '{ d = \$2 - f; exit !(d >= -0.02) }'"
same=0
for b in $builds; do
  "$tmp/$b" "$DATA" 500 "$tmp/out_$b" >/dev/null 2>&1 && cmp -s "$tmp/out_$b" "$tmp/out_q" || {
    same=1
    diag "$b differs from $first"
  }
done
check "lenet: int8 outputs the same bits with $(basename -a $link_ccs | tr '\n' ' ' | sed 's/ $//; s/ / and /') at -O0, -O3, -O3 -march=native ($(echo $builds | wc -w) builds)" \
  test $same = 0
a64_same lenet "$tmp/lenet_q.c" "$tmp/out_q" 500 "gcc-v8 gcc-dotprod"

# ---- VGG, ResNet, every group kind: checkpoints of tests/infer-ref.c ----
# CSV inputs for quant-ops and quant-ops1d: 40 rows of 360 (60) values in [-1, 1) and a class
awk 'BEGIN { srand(3); for (r = 0; r < 40; r++) { for (i = 0; i < 360; i++) printf "%.4f,", 2 * rand() - 1; print r % 5 } }' \
  >"$tmp/ops.csv"
awk 'BEGIN { srand(4); for (r = 0; r < 40; r++) { for (i = 0; i < 60; i++) printf "%.4f,", 2 * rand() - 1; print r % 3 } }' \
  >"$tmp/ops1d.csv"
CC=${CNNCC_CC:-cc}
# make_ckpt SRC DIR: DIR/ckpt, three Adam steps of SRC.cnn's training code
make_ckpt() {
  _net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$top_srcdir/$1.cnn")
  mkdir -p "$2"
  "$CNNCC" "$top_srcdir/$1.cnn" -o "$2/net.c" >"$2/log" 2>&1 &&
    $CC -O1 $SAN -DCNNCC_NO_MAIN -DNET="$_net" -DNETU="$(echo $_net | tr a-z A-Z)" -DHEADER='"net.h"' -I"$2" \
      -I"$top_srcdir/runtime" -o "$2/ref" "$top_srcdir/tests/infer-ref.c" "$2/net.c" $rtlib -lz -lm >>"$2/log" 2>&1 &&
    "$2/ref" "$2" 3 1 5 >>"$2/log" 2>&1
}
# the SIMD builds compared with the portable -O2 one (they link libcnnrt:
# under the sanitizers only with the compiler that built it)
simd_builds="gcc -march=native
clang -march=native
gcc -march=native -DCNNCC_SIMD=0"
[ -z "$SAN" ] || simd_builds="${CNNCC_CC:-cc} -march=native
${CNNCC_CC:-cc} -march=native -DCNNCC_SIMD=0"
for src in examples/vgg examples/resnet tests/quant-ops tests/quant-ops1d; do
  name=${src##*/}
  d=$tmp/$name
  data=$DATA
  case $name in quant-ops*) data=$tmp/${name#quant-}.csv ;; esac
  if make_ckpt "$src" "$d" &&
     "$CNNCC" --emit=inference --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/${name}_f.c" >>"$d/log" 2>&1 &&
     "$CNNCC" --emit=inference --weights "$d/ckpt" --quantize=int8 --calibrate "$data" --calibrate-samples 40 \
       "$top_srcdir/$src.cnn" -o "$d/${name}_q.c" >>"$d/log" 2>&1; then
    ok "$name: quantized"
  else
    not_ok "$name: quantized"
    diag "$(tail -n 20 "$d/log")"
  fi
  cp "$d/${name}_f.c" "$d/${name}_q.c" "$tmp/" 2>/dev/null
  runner ${name}_f "$tmp/${name}_f.c" -O2
  runner ${name}_q "$tmp/${name}_q.c" -O2
  "$tmp/${name}_f" "$data" 40 "$d/out_f" >/dev/null 2>&1
  line=$("$tmp/${name}_q" "$data" 40 "$d/out_q" "$d/out_f" 2>&1)
  diag "$name: $line"
  check "$name: int8 argmax as float's on 80% of 40 samples, outputs within 10%" within "$line" 0.8 0.1
  same=0 n=0
  while IFS= read -r b; do
    have ${b%% *} || continue
    n=$((n + 1))
    CC=${b%% *} runner ${name}_q$n "$tmp/${name}_q.c" -O2 ${b#* }
    "$tmp/${name}_q$n" "$data" 40 "$d/out_q$n" >/dev/null 2>&1 && cmp -s "$d/out_q$n" "$d/out_q" || {
      same=1
      diag "$name: $b differs from the portable build"
    }
  done <<EOF
$simd_builds
EOF
  check "$name: int8 outputs the same bits with $(echo "$simd_builds" | sed 's|^[^ ]*/||' | tr '\n' ',' | sed 's/,$//; s/,/, /g') ($n builds)" test $same = 0
  case $name in quant-ops) b="gcc-v8 gcc-dotprod $a64_clang" ;; *) b="gcc-v8 gcc-dotprod" ;; esac
  a64_same $name "$tmp/${name}_q.c" "$d/out_q" 40 "$b"
done

# ---- networks with layers that have no int8 version: refused by name ----
for src in tests/torch-ops2d tests/torch-ops1d; do
  name=${src##*/}
  make_ckpt "$src" "$tmp/$name" || diag "$(tail -n 20 "$tmp/$name/log")"
  "$CNNCC" --emit=inference --weights "$tmp/$name/ckpt" --quantize=int8 --calibrate "$tmp/ops.csv" \
    "$top_srcdir/$src.cnn" -o "$tmp/$name.c" >/dev/null 2>"$tmp/err"
  rc=$?
  check "$name: refused with the layer's name, no file left" sh -c "[ $rc = 1 ] && [ ! -e '$tmp/$name.c' ] &&
    grep -q \"^cnncc: --quantize=int8: layer '[a-z0-9_]*' ([a-z0-9_]*, line [0-9]*) has no int8 version yet\" '$tmp/err'"
  diag "$(cat "$tmp/err")"
done

# ---- refusals and errors ----
L=$top_srcdir/examples/lenet.cnn
make_ckpt tests/infer-edge "$tmp/edge" || diag "$(tail -n 20 "$tmp/edge/log")"
check_fails "a layer without an int8 version is refused by name" 1 \
  "cnncc: --quantize=int8: layer 'bn2' (batchnorm, line 13) has no int8 version yet; quantized are conv1d/conv2d and dense (with batchnorm folded in), relu, maxpool, avgpool, global pooling, add and flatten" \
  sh -c "'$CNNCC' --emit=inference --weights '$tmp/edge/ckpt' --quantize=int8 --calibrate '$DATA' \
    '$top_srcdir/tests/infer-edge.cnn' -o '$tmp/e.c'"
check_fails "--quantize without --calibrate" 2 \
  "cnncc: --quantize=int8 needs calibration data: --calibrate DIR (as the trainer's --data DIR)" \
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 "$L" -o "$tmp/x.c"
check_fails "--quantize without --weights" 2 \
  "cnncc: --emit=inference needs the weights: --weights CHECKPOINT" \
  "$CNNCC" --emit=inference --quantize=int8 --calibrate "$DATA" "$L" -o "$tmp/x.c"
check_fails "an unknown --quantize" 2 "cnncc: unknown --quantize 'int4' (expected int8)" \
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int4 --calibrate "$DATA" "$L" -o "$tmp/x.c"
check_fails "--calibrate without --quantize" 2 "cnncc: --calibrate and --calibrate-samples go with --quantize=int8" \
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --calibrate "$DATA" "$L" -o "$tmp/x.c"
check_fails "a missing --calibrate DIR" 1 "cnncc: --calibrate: no such file or directory: $tmp/none" \
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 --calibrate "$tmp/none" "$L" -o "$tmp/x.c"
check_fails "a bad --calibrate-samples" 2 "cnncc: --calibrate-samples expects a count from 1 to 1000000000, not '0'" \
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 --calibrate "$DATA" --calibrate-samples 0 "$L" -o "$tmp/x.c"
"$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 --calibrate "$tmp/ops.csv" "$L" -o "$tmp/x.c" \
  >/dev/null 2>"$tmp/err"
rc=$?
check "calibration data of the wrong shape: status 1 and a message" \
  sh -c "[ $rc = 1 ] && grep -q '^cnncc: --calibrate $tmp/ops.csv: ' '$tmp/err' && [ ! -e '$tmp/x.c' ]"
diag "$(cat "$tmp/err")"
mkdir "$tmp/empty"
"$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 --calibrate "$tmp/empty" "$L" -o "$tmp/x.c" \
  >/dev/null 2>"$tmp/err"
rc=$?
check "a folder without data: status 1 and a message" sh -c "[ $rc = 1 ] && grep -q '^cnncc: --calibrate ' '$tmp/err'"
diag "$(cat "$tmp/err")"
