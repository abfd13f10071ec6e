#!/bin/sh
# augment.sh - train --augment (docs/training.md, "Augmenting images"):
# LeNet on the Fashion-MNIST sample with crop=2,flip trains to the same
# bits with 1 and 2 threads and when resumed, differently from a run
# without it; the train block's augment { } is the same as the option;
# bad specs and networks without image input are refused.
# The transform itself is checked in runtime/tests/data.c.
. "$top_srcdir/tests/tap.sh"
plan 8
use_tmp augment
OMP_NUM_THREADS=1
export OMP_NUM_THREADS
build_net "$top_srcdir/examples/lenet.cnn" "$tmp/lenet"
# train CKPT OPTION...: on the sample, --augment crop=2,flip
train() {
  _ckpt=$1
  shift
  "$tmp/lenet" train --data "$top_srcdir/data/fashion-mnist" --augment crop=2,flip \
    --save "$_ckpt" "$@" >"$_ckpt.log" 2>&1
}
train "$tmp/a.ckpt" --epochs 2
train "$tmp/b.ckpt" --epochs 2 --threads 2
check "augmented: the same checkpoint with 2 threads" cmp "$tmp/a.ckpt" "$tmp/b.ckpt"
train "$tmp/c.ckpt" --epochs 1
train "$tmp/c.ckpt" --epochs 2 --resume "$tmp/c.ckpt"
check "augmented: resumed after epoch 1, the same checkpoint" cmp "$tmp/a.ckpt" "$tmp/c.ckpt"
"$tmp/lenet" train --data "$top_srcdir/data/fashion-mnist" --epochs 2 --save "$tmp/plain.ckpt" \
  >/dev/null 2>&1
check "augmented training differs from plain training" \
  sh -c "! cmp -s '$tmp/a.ckpt' '$tmp/plain.ckpt'"
check "and still learns: test_acc above 0.6" \
  sh -c "tail -n 1 '$tmp/a.ckpt.log' | awk -F= '\$1 == \"test_acc\" && \$2 > 0.6 { ok = 1 } END { exit !ok }'"

# the train block's augment { crop = 2, flip = true }: the trainer's default
sed 's/^  epochs = 5$/  epochs = 5\n  augment { crop = 2, flip = true }/' "$top_srcdir/examples/lenet.cnn" \
  >"$tmp/lenet-aug.cnn"
build_net "$tmp/lenet-aug.cnn" "$tmp/lenet-aug"
"$tmp/lenet-aug" train --data "$top_srcdir/data/fashion-mnist" --epochs 2 --save "$tmp/block.ckpt" \
  >/dev/null 2>&1
check "train { augment { crop = 2, flip = true } }: the run of --augment crop=2,flip" \
  cmp "$tmp/a.ckpt" "$tmp/block.ckpt"
"$tmp/lenet-aug" train --data "$top_srcdir/data/fashion-mnist" --epochs 2 --augment none \
  --save "$tmp/none.ckpt" >/dev/null 2>&1
check "--augment none turns the block's off: the plain run" cmp "$tmp/plain.ckpt" "$tmp/none.ckpt"

"$tmp/lenet" train --augment rotate=10 >"$tmp/out" 2>&1
status=$?
check "a spec it does not know: status 2 and the expected form" \
  sh -c "[ $status = 2 ] && grep -qxF \"lenet: --augment expects crop=N and/or flip, comma-separated (e.g. crop=4,flip), got 'rotate=10'\" '$tmp/out'"
printf 'network tiny\ninput x[3]\nlogits = x -> dense(2)\nloss softmax_cross_entropy(logits)\n' \
  >"$tmp/tiny.cnn"
"$CNNCC" "$tmp/tiny.cnn" -o "$tmp/tiny" >/dev/null 2>&1
"$tmp/tiny" train --augment flip >"$tmp/out" 2>&1
status=$?
check "a network without image input: status 2" \
  sh -c "[ $status = 2 ] && grep -qxF 'tiny: augment crops and flips images [C, H, W], but the network'\"'\"'s input is [3]' '$tmp/out'"
exit 0
