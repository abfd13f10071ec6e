#!/bin/sh
# infer-latency.sh - batch-1 latency of the standalone inference code of
# cnncc (--emit=inference) next to PyTorch's (evaluation mode, no_grad, one
# thread) and ONNX Runtime's (one thread), measured in the same run, network
# by network, then the throughput of batches of INFER_BATCH (default 64):
#
#     bench/infer-latency.sh [NETWORK...]      (default: every example)
#
# from the source tree, after `make` (or set CNNCC, top_builddir); `make
# bench-infer` runs it after bench/ort-setup.sh. For each network: the
# training code makes a checkpoint at initialization (tests/infer-ref.c),
# cnncc --emit=inference compiles it in, and bench/infer-time.c (CC, default
# cc, with CFLAGS, default -O3 -march=native) times one call of NET_predict;
# bench/infer-torch.py times the PyTorch mirror (cnncc --emit=pytorch) with
# PYTHON (default CNNCC_PYTHON, else /usr/bin/python3); bench/ort-export.py
# loads the checkpoint into the mirror, checks it against the C, and exports
# it to ONNX, which bench/ort-time.js times in ONNX Runtime (npm
# onnxruntime-node in ORT_DIR/node_modules, default top_builddir/bench, as
# bench/ort-setup.sh installs it; skipped with a note without it or node).
# All time every call for INFER_SECONDS (default 2) after a warm-up. Prints
# a table: the fastest and the median call in microseconds and the others'
# time over ours. Then, per network, images/s of a batch (the batch size
# over the median call): cnncc's is cnn_predict_batch, the batch-1 code run
# sample after sample on one thread; PyTorch's and ONNX Runtime's one
# batched call with 1 and 2 threads; the ratios are ours over theirs, on one
# thread. Last, the GFLOP/s of the fastest batch-1 calls (the forward
# FLOPs of cnncc --summary over the time) as a share of one core's FMA
# peak, which bench/peak.c (PEAK: a built one, else built here with CC)
# measures in the same run. docs/inference.md has an output.
set -e
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CNNCC=${CNNCC:-$top_builddir/cnncc}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O3 -march=native}
PYTHON=${PYTHON:-${CNNCC_PYTHON:-/usr/bin/python3}}
SECONDS_EACH=${INFER_SECONDS:-2}
BATCH=${INFER_BATCH:-64}
ORT_DIR=${ORT_DIR:-$top_builddir/bench}
rtlib=$top_builddir/runtime/libcnnrt.a
[ $# -gt 0 ] || set -- lenet mlp vgg resnet vgg-cifar unet wavenet
torch=yes
"$PYTHON" -c 'import torch' >/dev/null 2>&1 || torch=
ort_version=$(NODE_PATH=$ORT_DIR/node_modules node -p 'require("onnxruntime-node").env.versions.node' 2>/dev/null) || ort_version=
[ -n "$torch" ] || ort_version=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/infer-latency.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export OMP_NUM_THREADS MKL_NUM_THREADS
if [ -z "${PEAK:-}" ]; then
  PEAK=$tmp/peak-probe
  $CC -O3 -march=native -pthread -o "$PEAK" "$top_srcdir/bench/peak.c"
fi
r=$("$PEAK" 1); peak1=$(echo "$r" | sed -n 's/^peak_gflops_1t=//p')

# ratio A B: B / A as "1.5x", or "-" when either is missing
ratio() {
  case "$1$2" in *-*) echo - ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }' ;; esac
}
# gflops FLOPS MICROSECONDS: GFLOP/s and % of one core's peak, or "- -"
gflops() {
  case "$2" in -) echo "- -" ;; *) awk -v f="$1" -v t="$2" -v p="$peak1" \
    'BEGIN { g = f / t / 1e3; printf "%.1f %.0f%%", g, 100 * g / p }' ;; esac
}
# images/s of a batch from the median call in microseconds (or "-")
per_second() {
  case "$1" in -) echo - ;; *) awk -v t="$1" -v n="$BATCH" 'BEGIN { printf "%.0f", n * 1e6 / t }' ;; esac
}
# time_torch MIRROR BATCH THREADS: "NAME MIN MEDIAN" from bench/infer-torch.py
time_torch() {
  "$PYTHON" "$top_srcdir/bench/infer-torch.py" "$1" "$SECONDS_EACH" "$2" "$3"
}
# ort [OPTIONS...] MODEL SECONDS: "MIN MEDIAN" from bench/ort-time.js
ort() {
  NODE_PATH=$ORT_DIR/node_modules node "$top_srcdir/bench/ort-time.js" "$@"
}

echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $($CC --version | head -n 1), $CFLAGS"
if [ -n "$torch" ]; then
  echo "# PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)'), eval(), no_grad(), 1 thread"
else
  echo "# PyTorch: skipped ($PYTHON cannot import torch)"
fi
if [ -n "$ort_version" ]; then
  echo "# ONNX Runtime $ort_version (onnxruntime-node, Node $(node --version)), 1 thread, graph optimization 'all'"
elif [ -z "$torch" ]; then
  echo "# ONNX Runtime: skipped (its model is exported from the PyTorch mirror)"
else
  echo "# ONNX Runtime: skipped (no node, or no onnxruntime-node in $ORT_DIR/node_modules: bench/ort-setup.sh installs it)"
fi
echo "# batch 1: microseconds per call, fastest (min) and median (med); x: their time over ours"
printf '%-10s %10s %10s %7s %10s %7s %10s %10s %7s %10s %7s\n' network cnncc_min torch_min x \
  ort_min x cnncc_med torch_med x ort_med x
# shellcheck disable=SC2086 # CFLAGS and the results ($r) split on purpose
for name in "$@"; do
  src=$top_srcdir/examples/$name.cnn
  [ -f "$src" ] || src=$name
  name=$(basename "$src" .cnn)
  net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$src" | head -n 1)
  d=$tmp/$name
  mkdir -p "$d"
  "$CNNCC" "$src" -o "$d/net.c"
  $CC -O2 -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$(echo "$net" | tr a-z A-Z)" -DHEADER='"net.h"' \
    -I"$d" -I"$top_srcdir/runtime" -o "$d/ref" "$top_srcdir/tests/infer-ref.c" "$d/net.c" "$rtlib" -lz -lm
  "$d/ref" "$d" 0 2 1
  "$CNNCC" --emit=inference --weights "$d/ckpt" "$src" -o "$d/infer.c"
  $CC $CFLAGS -DINFER='"infer.c"' -I"$d" -o "$d/time" "$top_srcdir/bench/infer-time.c" -lm
  # (each result is assigned before `set --` takes it apart, so that a
  # failing command stops the script)
  r=$("$d/time" "$SECONDS_EACH"); set -- $r; ours=$2 ours_med=$3
  r=$("$d/time" "$SECONDS_EACH" "$BATCH"); set -- $r; ours_b=$3
  torch1=- torch1_med=- ort1=- ort1_med=- torch_b1=- torch_b2=- ort_b1=- ort_b2=-
  if [ -n "$torch" ]; then
    "$CNNCC" --emit=pytorch "$src" -o "$d/mirror.py"
    r=$(time_torch "$d/mirror.py" 1 1); set -- $r; torch1=$2 torch1_med=$3
    r=$(time_torch "$d/mirror.py" "$BATCH" 1); set -- $r; torch_b1=$3
    r=$(time_torch "$d/mirror.py" "$BATCH" 2); set -- $r; torch_b2=$3
  fi
  if [ -n "$ort_version" ]; then
    "$PYTHON" "$top_srcdir/bench/ort-export.py" "$d/mirror.py" "$d/ckpt" "$d/x.f32" "$d/ref.f32" "$d"
    r=$(ort --check "$d/check-in.f32" "$d/check-out.f32" "$d/model.onnx" "$SECONDS_EACH")
    set -- $r; ort1=$1 ort1_med=$2
    r=$(ort --batch "$BATCH" --threads 1 "$d/model.onnx" "$SECONDS_EACH"); set -- $r; ort_b1=$2
    r=$(ort --batch "$BATCH" --threads 2 "$d/model.onnx" "$SECONDS_EACH"); set -- $r; ort_b2=$2
  fi
  printf '%-10s %10s %10s %7s %10s %7s %10s %10s %7s %10s %7s\n' "$name" "$ours" \
    "$torch1" "$(ratio "$ours" "$torch1")" "$ort1" "$(ratio "$ours" "$ort1")" "$ours_med" \
    "$torch1_med" "$(ratio "$ours_med" "$torch1_med")" "$ort1_med" "$(ratio "$ours_med" "$ort1_med")"
  printf '%-10s %10s %10s %10s %10s %10s %7s %7s\n' "$name" "$(per_second "$ours_b")" \
    "$(per_second "$torch_b1")" "$(per_second "$torch_b2")" "$(per_second "$ort_b1")" \
    "$(per_second "$ort_b2")" "$(ratio "$ours_b" "$torch_b1")" "$(ratio "$ours_b" "$ort_b1")" >>"$tmp/batch"
  flops=$("$CNNCC" --summary "$src" | sed -n 's/^Forward FLOPs per sample: //p' | tr -d ,)
  printf '%-10s %10.2f %10s %6s %10s %6s\n' "$name" "$(awk -v f="$flops" 'BEGIN { print f / 1e6 }')" \
    $(gflops "$flops" "$ours") $(gflops "$flops" "$ort1") >>"$tmp/peak.txt"
done
echo "# batch $BATCH: images/s (batch over the median call); cnncc: cnn_predict_batch, one sample after another;"
echo "# x: ours over theirs, 1 thread each"
printf '%-10s %10s %10s %10s %10s %10s %7s %7s\n' network cnncc_1t torch_1t torch_2t ort_1t ort_2t \
  x_torch x_ort
cat "$tmp/batch"
echo "# batch 1, fastest call: GFLOP/s (forward FLOPs of cnncc --summary over the time) and % of one"
echo "# core's FMA peak, $peak1 GFLOP/s (bench/peak.c, this run)"
printf '%-10s %10s %10s %6s %10s %6s\n' network MFLOP cnncc %peak ort %peak
cat "$tmp/peak.txt"
