#!/bin/sh
# plot.sh - pictures of training: a trainer's --plot and cnncc-plot draw
# the loss and accuracy per epoch as an SVG that a real renderer
# (rsvg-convert) turns into a PNG of the stated size without a complaint,
# with a point per epoch and series; the two give the same bytes for the
# same numbers; a resumed run's picture has every epoch; bad input fails
# with a message.
. "$top_srcdir/tests/tap.sh"
if ! command -v rsvg-convert >/dev/null 2>&1; then
  echo "1..0 # SKIP no rsvg-convert (Debian: librsvg2-bin)"
  exit 0
fi
PLOT=${CNNCC_PLOT:-$top_builddir/cnncc-plot}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
plan 15

# renders SVG: rsvg-convert makes a 760x330 PNG of it and says nothing
renders() {
  rsvg-convert "$1" -o "$1.png" 2>"$tmp/rsvg.err" && [ ! -s "$tmp/rsvg.err" ] || return 1
  # the PNG's IHDR: width and height, big-endian, at bytes 16-23
  [ "$(od -An -tu1 -j16 -N8 "$1.png" | tr -s ' ' | sed 's/^ //')" = "0 0 2 248 0 0 1 74" ]
}
# points SVG N: each of the 4 lines (loss and accuracy, train and test)
# goes through N points
points() {
  _got=$(grep '<polyline' "$1" | sed 's/.*points="\([^"]*\)".*/\1/' | awk '{ print NF }' | sort -u)
  [ "$_got" = "$2" ] && [ "$(grep -c '<polyline' "$1")" = 4 ]
}

# cnncc-plot on metrics as a trainer writes them, with a run resumed from
# epoch 2 that redid epoch 3: the later epoch 3 counts.
cat >"$tmp/run.jsonl" <<'EOF'
{"epoch":1,"train_loss":1.3,"train_acc":0.51,"test_loss":0.88,"test_acc":0.63,"images_per_s":8046.6,"seconds":0.79}
{"epoch":2,"train_loss":0.78,"train_acc":0.71,"test_loss":0.71,"test_acc":0.74,"images_per_s":12348.8,"seconds":0.52}
{"epoch":3,"train_loss":0.9,"train_acc":0.6,"test_loss":0.9,"test_acc":0.6,"images_per_s":6884.85,"seconds":0.94}
{"epoch":3,"train_loss":0.67,"train_acc":0.75,"test_loss":0.69,"test_acc":0.74,"images_per_s":6884.85,"seconds":0.94}
{"epoch":4,"train_loss":0.63,"train_acc":0.77,"test_loss":0.66,"test_acc":0.74,"images_per_s":7636.86,"seconds":0.83}
EOF
check "cnncc-plot METRICS -o FILE" "$PLOT" "$tmp/run.jsonl" -o "$tmp/run.svg"
check "its SVG renders with rsvg-convert into a 760x330 PNG" renders "$tmp/run.svg"
check "four epochs, the repeated one once: 4 points per line" points "$tmp/run.svg" 4
check "two panels and a legend: Loss, Accuracy, epoch, train, test" \
  sh -c "for t in '>Loss<' '>Accuracy<' '>epoch<' '>accuracy (%)<' '>train<' '>test<'; do grep -qF \"\$t\" '$tmp/run.svg' || exit 1; done"
check "the accuracy in percent, ticks from 50 to 80" \
  sh -c "grep -q '>50</text>' '$tmp/run.svg' && grep -q '>80</text>' '$tmp/run.svg'"
check "the title from the file name: 'run: loss and accuracy per epoch'" \
  grep -qF '>run: loss and accuracy per epoch<' "$tmp/run.svg"
"$PLOT" --title 'A & <B>' - <"$tmp/run.jsonl" >"$tmp/stdin.svg"
check "from standard input to standard output, the title escaped" \
  sh -c "grep -qF '>A &amp; &lt;B&gt;<' '$tmp/stdin.svg' && rsvg-convert '$tmp/stdin.svg' >/dev/null"

# Bad input: a message and exit 1 (exit 2 for the command line).
printf '{"epoch":1,"train_loss":1}\n' >"$tmp/short.jsonl"
"$PLOT" "$tmp/short.jsonl" >/dev/null 2>"$tmp/err"
check "a line without the accuracies: exit 1 naming the line" \
  sh -c "[ $? = 1 ] && grep -qF '$tmp/short.jsonl:1: not a metrics line' '$tmp/err'"
: >"$tmp/empty.jsonl"
"$PLOT" "$tmp/empty.jsonl" >/dev/null 2>"$tmp/err"
check "no epochs: exit 1" sh -c "[ $? = 1 ] && grep -qF 'has no epochs' '$tmp/err'"
"$PLOT" >/dev/null 2>&1
check "no operand: exit 2" [ $? = 2 ]

# A trainer's --plot: drawn after each epoch; the same picture as
# cnncc-plot's of its --metrics; a resumed run's has every epoch.
D=$top_srcdir/data/fashion-mnist
if "$CNNCC" --target=generic "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet" 2>"$tmp/err" &&
   "$tmp/lenet" train --data "$D" --epochs 2 --save "$tmp/l.ckpt" --metrics "$tmp/l.jsonl" \
     --plot "$tmp/l.svg" >/dev/null 2>"$tmp/err"; then
  ok "lenet train --plot FILE for 2 epochs"
else
  not_ok "lenet train --plot FILE for 2 epochs"
  diag "$(tail -n 5 "$tmp/err")"
fi
if renders "$tmp/l.svg" && points "$tmp/l.svg" 2; then
  ok "--plot's SVG renders, 2 points per line"
else
  not_ok "--plot's SVG renders, 2 points per line"
fi
"$PLOT" -t "lenet: loss and accuracy per epoch" "$tmp/l.jsonl" -o "$tmp/l2.svg"
check "cnncc-plot of its --metrics gives the same bytes" cmp -s "$tmp/l.svg" "$tmp/l2.svg"
"$tmp/lenet" train --data "$D" --epochs 3 --resume "$tmp/l.ckpt" --metrics "$tmp/l.jsonl" \
  --plot "$tmp/l.svg" >/dev/null 2>"$tmp/err"
check "resumed to 3 epochs: the plot has all 3" points "$tmp/l.svg" 3
"$tmp/lenet" train --data "$D" --epochs 1 --plot "$tmp/no/such/dir.svg" >/dev/null 2>"$tmp/err"
check "an unwritable --plot fails at once: exit 1 with its message" \
  sh -c "[ $? = 1 ] && grep -qF \"cannot write plot '$tmp/no/such/dir.svg'\" '$tmp/err' && ! grep -q '^epoch' '$tmp/err'"
