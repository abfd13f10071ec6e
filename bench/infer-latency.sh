#!/bin/sh
# infer-latency.sh - batch-1 latency of the standalone inference code of
# cnncc (--emit=inference) next to PyTorch's (evaluation mode, no_grad, one
# thread), measured in the same run, network by network:
#
#     bench/infer-latency.sh [NETWORK...]      (default: every example)
#
# from the source tree, after `make` (or set CNNCC, top_builddir). For each
# network: the training code makes a checkpoint at initialization
# (tests/infer-ref.c), cnncc --emit=inference compiles it in, and
# bench/infer-time.c (CC, default cc, with CFLAGS, default -O3 -march=native)
# times one call of NET_predict; bench/infer-torch.py times the PyTorch
# mirror (cnncc --emit=pytorch) with PYTHON (default CNNCC_PYTHON, else
# /usr/bin/python3). Both time every call for INFER_SECONDS (default 2) after
# a warm-up. Prints a table: the fastest and the median call in microseconds
# and PyTorch's time over ours for each; docs/inference.md has one.
set -e
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CNNCC=${CNNCC:-$top_builddir/cnncc}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O3 -march=native}
PYTHON=${PYTHON:-${CNNCC_PYTHON:-/usr/bin/python3}}
SECONDS_EACH=${INFER_SECONDS:-2}
rtlib=$top_builddir/runtime/libcnnrt.a
[ $# -gt 0 ] || set -- lenet mlp vgg resnet vgg-cifar unet wavenet
torch=yes
"$PYTHON" -c 'import torch' >/dev/null 2>&1 || torch=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/infer-latency.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export OMP_NUM_THREADS MKL_NUM_THREADS
echo "# $(uname -m), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $($CC --version | head -n 1), $CFLAGS"
[ -n "$torch" ] && echo "# PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)'), 1 thread, eval(), no_grad()"
printf '%-10s %11s %11s %8s %11s %11s %8s\n' network cnncc_min torch_min speedup \
  cnncc_med torch_med speedup
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
  "$d/ref" "$d" 0 1 1
  "$CNNCC" --emit=inference --weights "$d/ckpt" "$src" -o "$d/infer.c"
  # shellcheck disable=SC2086
  $CC $CFLAGS -DINFER='"infer.c"' -I"$d" -o "$d/time" "$top_srcdir/bench/infer-time.c" -lm
  set -- $("$d/time" "$SECONDS_EACH")
  ours=$2 ours_med=$3
  theirs=- theirs_med=- speedup=- speedup_med=-
  if [ -n "$torch" ]; then
    "$CNNCC" --emit=pytorch "$src" -o "$d/mirror.py"
    set -- $("$PYTHON" "$top_srcdir/bench/infer-torch.py" "$d/mirror.py" "$SECONDS_EACH")
    theirs=$2 theirs_med=$3
    speedup=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1fx", b / a }')
    speedup_med=$(awk -v a="$ours_med" -v b="$theirs_med" 'BEGIN { printf "%.1fx", b / a }')
  fi
  printf '%-10s %11s %11s %8s %11s %11s %8s\n' "$name" "$ours" "$theirs" "$speedup" \
    "$ours_med" "$theirs_med" "$speedup_med"
done
