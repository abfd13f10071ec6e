#!/bin/sh
# data-formats.sh - the trainer's data beyond MNIST-named IDX files
# (docs/training.md, "Your own data"), with LeNet on the Fashion-MNIST
# sample:
#
#   image folders  the sample exported as PNG folders (train/<class>/NNNNN.png,
#                  data/idx-to-folders.py) trains to the same weights, bit
#                  for bit, as the IDX files (the folders hold the samples in
#                  the IDX order); the checkpoint adds the class names, and
#                  predict prints them; JPEG files load too;
#   plain IDX      train-images.idx.gz etc. give the same checkpoint as
#                  MNIST's names;
#   --val          the split is the same with 1 and 2 threads and on resume,
#                  epochs report val_loss/val_acc, the test set is used at
#                  the end only (eval of the checkpoint agrees);
#   bad input      empty and corrupt image folders, classes that differ,
#                  a wrong --val: a clear message and a non-zero status.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
writer=$top_builddir/tests/image-write
if ! "$PYTHON" -c 'import gzip, struct, zlib' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 to write the image folders"
  exit 0
fi
if [ ! -x "$writer" ]; then
  echo "1..0 # SKIP cnncc was configured without libpng and libjpeg"
  exit 0
fi
plan 24
use_tmp data-formats
OMP_NUM_THREADS=1
export OMP_NUM_THREADS
data=$top_srcdir/data/fashion-mnist
names="0-top 1-trouser 2-pullover 3-dress 4-coat 5-sandal 6-shirt 7-sneaker 8-bag 9-boot"
net=$tmp/lenet
build_net "$top_srcdir/examples/lenet.cnn" "$net"
# shellcheck disable=SC2086 # the names are words
"$PYTHON" "$top_srcdir/data/idx-to-folders.py" "$data" "$tmp/folders" $names
size() { wc -c <"$1" | tr -d ' '; }

# ---- image folders: the same training as the IDX files ----
run_logged "$tmp/idx.log" "$net" train --data "$data" --epochs 1 --save "$tmp/idx.ckpt"
run_logged "$tmp/png.log" "$net" train --data "$tmp/folders" --epochs 1 --save "$tmp/png.ckpt"
check "PNG folders: train, 6000 + 1000 samples" \
  grep -q "test data: 1000 samples of 1x28x28 from $tmp/folders/test" "$tmp/png.log"
check "the classes are printed at load, sorted" \
  grep -qx "lenet: 10 classes: 0-top, 1-trouser, 2-pullover, 3-dress, 4-coat, 5-sandal, 6-shirt, 7-sneaker, 8-bag, 9-boot" "$tmp/png.log"
check "the same epoch figures and test_acc as the IDX files" \
  test "$(grep -E '^(epoch|test_acc)' "$tmp/png.log" | sed 's/ (.*//')" = \
  "$(grep -E '^(epoch|test_acc)' "$tmp/idx.log" | sed 's/ (.*//')"
# The folders' checkpoint is version 2: the IDX one with a CLSS section.
isize=$(size "$tmp/idx.ckpt")
# same_body A B N: the same magic, and the same N bytes after the version
# shellcheck disable=SC2317 # called through check
same_body() {
  cmp -n 8 "$1" "$2" && tail -c +13 "$1" | head -c "$3" >"$tmp/a" &&
    tail -c +13 "$2" | head -c "$3" >"$tmp/b" && cmp "$tmp/a" "$tmp/b"
}
check "the same weights and Adam state, bit for bit (the checkpoints differ only in version and class names)" \
  same_body "$tmp/idx.ckpt" "$tmp/png.ckpt" $((isize - 16))
check "... and a CLSS section of the 10 names" \
  test "$(tail -c +$((isize - 3)) "$tmp/png.ckpt" | head -c 4)" = CLSS

# predict names the classes; the IDX checkpoint's numbers are the same classes
imgs=
for f in 00000 00001 00002 00003 00004; do imgs="$imgs $(ls "$tmp"/folders/test/*/$f.png)"; done
# shellcheck disable=SC2086
"$net" predict --weights "$tmp/png.ckpt" $imgs >"$tmp/names" 2>&1
# shellcheck disable=SC2086
"$net" predict --weights "$tmp/idx.ckpt" $imgs >"$tmp/numbers" 2>&1
# shellcheck disable=SC2086
set -- $names
check "predict prints the class names saved in the checkpoint" \
  test "$(while read -r k; do eval "echo \${$((k + 1))}"; done <"$tmp/numbers")" = "$(cat "$tmp/names")"
# shellcheck disable=SC2086
"$net" predict --weights "$tmp/png.ckpt" --top 2 $imgs >"$tmp/top" 2>&1
check "predict --top names them too" grep -qE '^[0-9]-[a-z]+ 0\.[0-9]{6}$' "$tmp/top"
check "eval of image folders reproduces the test accuracy" \
  test "$("$net" eval --weights "$tmp/png.ckpt" --data "$tmp/folders" 2>/dev/null | sed 's/.*test_acc=//')" = \
  "$(sed -n 's/^test_acc=//p' "$tmp/png.log")"

# JPEG files are read too (lossy: the run differs, it only has to load)
mkdir -p "$tmp/jpeg/train/a" "$tmp/jpeg/train/b" "$tmp/jpeg/test/a" "$tmp/jpeg/test/b"
for i in 0 1 2 3; do
  "$writer" "$data/t10k-images-idx3-ubyte.gz" $i "$tmp/jpeg/train/a/$i.jpg" >/dev/null
  "$writer" "$data/t10k-images-idx3-ubyte.gz" $((i + 4)) "$tmp/jpeg/train/b/$i.JPEG" gray 2 >/dev/null
done
cp "$tmp/jpeg/train/a/0.jpg" "$tmp/jpeg/test/a/"
cp "$tmp/jpeg/train/b/0.JPEG" "$tmp/jpeg/test/b/"
sed 's/dense(10)/dense(2)/' "$top_srcdir/examples/lenet.cnn" >"$tmp/lenet2.cnn"
"$CNNCC" "$tmp/lenet2.cnn" -o "$tmp/lenet2" >/dev/null 2>&1
run_logged "$tmp/jpeg.log" "$tmp/lenet2" train --data "$tmp/jpeg" --epochs 1 --batch 4
check "JPEG folders (.jpg, .JPEG, a 56x56 image scaled down) train" \
  grep -q "train data: 8 samples of 1x28x28" "$tmp/jpeg.log"

# ---- plain IDX names ----
mkdir -p "$tmp/plain"
cp "$data/train-images-idx3-ubyte.gz" "$tmp/plain/train-images.idx.gz"
cp "$data/train-labels-idx1-ubyte.gz" "$tmp/plain/train-labels.idx.gz"
gzip -dc "$data/t10k-images-idx3-ubyte.gz" >"$tmp/plain/test-images.idx"
gzip -dc "$data/t10k-labels-idx1-ubyte.gz" >"$tmp/plain/test-labels.idx"
run_logged "$tmp/plain.log" "$net" train --data "$tmp/plain" --epochs 1 --save "$tmp/plain.ckpt"
check "IDX files named train-images.idx.gz, test-labels.idx, ...: the same checkpoint" \
  cmp "$tmp/plain.ckpt" "$tmp/idx.ckpt"

# ---- --val ----
val() { _log=$1; shift; run_logged "$_log" "$net" train --data "$tmp/folders" --val 0.1 "$@"; }
val "$tmp/val.log" --epochs 2 --save "$tmp/val.ckpt" --metrics "$tmp/val.json"
check "--val 0.1 holds out 600 of the 6000 training samples" \
  grep -q "validation data: 600 samples held out of the 6000 training samples" "$tmp/val.log"
check "epochs report val_loss and val_acc" \
  test "$(grep -c '^epoch [12]/2: train_loss .* val_loss .* val_acc ' "$tmp/val.log")" = 2
check "--metrics has val_loss and val_acc, not test_*" \
  sh -c "grep -c '\"val_loss\":.*\"val_acc\":' '$tmp/val.json' | grep -qx 2 && ! grep -q test_ '$tmp/val.json'"
check "the test set is evaluated at the end: the last line, as eval reports it" \
  test "$(tail -n 1 "$tmp/val.log")" = \
  "test_acc=$("$net" eval --weights "$tmp/val.ckpt" --data "$tmp/folders" 2>/dev/null | sed 's/.*test_acc=//')"
OMP_NUM_THREADS=2 val "$tmp/val2.log" --epochs 2 --save "$tmp/val2.ckpt"
check "the same split and checkpoint with 2 threads" cmp "$tmp/val.ckpt" "$tmp/val2.ckpt"
val "$tmp/r1.log" --epochs 1 --save "$tmp/r.ckpt"
run_logged "$tmp/r2.log" "$net" train --data "$tmp/folders" --resume "$tmp/r.ckpt" --epochs 2 --save "$tmp/r.ckpt"
check "resuming (without --val: the checkpoint has it) gives the same checkpoint" \
  cmp "$tmp/val.ckpt" "$tmp/r.ckpt"
run_logged "$tmp/idxval.log" "$net" train --data "$data" --val 0.25 --epochs 1 --save "$tmp/idxval.ckpt"
check "--val on IDX data: 1500 held out, the checkpoint is version 2 with a VALF section" \
  sh -c "grep -q 'validation data: 1500 samples' '$tmp/idxval.log' &&
    test \"\$(od -An -tu1 -j8 -N1 '$tmp/idxval.ckpt' | tr -d ' ')\" = 2 &&
    test \"\$(tail -c +$((isize - 3)) '$tmp/idxval.ckpt' | head -c 4)\" = VALF"

# ---- bad input ----
bad=$tmp/bad
cp -r "$tmp/jpeg" "$bad"
mkdir "$bad/train/c"
check_fails "a class folder without images" 1 \
  "lenet2: class folder '$bad/train/c' has no images (*.png, *.jpg, *.jpeg)" \
  "$tmp/lenet2" train --data "$bad" --epochs 1
touch "$bad/train/c/x.png"
check_fails "an empty image file: the message names it" 1 \
  "lenet2: $bad/train/c/x.png: not a PNG or JPEG file" "$tmp/lenet2" train --data "$bad" --epochs 1
head -c 300 "$tmp/folders/train/9-boot/00000.png" >"$bad/train/c/x.png"
expect_corrupt() {
  "$tmp/lenet2" train --data "$bad" --epochs 1 >"$tmp/out" 2>"$tmp/err"
  _rc=$?
  if [ $_rc = 1 ] && grep -q "^lenet2: $bad/train/c/x.png: " "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 3 ]; then
    ok "a truncated PNG: status 1 and a message naming the file"
  else
    not_ok "a truncated PNG: status 1 and a message naming the file"
    diag "status $_rc" "$(cat "$tmp/err")"
  fi
}
expect_corrupt
cp "$tmp/folders/train/9-boot/00000.png" "$bad/train/c/x.png"
mv "$bad/train/c" "$bad/c" && mv "$bad/test/b" "$bad/test/c"
check_fails "train and test with other classes" 1 \
  "lenet2: the classes of $bad/test (a, c) differ from those of $bad/train (a, b)" \
  "$tmp/lenet2" train --data "$bad" --epochs 1
mv "$bad/c" "$bad/train/c" && cp -r "$bad/train/b" "$bad/test/b"
check_fails "more class folders than the network has classes" 1 \
  "lenet2: $bad/train has 3 class folders but the network has 2 classes" \
  "$tmp/lenet2" train --data "$bad" --epochs 1
check_fails "--val 1" 2 "lenet train: --val expects a number between 0 and 1 (exclusive), got '1'" \
  "$net" train --val 1
check_fails "resuming with another --val" 2 \
  "lenet: --val 0.2 conflicts with the validation split of checkpoint '$tmp/val.ckpt' (the training data depends on it); leave --val out when resuming" \
  "$net" train --data "$tmp/folders" --resume "$tmp/val.ckpt" --val 0.2 --epochs 3
exit 0
