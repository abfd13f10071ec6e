#!/bin/sh
# outputs.sh - what eval and predict print besides their default lines
# (docs/training.md, "What eval and predict print"): eval --confusion
# against the accuracy eval prints, predict --probs and --top against each
# other, PNG and JPEG files against the IDX image they were written from
# (tests/image-write), and the messages for bad images and options.
. "$top_srcdir/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/outputs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
data=$top_srcdir/data/fashion-mnist
t10k=$data/t10k-images-idx3-ubyte.gz
writer=$top_builddir/tests/image-write
images=yes
[ -x "$writer" ] || images=no # configured without libpng/libjpeg
if [ $images = yes ]; then plan 32; else plan 14; fi

# A LeNet trained for an epoch on the sample: right often enough that the
# classes of a JPEG and of its IDX image can be compared.
if ! "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet" >"$tmp/log" 2>&1 ||
   ! "$tmp/lenet" train --data "$data" --epochs 1 --save "$tmp/lenet.ckpt" >>"$tmp/log" 2>&1; then
  echo "Bail out! cannot build and train LeNet: $(cat "$tmp/log")"
  exit 1
fi
lenet() { "$tmp/lenet" "$@"; }
W="--weights $tmp/lenet.ckpt"

# ---- eval --confusion ----
lenet eval --data "$data" $W >"$tmp/eval" 2>/dev/null
lenet eval --data "$data" $W --confusion >"$tmp/conf" 2>/dev/null
check "eval prints one line, test_loss= test_acc=" \
  grep -qxE 'test_loss=[0-9.]+ test_acc=[0-9.]+' "$tmp/eval"
check "eval prints one line by default" test "$(wc -l <"$tmp/eval")" = 1
check "eval --confusion begins with the same line" \
  test "$(head -n 1 "$tmp/conf")" = "$(cat "$tmp/eval")"
# the rows: the lines after "true ..." up to "class accuracy ..."
awk '/^ *true/ { on = 1; next } /^class accuracy/ { on = 0 } on' "$tmp/conf" >"$tmp/rows"
n=$(lenet eval --data "$data" $W 2>&1 >/dev/null | sed -n 's/.*test data: \([0-9]*\) samples.*/\1/p')
check "the confusion matrix is 10 rows of a class and 10 counts" \
  awk 'NF != 11 || $1 != NR - 1 { exit 1 } END { exit NR != 10 }' "$tmp/rows"
sum=$(awk '{ for (i = 2; i <= NF; i++) s += $i } END { print s }' "$tmp/rows")
check "its counts sum to the test set's size ($sum, $n)" test "$sum" = "$n"
acc=$(awk -v n="$n" '{ d += $(NR + 1) } END { printf "%.4f", d / n }' "$tmp/rows")
check "its diagonal is the accuracy eval prints ($acc)" \
  grep -q "test_acc=$acc\$" "$tmp/eval"
check "each class's accuracy is its diagonal over its row" \
  awk 'NR == FNR { d[$1] = $($1 + 2); t[$1] = 0; for (i = 2; i <= NF; i++) t[$1] += $i; next }
       /^class accuracy/ { on = 1; next }
       on { k++; if ($3 != d[$1] "/" t[$1] || $2 != sprintf("%.4f", d[$1] / t[$1])) exit 1 }
       END { exit k != 10 }' "$tmp/rows" "$tmp/conf"

# ---- predict --probs and --top ----
lenet predict $W "$t10k" >"$tmp/classes" 2>/dev/null
lenet predict $W --probs "$t10k" >"$tmp/probs" 2>/dev/null
lenet predict $W --top 3 "$t10k" >"$tmp/top3" 2>/dev/null
lenet predict $W --top 10 "$t10k" >"$tmp/top10" 2>/dev/null
check "--probs: the class, then 10 probabilities summing to 1, the class's the largest" \
  awk 'NF != 11 { exit 1 } { s = 0; m = 2; for (i = 2; i <= 11; i++) { s += $i; if ($i > $m) m = i }
       if (s < 0.9999 || s > 1.0001 || $1 != m - 2) exit 1 } END { exit NR == 0 }' "$tmp/probs"
check "--probs's classes are predict's" test "$(cut -d' ' -f1 "$tmp/probs")" = "$(cat "$tmp/classes")"
check "--top 3: 3 lines an image, CLASS PROBABILITY, sorted, as in --probs" \
  awk 'NR == FNR { for (i = 2; i <= 11; i++) p[NR, i - 2] = $i; n = NR; next }
       { img = int((FNR - 1) / 3) + 1; if (NF != 2 || p[img, $1] != $2) exit 1
         if ((FNR - 1) % 3 && $2 + 0 > last + 0) exit 1; last = $2 }
       END { exit FNR != 3 * n }' "$tmp/probs" "$tmp/top3"
check "--top 3's first lines are predict's classes" \
  test "$(awk 'NR % 3 == 1 { print $1 }' "$tmp/top3")" = "$(cat "$tmp/classes")"
check "--top 10 lists every class once per image" \
  awk '{ seen[int((NR - 1) / 10), $1]++ } END { for (k in seen) if (seen[k] != 1) exit 1; exit NR % 10 }' "$tmp/top10"

# ---- options that do not fit the network: exit 2 and a message ----
"$CNNCC" "$top_srcdir/tests/ops/mse.cnn" -o "$tmp/mse" >/dev/null 2>&1
"$tmp/mse" predict --weights none --probs "$t10k" >/dev/null 2>"$tmp/err"
check "--probs on an mse network: exit 2 and a message" \
  sh -c "test $? = 2 && grep -q 'loss is mse, so its outputs are not class probabilities' '$tmp/err'"

"$CNNCC" "$top_srcdir/tests/ops/ce2d.cnn" -o "$tmp/ce2d" >/dev/null 2>&1
"$tmp/ce2d" predict --weights none --top 2 "$t10k" >/dev/null 2>"$tmp/err"
check "--top on a network with a class per position: exit 2 and a message" \
  sh -c "test $? = 2 && grep -q 'top needs one class per sample, but the network.s output \[4, 6, 7\] has one per position' '$tmp/err'"

[ $images = yes ] || exit 0

# ---- PNG and JPEG files ----
# images 0..4 of the test set as files, in several forms
for i in 0 1 2 3 4; do
  "$writer" "$t10k" $i "$tmp/$i.png" &&
    "$writer" "$t10k" $i "$tmp/$i-rgb.png" rgb &&
    "$writer" "$t10k" $i "$tmp/$i-rgba.png" rgba &&
    "$writer" "$t10k" $i "$tmp/$i-16.png" gray16 &&
    "$writer" "$t10k" $i "$tmp/$i.jpg" &&
    "$writer" "$t10k" $i "$tmp/$i-big.png" gray 3 || echo "# image-write failed"
done
head -n 5 "$tmp/probs" >"$tmp/probs5"
for form in "" -rgb -rgba -16; do
  lenet predict $W --probs "$tmp/0$form.png" "$tmp/1$form.png" "$tmp/2$form.png" \
    "$tmp/3$form.png" "$tmp/4$form.png" >"$tmp/got" 2>"$tmp/err"
  check "PNG${form:-" gray"}: the same probabilities as the IDX images, to the last digit" \
    cmp -s "$tmp/got" "$tmp/probs5"
done
lenet predict $W "$tmp/0.jpg" "$tmp/1.jpg" "$tmp/2.jpg" "$tmp/3.jpg" "$tmp/4.jpg" >"$tmp/got" 2>&1
check "JPEG (quality 95, lossy): the same classes as the IDX images" \
  test "$(cat "$tmp/got")" = "$(head -n 5 "$tmp/classes")"
lenet predict $W "$tmp/0-big.png" "$tmp/1-big.png" "$tmp/2-big.png" "$tmp/3-big.png" \
  "$tmp/4-big.png" >"$tmp/got" 2>&1
check "84x84 PNG scaled down to 28x28: the same classes as the IDX images" \
  test "$(cat "$tmp/got")" = "$(head -n 5 "$tmp/classes")"
lenet predict $W --top 2 "$tmp/0.png" "$t10k" >"$tmp/got" 2>&1
check "image files and IDX files mix: 2 + 2 x size lines" \
  test "$(wc -l <"$tmp/got")" = $((2 + 2 * $(wc -l <"$tmp/classes")))

# ---- the fit against PyTorch's antialiased bilinear resize (torchvision's
# Resize on tensors) and CenterCrop: the same bytes (tests/image-fit.py) ----
PYTHON=${CNNCC_PYTHON-/usr/bin/python3}
for spec in "0-big.png 3 28 28" "0-big.png 3 20 30" "0.png 1 50 40" "0-big.png 3 20 23"; do
  set -- $spec
  what="$1 (${2}x the IDX image) to ${3}x$4: the bytes PyTorch computes"
  if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    ok "# SKIP $what: no python with torch"
    continue
  fi
  "$top_builddir/tests/image-fit" "$tmp/$1" 1 "$3" "$4" >"$tmp/fit" 2>&1
  "$PYTHON" "$top_srcdir/tests/image-fit.py" "$t10k" 0 "$2" "$3" "$4" "$tmp/fit" >"$tmp/cmp" 2>&1
  check "$what ($(cat "$tmp/cmp"))" grep -q '^max_diff=0 differ=0 ' "$tmp/cmp"
done

# ---- bad images: exit 1, a message naming the file, never a crash ----
# bad DESC FILE REGEX [TRAINER]
bad() {
  "${4:-$tmp/lenet}" predict $W "$2" >/dev/null 2>"$tmp/err"
  rc=$?
  if [ $rc = 1 ] && grep -qE "^[a-z]+: $2: $3" "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ]; then
    ok "$1: exit 1, $(cat "$tmp/err")"
  else
    not_ok "$1"
    diag "exit status $rc, stderr:" "$(cat "$tmp/err")"
  fi
}
head -c 200 "$tmp/0-big.png" >"$tmp/cut.png"
bad "a truncated PNG" "$tmp/cut.png" "bad PNG data: the file ends early \(truncated\)"
# a byte of the compressed pixels changed: the chunk's CRC fails
size=$(wc -c <"$tmp/0-big.png")
{ head -c $((size / 2)) "$tmp/0-big.png"; printf 'X'; tail -c $((size - size / 2 - 1)) "$tmp/0-big.png"; } >"$tmp/crc.png"
bad "a PNG with a corrupt chunk" "$tmp/crc.png" "bad PNG data: "
head -c 300 "$tmp/0.jpg" >"$tmp/cut.jpg"
bad "a truncated JPEG" "$tmp/cut.jpg" "bad JPEG data: "
{ printf '\377\330\377'; head -c 100 /dev/zero; } >"$tmp/zero.jpg"
bad "JPEG magic, then zeros" "$tmp/zero.jpg" "bad JPEG data: "
# the valid header (up to the pixels) of an 8192 x 8192 PNG: refused before
# anything is allocated
printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\040\000\000\000\040\000\010\000\000\000\000\127\301\225\205\000\000\000\000IDAT' >"$tmp/huge.png"
bad "a PNG of 8192 x 8192 pixels" "$tmp/huge.png" \
  "the image is 8192x8192 pixels, more than the 33554432 allowed"
# a network whose input is a vector: it takes IDX images, not image files
cat >"$tmp/flat.cnn" <<'EOF'
network flat
input x[784]
logits = x -> dense(10)
loss softmax_cross_entropy(logits)
EOF
"$CNNCC" "$tmp/flat.cnn" -o "$tmp/flat" >/dev/null 2>&1
"$tmp/flat" train --data "$data" --epochs 1 --save "$tmp/flat.ckpt" >/dev/null 2>&1
"$tmp/flat" predict --weights "$tmp/flat.ckpt" "$tmp/0.png" >/dev/null 2>"$tmp/err"
check "an image into a network whose input is not an image: exit 1, a message" \
  sh -c "test $? = 1 && grep -q ': an image file, but the network.s input \[784\] is not an image' '$tmp/err'"
# linked by hand without the decoders, as docs/generated-code.md shows
if "$CNNCC" "$top_srcdir/examples/lenet.cnn" -o "$tmp/lenet.c" >/dev/null 2>&1 &&
   ${CNNCC_CC:-cc} -O1 $SAN -I"$top_srcdir/runtime" "$tmp/lenet.c" \
     "$top_builddir/runtime/libcnnrt.a" -lz -lm -o "$tmp/byhand" >/dev/null 2>&1; then
  bad "a trainer linked without libpng" "$tmp/0.png" \
    "a PNG image, but this program was built without libpng and libjpeg" "$tmp/byhand"
else
  not_ok "a trainer linked by hand with -lz -lm only"
fi
