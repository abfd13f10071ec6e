#!/bin/sh
# Training examples/mobilenet.cnn (depthwise-separable convolutions) on
# random data from bench/synth_data.py: 64 random 32x32 color images with
# random labels, batch 16, 3 epochs (12 Adam steps). Nothing generalizes
# from random labels, so what is checked is that the network fits them:
# the trainer builds; training runs (exit 0, a metrics line per epoch, a
# last line test_acc=...); every loss is finite; the training loss falls
# to less than half of the first epoch's (seed 1: 2.36 -> 0.51, training
# accuracy 0.13 -> 0.92); eval of the saved checkpoint prints the same test
# loss as the last epoch.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 8))' >/dev/null 2>&1; then
  echo "1..0 # SKIP no Python 3.8 or later"
  exit 0
fi
if [ -n "$SAN" ]; then
  echo "1..0 # SKIP under the sanitizers: minutes a build (tests/tap.sh, san_light)"
  exit 0
fi
plan 5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-mobilenet.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
skip_rest() { while [ "$tap_n" -lt 5 ]; do not_ok "skipped: $1"; done; exit 0; }

t0=$(date +%s)
if "$CNNCC" "$top_srcdir/examples/mobilenet.cnn" -o "$tmp/mobilenet" >"$tmp/build.log" 2>&1 &&
   "$CNNCC" --emit=pytorch "$top_srcdir/examples/mobilenet.cnn" -o "$tmp/mobilenet.py" >>"$tmp/build.log" 2>&1 &&
   "$PYTHON" "$top_srcdir/bench/synth_data.py" "$tmp/mobilenet.py" "$tmp/data" --train 64 --test 16 --seed 5 \
     >>"$tmp/build.log" 2>&1; then
  ok "the trainer and random data (64 + 16 images) ($(($(date +%s) - t0)) s)"
else
  not_ok "the trainer and random data"
  diag "$(tail -n 20 "$tmp/build.log")"
  skip_rest "no trainer"
fi

t0=$(date +%s)
"$tmp/mobilenet" train --data "$tmp/data" --epochs 3 --batch 16 --seed 1 --metrics "$tmp/metrics.json" \
  --save "$tmp/ckpt" >"$tmp/train.out" 2>"$tmp/train.err"
rc=$?
lines=0
[ -f "$tmp/metrics.json" ] && lines=$(wc -l <"$tmp/metrics.json")
last=$(tail -n 1 "$tmp/train.out")
if [ $rc -eq 0 ] && [ "$lines" -eq 3 ] && case $last in test_acc=*) true ;; *) false ;; esac; then
  ok "mobilenet train: $last ($(($(date +%s) - t0)) s)"
  diag "$(grep '^epoch [0-9]*/[0-9]*:' "$tmp/train.err")"
else
  not_ok "mobilenet train: exit $rc, $lines metrics lines, last line '$last'"
  diag "$(tail -n 20 "$tmp/train.err")"
  skip_rest "training failed"
fi

"$PYTHON" - "$tmp/metrics.json" >"$tmp/checks" 2>&1 <<'PY'
import json, math, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
losses = [e[k] for e in m for k in ("train_loss", "test_loss")]
print("%s|every loss is finite: %s" % ("ok" if all(math.isfinite(x) for x in losses) else "not ok", losses))
a, b = m[0]["train_loss"], m[-1]["train_loss"]
print("%s|train_loss falls to less than half: %.4f -> %.4f (train_acc %.3f -> %.3f)"
      % ("ok" if b < 0.5 * a else "not ok", a, b, m[0]["train_acc"], m[-1]["train_acc"]))
print("test_loss=%.6g" % m[-1]["test_loss"])
PY
while IFS= read -r line; do
  case $line in
    "ok|"*) ok "${line#ok|}" ;;
    "not ok|"*) not_ok "${line#not ok|}" ;;
    test_loss=*) want=${line#test_loss=} ;;
    *) diag "$line" ;;
  esac
done <"$tmp/checks"
"$tmp/mobilenet" eval --data "$tmp/data" --weights "$tmp/ckpt" >"$tmp/eval.out" 2>&1
got=$(sed -n 's/.*test_loss=\([^ ]*\).*/\1/p' "$tmp/eval.out" | tail -n 1)
check "eval of the checkpoint: test_loss $got, the last epoch's ${want:-?}" \
  "$PYTHON" -c 'import sys; g, w = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(g - w) > 1e-4 * max(1, abs(w)))' \
  "${got:-nan}" "${want:-0}"
exit 0
