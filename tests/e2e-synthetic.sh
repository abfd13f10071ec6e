# e2e-synthetic.sh - sourced by tests/e2e-wavenet.sh and tests/e2e-unet.sh:
# generate a small synthetic data set with data/make-synthetic.py into a
# temporary directory, build the trainer of an example with cnncc, train it
# for a few epochs with --metrics, and check that it learned. The caller sets
#   NET          example name (examples/NET.cnn)
#   KIND         data/make-synthetic.py data set (sines, masks)
#   GEN_ARGS     its options (sizes)
#   TRAIN_ARGS   options of `NET train` (epochs, batch, lr, seed)
#   EPOCHS       the number of epochs TRAIN_ARGS asks for
#   ACC_MIN      Python expression of the smallest acceptable test accuracy,
#                over the keys of the data's stats.json (majority, entropy, ...)
#   ACC_MIN_TXT  the same in words
# Checks (TAP, 6): the data; the trainer builds; training runs (exit 0, one
# metrics line per epoch, last line test_acc=...); the training loss falls
# (last epoch's train_loss < 0.8 x the first's); the last test_loss is below
# the entropy of the test labels, the smallest loss of any prediction that
# ignores the input; the last test accuracy is at least ACC_MIN.
. "$top_srcdir/tests/tap.sh"
# make-synthetic.py needs only the standard library: any Python 3
PYTHON=${CNNCC_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 8))' >/dev/null 2>&1; then
  echo "1..0 # SKIP no Python 3.8 or later"
  exit 0
fi
plan 6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$NET.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

skip_rest() { while [ "$tap_n" -lt 6 ]; do not_ok "skipped: $1"; done; exit 0; }

# shellcheck disable=SC2086
if "$PYTHON" "$top_srcdir/data/make-synthetic.py" "$KIND" "$tmp/data" $GEN_ARGS >"$tmp/gen.log" 2>&1; then
  ok "data/make-synthetic.py $KIND $GEN_ARGS"
  diag "$(cat "$tmp/data/stats.json")"
else
  not_ok "data/make-synthetic.py $KIND $GEN_ARGS"
  diag "$(tail -n 20 "$tmp/gen.log")"
  skip_rest "no data"
fi

t0=$(date +%s)
if "$CNNCC" "$top_srcdir/examples/$NET.cnn" -o "$tmp/$NET" >"$tmp/build.log" 2>&1; then
  ok "cnncc examples/$NET.cnn -o $NET ($(($(date +%s) - t0)) s)"
else
  not_ok "cnncc examples/$NET.cnn -o $NET"
  diag "$(tail -n 20 "$tmp/build.log")"
  skip_rest "no trainer"
fi

t0=$(date +%s)
# shellcheck disable=SC2086
"$tmp/$NET" train --data "$tmp/data" $TRAIN_ARGS --metrics "$tmp/metrics.json" \
  >"$tmp/train.out" 2>"$tmp/train.err"
rc=$?
lines=0
[ -f "$tmp/metrics.json" ] && lines=$(wc -l <"$tmp/metrics.json")
last=$(tail -n 1 "$tmp/train.out")
if [ $rc -eq 0 ] && [ "$lines" -eq "$EPOCHS" ] && case $last in test_acc=*) true ;; *) false ;; esac; then
  ok "$NET train $TRAIN_ARGS: $last ($(($(date +%s) - t0)) s)"
  diag "$(grep '^epoch [0-9]*/[0-9]*:' "$tmp/train.err")"
else
  not_ok "$NET train $TRAIN_ARGS: exit $rc, $lines metrics lines, last line '$last'"
  diag "$(tail -n 20 "$tmp/train.err")"
  skip_rest "training failed"
fi

# The checks, from the metrics and the data's statistics: "ok|..." lines.
"$PYTHON" - "$tmp/metrics.json" "$tmp/data/stats.json" "$ACC_MIN" "$ACC_MIN_TXT" >"$tmp/checks" 2>&1 <<'PY'
import json, sys
metrics = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
stats = json.load(open(sys.argv[2]))
first, last = metrics[0], metrics[-1]
def line(good, text):
    print("%s|%s" % ("ok" if good else "not ok", text))
line(last["train_loss"] < 0.8 * first["train_loss"],
     "train_loss falls: %.4f (epoch 1) -> %.4f (epoch %d), ratio %.3f < 0.8"
     % (first["train_loss"], last["train_loss"], last["epoch"], last["train_loss"] / first["train_loss"]))
line(last["test_loss"] < stats["entropy"],
     "test_loss %.4f < %.4f, the entropy of the test labels (no prediction that ignores the input does better)"
     % (last["test_loss"], stats["entropy"]))
acc_min = eval(sys.argv[3], {"max": max, "min": min}, dict(stats))
line(last["test_acc"] >= acc_min,
     "test_acc %.4f >= %.4f, %s (majority class %.4f)"
     % (last["test_acc"], acc_min, sys.argv[4], stats["majority"]))
PY
while IFS= read -r line; do
  case $line in
    "ok|"*) ok "${line#ok|}" ;;
    "not ok|"*) not_ok "${line#not ok|}" ;;
    *) diag "$line" ;;
  esac
done <"$tmp/checks"
while [ "$tap_n" -lt 6 ]; do not_ok "check did not run"; done
diag "$(($(date +%s) - start)) s in all"
exit 0
