#!/bin/sh
# make-pictures.sh SRCDIR OUTDIR [--curves]: the pictures of docs/images/
# (`make pictures` writes them there; tests/pictures.sh writes them into a
# temporary OUTDIR and compares): lenet and resnet as Graphviz (NET.dot,
# from cnncc --emit=dot) and SVG (NET.svg, from dot -Tsvg); with --curves
# also lenet-curves.svg, the --plot of LeNet trained for 5 epochs on the
# Fashion-MNIST sample in SRCDIR/data (seconds; the numbers depend on the
# CPU's rounding, so no test compares it). CNNCC names cnncc (default
# ./cnncc).
set -e
srcdir=$1 out=$2 curves=$3
CNNCC=${CNNCC:-./cnncc}
mkdir -p "$out"
for net in lenet resnet; do
  "$CNNCC" --emit=dot "$srcdir/examples/$net.cnn" -o "$out/$net.dot"
  dot -Tsvg "$out/$net.dot" -o "$out/$net.svg"
done
if [ "$curves" = --curves ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictures.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  "$CNNCC" "$srcdir/examples/lenet.cnn" -o "$tmp/lenet"
  "$tmp/lenet" train --epochs 5 --data "$srcdir/data/fashion-mnist" --threads 1 \
    --plot "$out/lenet-curves.svg"
fi
