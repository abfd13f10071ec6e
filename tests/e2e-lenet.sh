#!/bin/sh
# End-to-end training of examples/lenet.cnn with the recipe of its train
# block (Adam lr 1e-3, batch 64, 5 epochs) on the Fashion-MNIST sample
# (data/fashion-mnist: 6,000 training, 1,000 test images), against PyTorch
# training the mirror (cnncc --emit=pytorch) with the same recipe on the same
# files, from the SAME initial weights: tests/e2e-init.c, compiled with the
# generated C, calls lenet_init(seed) as `lenet train --seed S` does and
# writes the flat parameter block, which tests/e2e-torch.py loads with
# load_flat(). PyTorch trains in two ways:
#
#   own order    batches from torch.randperm (PyTorch's own shuffling);
#   cnncc order  batches in the order the trainer uses (rt_epoch_order,
#                written by tests/e2e-init.c too).
#
# Tolerances. The issue's target is a test accuracy within 1 point of
# PyTorch's. With its own shuffling PyTorch follows another trajectory and
# the final accuracy after 5 epochs on 6,000 images is noise-dominated:
# over seeds 1-8 the per-seed difference cnncc - PyTorch had mean +0.04 and
# standard deviation 1.25 points (means 77.41% and 77.38%), so one seed
# within 1 point would be a coin toss. With cnncc's order both sides take the
# same steps from the same weights and differ only by float rounding: over
# seeds 1-4 the differences were 0.0, -0.3, +0.2, +0.1 points. Hence:
#
#   - cnncc's order: the first epoch's training loss agrees within 0.5%
#     (it agreed to 4 digits: same weights, batches and loss), and the mean
#     test accuracy over the seeds is within 1 point (the issue's target;
#     about 6 standard deviations of a mean over 2 seeds);
#   - own order: the mean over the seeds (2: standard deviation 1.25/sqrt(2)
#     = 0.9 points) is within 2.5 points (about 3 standard deviations), or
#     within 1 point with --full (60,000 images, where seeds 1 and 2 gave
#     differences of +0.42 and -0.10 points).
#
# PyTorch runs single-threaded (E2E_TORCH_THREADS to change it), like the
# generated trainer: with 2 threads on a busy 2-core machine (make -j check)
# a step took 8 times as long.
#
#   tests/e2e-lenet.sh                  the sample, seeds 1 and 2 (40 s CPU)
#   tests/e2e-lenet.sh --full           /usr/share/datasets/fashion-mnist
#   tests/e2e-lenet.sh --seeds "1 2 3"  other seeds
. "$top_srcdir/tests/tap.sh"
data=$top_srcdir/data/fashion-mnist
seeds=${E2E_SEEDS:-1 2}
tolerance_own=2.5
while [ $# -gt 0 ]; do
  case $1 in
    --full) data=${E2E_FULL_DATA:-/usr/share/datasets/fashion-mnist} tolerance_own=1 ;;
    --seeds) seeds=$2; shift ;;
    --seeds=*) seeds=${1#--seeds=} ;;
    *) echo "usage: $0 [--full] [--seeds \"S...\"]" >&2; exit 2 ;;
  esac
  shift
done
need_torch
if [ ! -d "$data" ]; then
  echo "1..0 # SKIP no data in $data"
  exit 0
fi
EPOCHS=5 BATCH=64 LR=0.001 # examples/lenet.cnn's train block, passed to both
THREADS=${E2E_TORCH_THREADS:-1}
CC=${CNNCC_CC:-cc}
plan 6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-lenet.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
find_rtlib
start=$(date +%s)

# 1. the trainer, the generated C with the init driver, the mirror
log=$tmp/build.log
# shellcheck disable=SC2086
if "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet" >"$log" 2>&1 &&
   "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet.c" >>"$log" 2>&1 &&
   "$CNNCC" --emit=pytorch "$top_srcdir/examples/lenet.cnn" -o "$tmp/mirror.py" >>"$log" 2>&1 &&
   $CC -std=c99 -O2 $SAN -DCNNCC_NO_MAIN -DNET=lenet -DHEADER='"lenet.h"' \
     -DNPARAMS=LENET_NPARAMS -DNBUFFERS=LENET_NBUFFERS -I"$tmp" -I"$top_srcdir/runtime" \
     -o "$tmp/init" "$top_srcdir/tests/e2e-init.c" "$tmp/lenet.c" $rtlib -lz -lm >>"$log" 2>&1; then
  ok "lenet: trainer, generated C with tests/e2e-init.c, PyTorch mirror"
else
  not_ok "lenet: trainer, generated C with tests/e2e-init.c, PyTorch mirror"
  diag "$(tail -n 30 "$log")"
  i=1
  while [ $i -lt 6 ]; do not_ok "skipped: nothing built"; i=$((i + 1)); done
  exit 0
fi

# the number of training images, for the sample orders
ntrain=$("$PYTHON" -c '
import gzip, os, struct, sys
for name, op in (("train-images-idx3-ubyte", open), ("train-images-idx3-ubyte.gz", gzip.open)):
    path = os.path.join(sys.argv[1], name)
    if os.path.exists(path):
        with op(path, "rb") as f:
            print(struct.unpack(">4xI", f.read(8))[0])
        break' "$data")

# field KEY FIRST|LAST FILE: a value from a --metrics file
field() {
  "$PYTHON" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
print(lines[0 if sys.argv[2] == "first" else -1][sys.argv[1]])' "$1" "$2" "$3" 2>/dev/null
}

# accs FILE: the test accuracy after each epoch
accs() {
  "$PYTHON" -c '
import json, sys
print(" ".join("%.4f" % json.loads(l)["test_acc"] for l in open(sys.argv[1]) if l.strip()))' "$1" 2>/dev/null
}

# 2. cnncc and PyTorch (both orders) for each seed, the three runs of a
# seed at the same time (each is single-threaded)
fail_c='' fail_own='' fail_ord='' acc_c='' acc_own='' acc_ord='' loss_pairs=''
: >"$tmp/diag"
for s in $seeds; do
  d=$tmp/seed$s
  mkdir -p "$d"
  if ! "$tmp/init" "$s" "$d/params.f32" "$d/buffers.f32" "$ntrain" "$EPOCHS" "$d/order.i32" >"$d/init.log" 2>&1; then
    fail_c="$fail_c $s" fail_own="$fail_own $s" fail_ord="$fail_ord $s"
    diag "e2e-init seed $s:" "$(cat "$d/init.log")" >>"$tmp/diag"
    continue
  fi
  ( "$tmp/lenet" train --data "$data" --epochs $EPOCHS --batch $BATCH --lr $LR --seed "$s" \
      --metrics "$d/cnncc.json" >"$d/cnncc.out" 2>"$d/cnncc.err"
    echo $? >"$d/cnncc.rc" ) &
  for mode in own ord; do
    order=
    [ $mode = ord ] && order="--order $d/order.i32"
    # shellcheck disable=SC2086
    ( "$PYTHON" "$top_srcdir/tests/e2e-torch.py" "$tmp/mirror.py" --data "$data" \
        --params "$d/params.f32" --buffers "$d/buffers.f32" --epochs $EPOCHS --batch $BATCH \
        --lr $LR --seed "$s" --threads "$THREADS" $order --metrics "$d/torch-$mode.json" \
        >"$d/torch-$mode.out" 2>&1
      echo $? >"$d/torch-$mode.rc" ) &
  done
  wait
  for run in cnncc torch-own torch-ord; do
    case $run in cnncc) v=c ;; torch-own) v=own ;; *) v=ord ;; esac
    if [ "$(cat "$d/$run.rc")" = 0 ] && [ -f "$d/$run.json" ] &&
       [ "$(wc -l <"$d/$run.json")" -eq $EPOCHS ]; then
      # shellcheck disable=SC2034 # used by eval
      a=$(printf '%.4f' "$(field test_acc last "$d/$run.json")")
      eval "acc_$v=\"\$acc_$v \$a\""
    else
      eval "fail_$v=\"\$fail_$v \$s\""
      if [ $run = cnncc ]; then
        diag "lenet train --seed $s: exit $(cat "$d/$run.rc")" "$(tail -n 5 "$d/cnncc.err")" >>"$tmp/diag"
      else
        diag "e2e-torch.py --seed $s (${run#torch-}): exit $(cat "$d/$run.rc")" "$(tail -n 5 "$d/$run.out")" >>"$tmp/diag"
      fi
    fi
  done
  if [ -s "$d/cnncc.json" ] && [ -s "$d/torch-ord.json" ]; then
    loss_pairs="$loss_pairs $(field train_loss first "$d/cnncc.json"):$(field train_loss first "$d/torch-ord.json")"
  fi
  diag "seed $s, test_acc after each epoch:" \
    "  cnncc:                $(accs "$d/cnncc.json")" \
    "  PyTorch, own order:   $(accs "$d/torch-own.json")" \
    "  PyTorch, cnncc order: $(accs "$d/torch-ord.json")" >>"$tmp/diag"
done

# mean of a list of accuracies, in percent
mean() { "$PYTHON" -c 'import sys; v = [float(a) for a in sys.argv[1:]]; print("%.2f" % (100 * sum(v) / len(v)))' "$@"; }
# within A B TOL: |A - B| <= TOL
within() { "$PYTHON" -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t + 1e-9)' "$@"; }

# shellcheck disable=SC2086 # split on purpose, here and below
seeds_txt=$(printf '%s ' $seeds) seeds_txt=${seeds_txt% }
if [ -z "$fail_c" ]; then
  ok "cnncc trains LeNet (seeds $seeds_txt): test_acc$acc_c"
else
  not_ok "cnncc trains LeNet: failed for seeds$fail_c"
fi
if [ -z "$fail_own$fail_ord" ]; then
  ok "PyTorch trains the mirror from cnncc's initial weights: test_acc$acc_own (own order),$acc_ord (cnncc's order)"
else
  not_ok "PyTorch trains the mirror: failed for seeds$fail_own (own order)$fail_ord (cnncc's order)"
fi
cat "$tmp/diag"

# 4. same weights and batches: the first epoch's loss is the same
bad='' txt=''
for p in $loss_pairs; do
  c=${p%%:*} t=${p#*:}
  txt="$txt $(printf '%.5f/%.5f' "$c" "$t")"
  "$PYTHON" -c 'import sys; c, t = map(float, sys.argv[1:]); sys.exit(abs(c - t) > 0.005 * abs(t))' "$c" "$t" || bad=1
done
if [ -n "$loss_pairs" ] && [ -z "$bad" ] && [ -z "$fail_c$fail_ord" ]; then
  ok "same init, cnncc's order: first epoch's train_loss cnncc/PyTorch$txt (within 0.5%)"
else
  not_ok "same init, cnncc's order: first epoch's train_loss cnncc/PyTorch$txt (within 0.5%)"
fi

# 5 and 6: the test accuracies
if [ -z "$fail_c$fail_ord" ]; then
  # shellcheck disable=SC2086
  mc=$(mean $acc_c) mo=$(mean $acc_ord)
  if within "$mc" "$mo" 1; then
    ok "same init, cnncc's order: test accuracy cnncc $mc% vs PyTorch $mo% (mean over seeds $seeds_txt), within 1 point"
  else
    not_ok "same init, cnncc's order: test accuracy cnncc $mc% vs PyTorch $mo% (mean over seeds $seeds_txt), within 1 point"
  fi
else
  not_ok "same init, cnncc's order: test accuracies missing"
fi
if [ -z "$fail_c$fail_own" ]; then
  # shellcheck disable=SC2086
  mc=$(mean $acc_c) mo=$(mean $acc_own) points=points
  [ "$tolerance_own" = 1 ] && points=point
  if within "$mc" "$mo" $tolerance_own; then
    ok "same init, PyTorch's own order: test accuracy cnncc $mc% vs PyTorch $mo% (mean over seeds $seeds_txt), within $tolerance_own $points"
  else
    not_ok "same init, PyTorch's own order: test accuracy cnncc $mc% vs PyTorch $mo% (mean over seeds $seeds_txt), within $tolerance_own $points"
  fi
else
  not_ok "same init, PyTorch's own order: test accuracies missing"
fi
diag "data: $data ($ntrain training images), $EPOCHS epochs, batch $BATCH, lr $LR; $(($(date +%s) - start)) s"
exit 0
