#!/bin/sh
# ort-setup.sh - install ONNX Runtime for bench/infer-latency.sh: npm's
# onnxruntime-node, which carries its CPU library, at the version pinned in
# bench/package.json and bench/package-lock.json, into DIR/node_modules:
#
#     bench/ort-setup.sh [DIR]      (default: top_builddir/bench)
#
# `make bench-infer` calls it, and .ci/run for tests/onnx.sh (which runs the
# models of cnncc --emit=onnx in it; the build does not use ONNX Runtime).
# It does nothing when DIR already has that version.
# ONNXRUNTIME_NODE_INSTALL=skip keeps the package's postinstall from
# fetching GPU libraries. Needs node and npm, and the npm registry once.
set -e
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
dir=${1:-$top_builddir/bench}
for tool in node npm; do
  command -v $tool >/dev/null 2>&1 || { echo "ort-setup.sh: $tool not found; ONNX Runtime not installed" >&2; exit 1; }
done
want=$(sed -n 's/.*"onnxruntime-node": *"\([^"]*\)".*/\1/p' "$top_srcdir/bench/package.json")
have=$(NODE_PATH=$dir/node_modules node -p 'require("onnxruntime-node/package.json").version' 2>/dev/null || true)
if [ "$have" = "$want" ]; then
  exit 0
fi
mkdir -p "$dir"
if [ "$(cd "$dir" && pwd)" != "$(cd "$top_srcdir/bench" && pwd)" ]; then
  cp "$top_srcdir/bench/package.json" "$top_srcdir/bench/package-lock.json" "$dir/"
fi
echo "ort-setup.sh: installing onnxruntime-node $want into $dir/node_modules" >&2
(cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2)
