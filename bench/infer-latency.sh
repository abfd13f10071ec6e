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
# bench/infer-time.c (CC, default cc, with CFLAGS, default -O2 -march=native)
# times one call of NET_predict; bench/infer-torch.py times the PyTorch
# mirror (cnncc --emit=pytorch) with PYTHON (default CNNCC_PYTHON, else
# /usr/bin/python3). INFER_SECONDS (default 2) is the measuring time of each.
# Prints a table in microseconds per sample; docs/inference.md has one.
set -e
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CNNCC=${CNNCC:-$top_builddir/cnncc}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -march=native}
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
printf '%-12s %12s %12s %9s\n' network cnncc_us pytorch_us speedup
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
  ours=$("$d/time" "$SECONDS_EACH" | awk '{print $2}')
  theirs=- speedup=-
  if [ -n "$torch" ]; then
    "$CNNCC" --emit=pytorch "$src" -o "$d/mirror.py"
    theirs=$("$PYTHON" "$top_srcdir/bench/infer-torch.py" "$d/mirror.py" "$SECONDS_EACH" | awk '{print $2}')
    speedup=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1fx", b / a }')
  fi
  printf '%-12s %12s %12s %9s\n' "$name" "$ours" "$theirs" "$speedup"
done
