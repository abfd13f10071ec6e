#!/bin/sh
# keep-best.sh - train --save-best and --patience (docs/training.md,
# "Keeping the best epoch"), with LeNet on the Fashion-MNIST sample and a
# learning rate high enough that the validation accuracy soon stops
# improving:
#
#   --patience 1 stops after the first epoch that is not better, status 0,
#   still ending with test_acc=...;
#   --save-best holds the best epoch's checkpoint: the same bytes as a run
#   stopped at that epoch;
#   the best epoch is in the checkpoint, so a run resumed in the middle
#   stops at the same epoch with the same files, and resuming a stopped run
#   trains nothing more;
#   without --val the test accuracy decides.
. "$top_srcdir/tests/tap.sh"
plan 8
use_tmp keep-best
OMP_NUM_THREADS=1
export OMP_NUM_THREADS
net=$tmp/lenet
build_net "$top_srcdir/examples/lenet.cnn" "$net"
# train LOG OPTION...: 8 epochs at most, --val 0.1 and --lr 0.01
train() {
  _log=$1
  shift
  "$net" train --data "$top_srcdir/data/fashion-mnist" --val 0.1 --lr 0.01 --epochs 8 "$@" \
    >"$_log" 2>&1
}

train "$tmp/a.log" --patience 1 --save-best "$tmp/best.ckpt" --save "$tmp/last.ckpt"
status=$?
stop=$(sed -n 's/.*stopping early after epoch \([0-9]*\): no better val_acc for 1 epoch (the best, \(.*\), was epoch \([0-9]*\))$/\1 \3/p' "$tmp/a.log")
last=${stop% *} best=${stop#* }
diag "stopped after epoch ${last:-?}, the best was epoch ${best:-?}"
# shellcheck disable=SC2317 # called through check
stopped() {
  [ "$status" = 0 ] && [ -n "$stop" ] && [ "$last" -lt 8 ] && [ $((last - best)) = 1 ] &&
    tail -n 1 "$tmp/a.log" | grep -q '^test_acc=0\.[0-9]*$'
}
check "--patience 1 stops early, status 0, the last line test_acc=..." stopped
check "it trained the epochs up to the stop, no more" \
  test "$(grep -c '^epoch [0-9]*/8: ' "$tmp/a.log")" = "$last"
train "$tmp/b.log" --epochs "${best:-1}" --save-best "$tmp/b.ckpt" --save "$tmp/at-best.ckpt"
check "--save-best: the checkpoint of the best epoch, as a run stopped there saves it" \
  cmp "$tmp/best.ckpt" "$tmp/at-best.ckpt"

# resumed in the middle: the same stop and the same files
train "$tmp/c1.log" --epochs 2 --patience 1 --save-best "$tmp/r-best.ckpt" --save "$tmp/r.ckpt"
train "$tmp/c2.log" --resume "$tmp/r.ckpt" --patience 1 --save-best "$tmp/r-best.ckpt" --save "$tmp/r.ckpt"
check "resumed after epoch 2: the same last checkpoint" cmp "$tmp/r.ckpt" "$tmp/last.ckpt"
check "... and the same best checkpoint" cmp "$tmp/r-best.ckpt" "$tmp/best.ckpt"
check "... stopping after the same epoch" grep -q "stopping early after epoch $last:" "$tmp/c2.log"
cp "$tmp/last.ckpt" "$tmp/again.ckpt"
train "$tmp/d.log" --resume "$tmp/again.ckpt" --patience 1 --save "$tmp/again.ckpt"
check "resuming a run that stopped early trains nothing more" \
  sh -c "! grep -q '^epoch ' '$tmp/d.log' && cmp '$tmp/again.ckpt' '$tmp/last.ckpt'"

"$net" train --data "$top_srcdir/data/fashion-mnist" --lr 0.01 --epochs 8 --patience 1 >"$tmp/e.log" 2>&1
check "without --val the test accuracy decides" grep -q "no better test_acc for 1 epoch" "$tmp/e.log"
exit 0
