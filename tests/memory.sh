#!/bin/sh
# The memory contract of the inference code (cnncc --summary
# --emit=inference; docs/inference.md, "Memory"), for some examples and
# tests/infer-edge.cnn (a tap offset table, transposed convolutions), with
# and without --static-arena. Per network:
#  - the summary, made without a checkpoint, states the figures that the
#    generated file and its header define (NAME_WEIGHT_BYTES, ...), and
#    the file written with --header compiles (strict C99) with its header;
#  - compiled by gcc -O2 -fdata-sections with every weight array kept whole
#    (CNNCC_WEIGHT_ATTR=__attribute__((used))), its arrays' sections sum
#    to exactly NAME_WEIGHT_BYTES, the tap tables and the opaque zero to
#    NAME_CONST_BYTES, .bss to NAME_STATIC_BYTES, and nothing else is
#    writable data; the compiler's own constants are reported;
#  - tests/memory-run.c: nothing past NAME_SCRATCH_BYTES of a scratch
#    buffer changes, at any alignment; the bytes touched are reported, and
#    must be at least half of NAME_ARENA_BYTES (none with --static-arena,
#    where the scratch argument is ignored);
#  - gcc -fstack-usage: no dynamic stack but "dynamic,bounded" frames (gcc's
#    figure is then the bound; gcc 12 -O2 makes int8's cnn_q_conv one), and
#    predict_batch + predict + the largest other frame (the deepest chain
#    of calls) under 64 KiB, reported;
#  - with --static-arena, the same outputs as with the caller's scratch.
# The same for the int8 files (--quantize=int8, calibrated on the sample of
# data/fashion-mnist) of some of them: the summary's int8 column, without
# --calibrate, is what the int8 file defines; the int8 arrays but the tap
# offset tables (NAME_LAYER_off) sum to NAME_WEIGHT_BYTES, those tables and
# cnn_q_zero to NAME_CONST_BYTES; the only other data are the layers'
# descriptors (CnnQConv NAME_LAYER_q, whose size is the target's; reported).
# The checkpoints come from tests/infer-ref.c (the initialization, no
# training: the values do not change any size), built with -O0 for speed.
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
# source, then "static" for a second build with --static-arena
networks="examples/lenet static
examples/mlp -
examples/vgg -
examples/resnet -
tests/infer-edge static"
# the int8 files: source, variants (the checkpoints are the float part's)
qnetworks="examples/lenet static
examples/vgg -
examples/resnet -"
QFLAGS="--quantize=int8 --calibrate $top_srcdir/data/fashion-mnist --calibrate-samples 20"
if ! command -v gcc >/dev/null 2>&1 || ! command -v size >/dev/null 2>&1; then
  echo "1..0 # SKIP needs gcc and size (binutils)"
  exit 0
fi
set -- $networks
nstatic=$(printf '%s\n' "$networks" "$qnetworks" | grep -c ' static$')
nq=$(printf '%s\n' "$qnetworks" | wc -l)
# Cortex-M: arm-none-eabi-gcc (Debian gcc-arm-none-eabi), when present
ARM_CC=arm-none-eabi-gcc
ncortex=0
command -v "$ARM_CC" >/dev/null 2>&1 && ncortex=4
plan $((3 + ($# / 2 + nq) * 5 + nstatic * 6 + ncortex))
use_tmp memory
find_rtlib

# The summary needs no checkpoint and writes nothing.
if (cd "$tmp" && "$CNNCC" --summary --emit=inference "$top_srcdir/examples/lenet.cnn" >summary.txt 2>&1) &&
   [ "$(ls "$tmp")" = summary.txt ] && grep -q '^ *float$' "$tmp/summary.txt"; then
  ok "--summary --emit=inference without --weights: figures, a float column, no file written"
else
  not_ok "--summary --emit=inference without --weights: figures, a float column, no file written"
  diag "$(ls "$tmp")" "$(cat "$tmp/summary.txt")"
fi
check_fails "--summary --emit=inference on a missing file: the error, status 2" 2 \
  "cnncc: cannot read '$tmp/none.cnn': No such file or directory" \
  "$CNNCC" --summary --emit=inference "$tmp/none.cnn"
rm -f "$tmp/summary.txt" "$tmp/out" "$tmp/err"
# With --quantize=int8 a second column, still without a checkpoint, nor
# calibration data.
if (cd "$tmp" && "$CNNCC" --summary --emit=inference --quantize=int8 "$top_srcdir/examples/lenet.cnn" \
      >summary.txt 2>&1) && [ "$(ls "$tmp")" = summary.txt ] && grep -q '^ *float  *int8$' "$tmp/summary.txt"; then
  ok "--summary --emit=inference --quantize=int8 without --weights, --calibrate: float and int8 columns"
else
  not_ok "--summary --emit=inference --quantize=int8 without --weights, --calibrate: float and int8 columns"
  diag "$(ls "$tmp")" "$(cat "$tmp/summary.txt")"
fi
rm -f "$tmp/summary.txt"

# figures FILE NET: "NAME VALUE" of the NET_*_BYTES figures, sorted
figures() { sed -n "s/^#define \(${2}_[A-Z]*_BYTES\) \([0-9]*\) .*/\1 \2/p" "$1" | sort; }
# fig FILE NAME: the value of one figure in a figures file
fig() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
# sections OBJ REGEX: the sum of the sizes of OBJ's sections whose names match REGEX
sections() { size -A "$1" | awk -v re="$2" '$1 ~ re { s += $2 } END { print s + 0 }'; }

# one NAME SRC NET NETU DIR FLAGS...: the checks of one build, of the
# float file, or with Q=int8 of the int8 file
one() {
  nm=$1 src=$2 net=$3 NET=$4 d=$5
  shift 5
  log=$d/log
  ckpt=$tmp/$nm.ckpt
  nm="$nm${Q:+ int8}${1:+ $*}"
  col=2 qflags=
  [ -n "$Q" ] && col=3 qflags=$QFLAGS
  "$CNNCC" --summary --emit=inference ${Q:+--quantize=int8} "$@" "$top_srcdir/$src.cnn" >"$d/summary" 2>"$log"
  awk -v p="${NET}_" -v c="$col" 'index($1, p) == 1 && $1 ~ /_BYTES$/ { print $1, $c }' "$d/summary" |
    sort >"$d/said"
  mkdir -p "$d/h"
  if "$CNNCC" --emit=inference --weights "$ckpt" $qflags "$@" "$top_srcdir/$src.cnn" -o "$d/infer.c" \
       >>"$log" 2>&1 &&
     "$CNNCC" --emit=inference --header --weights "$ckpt" $qflags "$@" "$top_srcdir/$src.cnn" \
       -o "$d/h/infer.c" >>"$log" 2>&1 &&
     figures "$d/infer.c" "$NET" >"$d/c-figures" && figures "$d/h/infer.h" "$NET" >"$d/h-figures" &&
     [ "$(wc -l <"$d/said")" = 7 ] && cmp -s "$d/said" "$d/c-figures" && cmp -s "$d/said" "$d/h-figures" &&
     gcc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only "$d/h/infer.c" >>"$log" 2>&1; then
    ok "$nm: the summary states the figures the file and header define; the file with its header compiles"
  else
    not_ok "$nm: the summary states the figures the file and header define; the file with its header compiles"
    diag "$(cat "$log")" "summary:" "$(cat "$d/said")" "file:" "$(cat "$d/c-figures")"
  fi
  f=$d/said
  obj=$d/infer.o
  if gcc -std=c99 -O2 -fdata-sections -fstack-usage '-DCNNCC_WEIGHT_ATTR=__attribute__((used))' \
       -c -o "$obj" "$d/infer.c" >"$log" 2>&1; then
    arrays=$(sections "$obj" "^\\.rodata\\.${net}_" )
    zero=$(sections "$obj" "^\\.(ro)?data\\.${net}_zero\$")
    weights=$((arrays - $(sections "$obj" "^\\.rodata\\.${net}_zero\$")))
    offs=$(sections "$obj" '^\.rodata\.off\.')
    bss=$(sections "$obj" '^\.bss')
    data=$(($(sections "$obj" '^\.data') - $(sections "$obj" "^\\.data\\.${net}_zero\$")))
    if [ -n "$Q" ]; then # int8: tap tables NAME_LAYER_off, cnn_q_zero, descriptors NAME_LAYER_q
      offs=$(sections "$obj" "^\\.rodata\\.${net}_.*_off\$")
      zero=$(sections "$obj" '^\.(ro)?data\.cnn_q_zero$')
      rodesc=$(sections "$obj" "^\\.rodata\\.${net}_.*_q\$")
      desc=$((rodesc + $(sections "$obj" "^\\.data\\.rel\\.ro(\\.local)?\\.${net}_.*_q\$")))
      weights=$((arrays - offs - rodesc))
      data=$(($(sections "$obj" '^\.data') - $(sections "$obj" '^\.data\.cnn_q_zero$') - desc + rodesc))
    fi
    own=$(sections "$obj" '^\.rodata(\.cst|\.str|$)')
    text=$(sections "$obj" '^\.text')
  else
    diag "$(tail -n 20 "$log")"
    weights=none
  fi
  check "$nm: weight arrays (.rodata.${net}_*) are ${NET}_WEIGHT_BYTES = $(fig "$f" "${NET}_WEIGHT_BYTES")" \
    [ "$weights" = "$(fig "$f" "${NET}_WEIGHT_BYTES")" ]
  if [ "$weights" != none ] && [ $((offs + zero)) = "$(fig "$f" "${NET}_CONST_BYTES")" ] &&
     [ "$bss" = "$(fig "$f" "${NET}_STATIC_BYTES")" ] && [ "$data" = 0 ]; then
    ok "$nm: tap tables + zero = ${NET}_CONST_BYTES ($offs + $zero), .bss = ${NET}_STATIC_BYTES ($bss), no other data"
  else
    not_ok "$nm: tap tables + zero = ${NET}_CONST_BYTES, .bss = ${NET}_STATIC_BYTES, no other data"
    diag "$(size -A "$obj" 2>&1 | grep -v "\\.rodata\\.${net}_")" "$(cat "$f")"
  fi
  [ "$weights" != none ] &&
    diag "$nm: gcc -O2 adds $own bytes of its own constants (.rodata.cst*) to $weights of weights; .text $text"
  [ "$weights" != none ] && [ -n "$Q" ] && diag "$nm: the layers' descriptors (NAME_LAYER_q): $desc bytes"
  # without the attribute, what stays in the arrays (the rest became code)
  if [ -z "$Q" ] && gcc -std=c99 -O2 -fdata-sections -c -o "$d/plain.o" "$d/infer.c" >>"$log" 2>&1; then
    plain=$(($(sections "$d/plain.o" "^\\.rodata\\.${net}_") - $(sections "$d/plain.o" "^\\.rodata\\.${net}_zero\$")))
    diag "$nm: without CNNCC_WEIGHT_ATTR, $plain of the $weights bytes of weights stay in their arrays"
  fi
  # the scratch actually touched
  if $CC -O2 $SAN -DINFER='"infer.c"' -DARENA="${NET}_ARENA_BYTES" -I"$d" -o "$d/run" \
       "$top_srcdir/tests/memory-run.c" -lm >"$log" 2>&1 &&
     "$d/run" "$d/out.f32" >>"$log" 2>&1 &&
     tail -n 1 "$log" | awk -v s="$*" '{ exit !(s != "" ? $2 == 0 : $2 * 2 >= $7 + 0) }'; then
    ok "$nm: nothing past ${NET}_SCRATCH_BYTES written, at any alignment; at least half the arena used"
    diag "$nm: $(tail -n 1 "$log")"
  else
    not_ok "$nm: nothing past ${NET}_SCRATCH_BYTES written, at any alignment; at least half the arena used"
    diag "$(tail -n 20 "$log")"
  fi
  # the stack: gcc's frame sizes, all static or bounded
  su=$d/infer.su
  stack=$(awk -F '\t' -v N="$net" '
    $3 != "static" && $3 != "dynamic,bounded" { dyn = 1 }
    { split($1, p, ":"); f = p[4] }
    f == N "_predict_batch" { b = $2; next }
    f == N "_predict" { q = $2; next }
    $2 > m { m = $2 }
    END { print dyn ? "dynamic" : b + q + m }' "$su" 2>/dev/null)
  if [ -n "$stack" ] && [ "$stack" != dynamic ] && [ "$stack" -lt 65536 ]; then
    ok "$nm: stack (gcc -O2 frames, deepest chain) $stack bytes"
  else
    not_ok "$nm: stack (gcc -O2 frames, deepest chain) under 64 KiB, no unbounded dynamic frames"
    diag "$(cat "$su" 2>&1)"
  fi
}

# names SRC: name, net and NET of the network of SRC.cnn
names() {
  name=${1##*/}
  net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$top_srcdir/$1.cnn" | head -n 1)
  [ -n "$net" ] || net=$name
  NET=$(echo "$net" | tr 'a-z' 'A-Z')
}
# files SRC SUFFIX VARIANTS LABEL: one() in $tmp/NAME$SUFFIX and, if
# VARIANTS is static, with --static-arena, which must give the same outputs
files() {
  mkdir -p "$tmp/$name$2" "$tmp/$name$2-static"
  one "$name" "$1" "$net" "$NET" "$tmp/$name$2"
  [ "$3" = static ] || return 0
  one "$name" "$1" "$net" "$NET" "$tmp/$name$2-static" --static-arena
  check "$name$4 --static-arena: the same outputs as with the caller's scratch" \
    cmp -s "$tmp/$name$2/out.f32" "$tmp/$name$2-static/out.f32"
}

set -- $networks
while [ $# -gt 0 ]; do
  src=$1 variants=$2
  shift 2
  names "$src"
  mkdir -p "$tmp/$name"
  log=$tmp/$name/log
  # the checkpoint: the initialization of the training code
  if "$CNNCC" "$top_srcdir/$src.cnn" -o "$tmp/$name/net.c" >"$log" 2>&1 &&
     $CC -O0 $SAN -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$NET" -DHEADER='"net.h"' -I"$tmp/$name" \
       -I"$top_srcdir/runtime" -o "$tmp/$name/ref" "$top_srcdir/tests/infer-ref.c" "$tmp/$name/net.c" \
       $rtlib -lz -lm >>"$log" 2>&1 &&
     "$tmp/$name/ref" "$tmp/$name" 0 1 1 >>"$log" 2>&1; then
    mv "$tmp/$name/ckpt" "$tmp/$name.ckpt"
  else
    diag "$name: no checkpoint: $(tail -n 20 "$log")"
  fi
  files "$src" "" "$variants" ""
done

# The int8 files, from the same checkpoints.
Q=int8
set -- $qnetworks
while [ $# -gt 0 ]; do
  names "$1"
  files "$1" -int8 "$2" " int8"
  shift 2
done
Q=

# Cortex-M (32-bit, no OS, no C library: arm-none-eabi-gcc without newlib):
# LeNet's float file (--no-softmax: no <math.h>) and its int8 file build as
# strict C99 for a Cortex-M4 with an FPU and a Cortex-M0 without one,
# reference nothing but the compiler's own helpers (__aeabi_*), and the
# weights' sections of both hold their LENET_WEIGHT_BYTES there too.
if [ "$ncortex" -gt 0 ]; then
  d=$tmp/cortex-m
  mkdir -p "$d"
  log=$d/log
  m4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
  m0="-mcpu=cortex-m0 -mthumb -mfloat-abi=soft"
  # arm_build NAME FLAGS...: NAME.o from NAME.c, strict C99, -Os
  arm_build() {
    _n=$1
    shift
    "$ARM_CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -Os -fdata-sections \
      '-DCNNCC_WEIGHT_ATTR=__attribute__((used))' "$@" -c -o "$d/$_n.o" "$d/$_n.c" >>"$log" 2>&1
  }
  # foreign OBJ: its undefined symbols other than the compiler's helpers
  foreign() { arm-none-eabi-nm -u "$1" | awk '{ print $NF }' | grep -v '^__aeabi_' | tr '\n' ' '; }
  "$CNNCC" --emit=inference --no-softmax --weights "$tmp/lenet.ckpt" "$top_srcdir/examples/lenet.cnn" \
    -o "$d/float.c" >"$log" 2>&1
  "$CNNCC" --emit=inference --weights "$tmp/lenet.ckpt" --quantize=int8 \
    --calibrate "$top_srcdir/data/fashion-mnist" --calibrate-samples 100 \
    "$top_srcdir/examples/lenet.cnn" -o "$d/int8.c" >>"$log" 2>&1
  for part in float int8; do
    if arm_build "$part" $m4 && cp "$d/$part.c" "$d/$part-m0.c" && arm_build "$part-m0" $m0 &&
       [ -z "$(foreign "$d/$part.o")$(foreign "$d/$part-m0.o")" ]; then
      ok "lenet $part: strict C99 for Cortex-M4 (FPU) and Cortex-M0, only __aeabi_* helpers undefined"
      diag "lenet $part on Cortex-M4: $(arm-none-eabi-size -A "$d/$part.o" |
        awk '$1 ~ /^\.text/ { t += $2 } $1 ~ /^\.rodata/ { r += $2 } END { print ".text " t ", .rodata " r }')"
    else
      not_ok "lenet $part: strict C99 for Cortex-M4 (FPU) and Cortex-M0, only __aeabi_* helpers undefined"
      diag "$(tail -n 20 "$log")" "undefined: $(foreign "$d/$part.o" 2>&1) $(foreign "$d/$part-m0.o" 2>&1)"
    fi
  done
  # not weights: float's opaque zero; int8's tap tables and descriptors (in
  # .rodata without -fPIC)
  for part in float int8; do
    want=$(sed -n 's/^#define LENET_WEIGHT_BYTES \([0-9]*\) .*/\1/p' "$d/$part.c")
    got=$(arm-none-eabi-size -A "$d/$part.o" 2>/dev/null | awk '$1 ~ /^\.rodata\.lenet_/ &&
      $1 != ".rodata.lenet_zero" && $1 !~ /_(off|q)$/ { s += $2 } END { print s + 0 }')
    check "lenet $part on Cortex-M4: weight arrays are LENET_WEIGHT_BYTES = $want (got $got)" [ "$got" = "$want" ]
  done
fi
