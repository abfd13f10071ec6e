#!/bin/sh
# bench/quant.sh - int8 against float for the standalone inference code
# (`make bench-quant`, docs/inference.md "int8: measured"). For each
# network, from one trained checkpoint:
#   - the float file (cnncc --emit=inference) and the int8 one
#     (--quantize=int8 --calibrate BENCH_DATA);
#   - test accuracy of both on the whole test set, through examples/classify.c;
#   - the bytes of constant data (the weights) of both objects, from `size -A`;
#   - batch-1 latency of both (bench/infer-time.c, fastest and median call),
#     and PyTorch's float latency (bench/infer-torch.py: eval(), no_grad(),
#     one thread), all measured in this run.
# The checkpoints are trained here with each example's train block for
# BENCH_EPOCHS epochs on BENCH_DATA unless BENCH_WEIGHTS already holds
# NAME.ckpt (delete it to train again).
#
# Environment:
#   BENCH_EXAMPLES   networks (default: lenet vgg resnet)
#   BENCH_DATA       IDX data with train and t10k files (default: Debian's
#                    full Fashion-MNIST, else the sample in data/)
#   BENCH_EPOCHS     epochs of training (default 5)
#   BENCH_WEIGHTS    where the checkpoints are kept (default bench/results/quant)
#   INFER_SECONDS    time each latency measurement takes (default 2)
#   CC, CFLAGS       the C compiler and flags of both files (cc, -O3 -march=native)
#   PYTHON           an interpreter with torch (default CNNCC_PYTHON, else /usr/bin/python3)
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/bench/common.sh"
BENCH_EXAMPLES=${BENCH_EXAMPLES:-lenet vgg resnet}
BENCH_DATA=${BENCH_DATA:-/usr/share/datasets/fashion-mnist}
[ -d "$BENCH_DATA" ] || BENCH_DATA=$top_srcdir/data/fashion-mnist
BENCH_EPOCHS=${BENCH_EPOCHS:-5}
BENCH_WEIGHTS=${BENCH_WEIGHTS:-$top_builddir/bench/results/quant}
SECONDS_EACH=${INFER_SECONDS:-2}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O3 -march=native}
PYTHON=${PYTHON:-${CNNCC_PYTHON:-/usr/bin/python3}}
mkdir -p "$BENCH_WEIGHTS"
work=$(mktemp -d "${TMPDIR:-/tmp}/quant.XXXXXX")
trap 'rm -rf "$work"' EXIT
torch=yes
"$PYTHON" -c 'import torch' >/dev/null 2>&1 || torch=

# data_file PREFIX: BENCH_DATA's file of that name, compressed or not
data_file() {
  for f in "$BENCH_DATA/$1" "$BENCH_DATA/$1.gz"; do
    [ -f "$f" ] && echo "$f" && return
  done
  echo "quant.sh: no $1 in $BENCH_DATA" >&2
  exit 1
}
test_images=$(data_file t10k-images-idx3-ubyte)
test_labels=$(data_file t10k-labels-idx1-ubyte)

# checkpoint NAME SRC: BENCH_WEIGHTS/NAME.ckpt, trained first if missing
checkpoint() {
  ckpt=$BENCH_WEIGHTS/$1.ckpt
  [ -f "$ckpt" ] && return
  echo "# training $1: $BENCH_EPOCHS epochs on $BENCH_DATA" >&2
  "$CNNCC" "$2" -o "$work/$1-train"
  "$work/$1-train" train --data "$BENCH_DATA" --epochs "$BENCH_EPOCHS" --save "$ckpt" \
    >"$BENCH_WEIGHTS/$1.log" 2>&1
}

# build DIR: DIR/classify and DIR/time from DIR/infer.c, and DIR/infer.o
build() {
  # shellcheck disable=SC2086 # CFLAGS splits on purpose
  {
    $CC $CFLAGS -c -o "$1/infer.o" "$1/infer.c"
    $CC $CFLAGS -I"$1" -DCNN_SOURCE='"infer.c"' -o "$1/classify" "$top_srcdir/examples/classify.c" -lm
    $CC $CFLAGS -I"$1" -DINFER='"infer.c"' -o "$1/time" "$top_srcdir/bench/infer-time.c" -lm
  }
}

# accuracy DIR: the test accuracy of DIR/classify
accuracy() {
  "$1/classify" "$test_images" "$test_labels" | sed -n 's/^accuracy \([0-9.]*\).*/\1/p'
}

# const_bytes OBJ: bytes of the object's constant data (.rodata*, .data*)
const_bytes() {
  size -A "$1" | awk '$1 ~ /^\.(rodata|data)/ { n += $2 } END { print n + 0 }'
}

echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $($CC --version | head -n 1), $CFLAGS"
echo "# test accuracy on $test_images; weights: bytes of .rodata and .data of the object; batch 1: microseconds per call (min, median)"
printf '%-8s %9s %9s %7s %10s %10s %6s %9s %9s %9s %9s %7s %9s %7s\n' network float_acc int8_acc diff \
  float_B int8_B int8% float_min int8_min float_med int8_med speed torch_min torch/int8
for name in $BENCH_EXAMPLES; do
  src=$top_srcdir/examples/$name.cnn
  checkpoint "$name" "$src"
  f=$work/$name/float q=$work/$name/int8
  mkdir -p "$f" "$q"
  "$CNNCC" --emit=inference --weights "$ckpt" "$src" -o "$f/infer.c"
  "$CNNCC" --emit=inference --weights "$ckpt" --quantize=int8 --calibrate "$BENCH_DATA" "$src" -o "$q/infer.c"
  build "$f"
  build "$q"
  acc_f=$(accuracy "$f") acc_q=$(accuracy "$q")
  bytes_f=$(const_bytes "$f/infer.o") bytes_q=$(const_bytes "$q/infer.o")
  # shellcheck disable=SC2046 # "NAME MIN MEDIAN" splits into the fields
  set -- $("$f/time" "$SECONDS_EACH"); min_f=$2 med_f=$3
  # shellcheck disable=SC2046
  set -- $("$q/time" "$SECONDS_EACH"); min_q=$2 med_q=$3
  torch_min=-
  if [ -n "$torch" ]; then
    "$CNNCC" --emit=pytorch "$src" -o "$work/$name/mirror.py"
    # shellcheck disable=SC2046
    set -- $("$PYTHON" "$top_srcdir/bench/infer-torch.py" "$work/$name/mirror.py" "$SECONDS_EACH" 1 1)
    torch_min=$2
  fi
  awk -v n="$name" -v af="$acc_f" -v aq="$acc_q" -v bf="$bytes_f" -v bq="$bytes_q" -v mf="$min_f" \
    -v mq="$min_q" -v df="$med_f" -v dq="$med_q" -v mt="$torch_min" 'BEGIN {
      tq = mt == "-" ? "-" : sprintf("%.2fx", mt / mq)
      printf "%-8s %9.4f %9.4f %+7.2f %10d %10d %5.1f%% %9.1f %9.1f %9.1f %9.1f %6.2fx %9s %7s\n",
        n, af, aq, 100 * (aq - af), bf, bq, 100 * bq / bf, mf, mq, df, dq, mf / mq, mt, tq }'
done
echo "# diff: int8 minus float accuracy in points; int8%: its weights over the float file's; speed: float min over int8 min"
