#!/bin/sh
# ONNX export (cnncc --emit=onnx, docs/interop.md) for every example and
# tests/torch-ops*.cnn (which cover the operators the examples do not):
#  - tests/infer-ref.c drives the training code: a few Adam steps (so that
#    the weights and batchnorm statistics are not the initial ones), a
#    checkpoint, and the evaluation-mode outputs NET_predict() of random
#    inputs;
#  - the model exported with --weights of that checkpoint passes
#    onnx.checker.check_model(full_check=True) (python3-onnx), and ONNX
#    Runtime (npm onnxruntime-node, tests/onnx-run.js) gives the training
#    code's outputs: |got - want| / max(1, |want|) <= 1e-5; so does the
#    model with --fold-batchnorm, which has no BatchNormalization left (in
#    these networks every batchnorm follows a convolution or dense layer);
#  - without --weights the initializers are the trainer's initialization
#    (a checkpoint of 0 steps from the train block's seed);
#  - a checkpoint of another network is refused with a message.
# A cnncc built without protobuf-c is checked to refuse --emit=onnx instead.
# ONNX Runtime is looked for in top_builddir/bench/node_modules, then in
# top_srcdir's (bench/ort-setup.sh installs it; .ci/run does).
. "$top_srcdir/tests/tap.sh"
CC=${CNNCC_CC:-cc}
SEED=5
TOL=1e-5
networks="examples/lenet examples/mlp examples/vgg examples/resnet examples/vgg-cifar examples/mobilenet examples/unet
examples/wavenet tests/torch-ops1d tests/torch-ops2d"
networks=$(san_light "$(printf '%s\n' $networks)")
[ -n "$SAN" ] && echo "$san_light_note"
# tests/onnx.sh NAME...: only those networks (e.g. torch-ops2d)
if [ $# -gt 0 ]; then
  only=" $* " selected=
  for w in $networks; do
    case $only in *" ${w##*/} "*) selected="$selected $w" ;; esac
  done
  networks=$selected
fi

# A cnncc built without protobuf-c says so (exit status 2, no model).
out=$("$CNNCC" --emit=onnx "$top_srcdir/examples/mlp.cnn" -o "${TMPDIR:-/tmp}/onnx-$$.onnx" 2>&1)
status=$?
if echo "$out" | grep -q 'without protobuf-c'; then
  plan 1
  check "built without protobuf-c: --emit=onnx exits with 2 and says so ($out)" \
    test $status -eq 2 -a ! -e "${TMPDIR:-/tmp}/onnx-$$.onnx"
  exit 0
fi
rm -f "${TMPDIR:-/tmp}/onnx-$$.onnx"

PYTHON=
for p in ${CNNCC_PYTHON:-} /usr/bin/python3 python3; do
  if "$p" -c 'import onnx, onnx.checker' >/dev/null 2>&1; then PYTHON=$p; break; fi
done
NODE_PATH=
for d in "$top_builddir/bench/node_modules" "$top_srcdir/bench/node_modules"; do
  [ -d "$d/onnxruntime-node" ] && NODE_PATH=$d && break
done
export NODE_PATH
if [ -z "$PYTHON" ]; then
  echo "1..0 # SKIP no python3 with the onnx module (Debian: python3-onnx)"
  exit 0
fi
if ! command -v node >/dev/null 2>&1 || [ -z "$NODE_PATH" ] ||
   ! node -e 'require("onnxruntime-node")' >/dev/null 2>&1; then
  echo "1..0 # SKIP no node with onnxruntime-node (bench/ort-setup.sh installs it)"
  exit 0
fi

set -- $networks
plan $(($# * 5 + 3))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/onnx.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
find_rtlib

# ref SRC DIR STEPS SEED: the training code of SRC.cnn, STEPS Adam steps from
# SEED's initialization: DIR/ckpt, DIR/x.f32 (4 random inputs), DIR/ref.f32
ref() {
  rs=$1 rd=$2
  net=$(sed -n 's/^network[ \t]*\([A-Za-z_0-9]*\).*/\1/p' "$top_srcdir/$rs.cnn" | head -n 1)
  mkdir -p "$rd"
  "$CNNCC" "$top_srcdir/$rs.cnn" -o "$rd/net.c" &&
    $CC -O2 $SAN -DCNNCC_NO_MAIN -DNET="$net" -DNETU="$(echo "$net" | tr 'a-z' 'A-Z')" -DHEADER='"net.h"' \
      -I"$rd" -I"$top_srcdir/runtime" -o "$rd/ref" "$top_srcdir/tests/infer-ref.c" "$rd/net.c" $rtlib -lz -lm &&
    "$rd/ref" "$rd" "$3" 4 "$4"
}

# check_model MODEL: onnx.checker with full_check (shape inference too);
# prints a sample's input shape
check_model() {
  "$PYTHON" -c '
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(" ".join(str(d.dim_value) for d in m.graph.input[0].type.tensor_type.shape.dim[1:]))
' "$1"
}

# no_batchnorm MODEL: MODEL has no BatchNormalization node
no_batchnorm() {
  "$PYTHON" -c '
import sys, onnx
ops = [n.op_type for n in onnx.load(sys.argv[1]).graph.node]
assert "BatchNormalization" not in ops, "%d BatchNormalization nodes left" % ops.count("BatchNormalization")
' "$1"
}

while [ $# -gt 0 ]; do
  src=$1
  shift
  name=${src##*/} d=$tmp/${src##*/}
  log=$d.log
  if ref "$src" "$d" 3 "$SEED" >"$log" 2>&1; then
    ok "$name: checkpoint and evaluation-mode outputs from the training code"
  else
    not_ok "$name: checkpoint and evaluation-mode outputs from the training code"
    diag "$(tail -n 20 "$log")"
  fi
  if "$CNNCC" --emit=onnx --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/net.onnx" >"$log" 2>&1; then
    ok "$name: cnncc --emit=onnx --weights"
  else
    not_ok "$name: cnncc --emit=onnx --weights"
    diag "$(tail -n 20 "$log")"
  fi
  if dims=$(check_model "$d/net.onnx" 2>"$log"); then
    ok "$name: onnx.checker.check_model(full_check=True) passes"
  else
    not_ok "$name: onnx.checker.check_model(full_check=True) passes"
    diag "$(tail -n 20 "$log")"
  fi
  for fold in "" --fold-batchnorm; do
    # shellcheck disable=SC2086
    if "$CNNCC" --emit=onnx $fold --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/run.onnx" >"$log" 2>&1 &&
       node "$top_srcdir/tests/onnx-run.js" "$d/run.onnx" "$d/x.f32" "$d/ref.f32" 4 $TOL $dims >>"$log" 2>&1 &&
       { [ -z "$fold" ] || no_batchnorm "$d/run.onnx" >>"$log" 2>&1; }; then
      ok "$name: ONNX Runtime${fold:+ ($fold)} computes the trainer's outputs: $(tail -n 1 "$log")"
    else
      not_ok "$name: ONNX Runtime${fold:+ ($fold)} computes the trainer's outputs"
      diag "$(tail -n 20 "$log")"
    fi
  done
done

# Without --weights: the initialization the trainer starts from, i.e. the
# initializers of a checkpoint saved after 0 steps from the train block's seed
# (read from the PyTorch mirror's TRAIN).
src=tests/torch-ops2d d=$tmp/init
seed=$("$CNNCC" --emit=pytorch -o - "$top_srcdir/$src.cnn" | sed -n 's/.*"seed": \([0-9]*\)}.*/\1/p')
if ref "$src" "$d" 0 "$seed" >"$d.log" 2>&1 &&
   "$CNNCC" --emit=onnx --weights "$d/ckpt" "$top_srcdir/$src.cnn" -o "$d/ckpt.onnx" >>"$d.log" 2>&1 &&
   "$CNNCC" --emit=onnx "$top_srcdir/$src.cnn" -o "$d/init.onnx" >>"$d.log" 2>&1 &&
   "$PYTHON" -c '
import sys, onnx, onnx.numpy_helper as nh
a, b = (onnx.load(p).graph.initializer for p in sys.argv[1:3])
assert [t.name for t in a] == [t.name for t in b], "names differ"
for s, t in zip(a, b):
    assert (nh.to_array(s) == nh.to_array(t)).all(), s.name + " differs"
print(len(a), "initializers equal")
' "$d/ckpt.onnx" "$d/init.onnx" >>"$d.log" 2>&1; then
  ok "without --weights: the trainer's initialization from seed $seed ($(tail -n 1 "$d.log"))"
else
  not_ok "without --weights: the trainer's initialization from seed $seed"
  diag "$(tail -n 20 "$d.log")"
fi

# Bad input: the checkpoint of another network
out=$("$CNNCC" --emit=onnx --weights "$tmp/lenet/ckpt" "$top_srcdir/examples/mlp.cnn" -o "$tmp/bad.onnx" 2>&1)
status=$?
if [ $status -ne 0 ] && [ ! -e "$tmp/bad.onnx" ] && echo "$out" | grep -q 'cnncc: .*ckpt'; then
  ok "another network's checkpoint: exit status $status, no model, '$out'"
else
  not_ok "another network's checkpoint: exit status $status, no model, a message"
  diag "$out"
fi
# --fold-batchnorm belongs to --emit=onnx
out=$("$CNNCC" --fold-batchnorm --emit=pytorch "$top_srcdir/examples/mlp.cnn" -o "$tmp/x.py" 2>&1)
status=$?
check "--fold-batchnorm without --emit=onnx: exit status 2 ($out)" test $status -eq 2
