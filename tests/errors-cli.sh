#!/bin/sh
# errors-cli.sh - every bad input, at the command line: a generated trainer
# (and cnncc itself) run on broken data, checkpoints, options and disks
# must exit with the documented status and print exactly the documented
# message on stderr (docs/robustness.md lists them all). The library tests
# (runtime/tests/data.c, checkpoint.c, main.c) check the same messages one
# function at a time; this checks what a user sees.
. "$top_srcdir/tests/tap.sh"
PYTHON=${CNNCC_PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/errors-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
if ! "$PYTHON" -c 'import gzip, struct, zlib' >/dev/null 2>&1; then
  echo "1..0 # SKIP no python3 to write the broken files"
  exit 0
fi
plan 62

# expect DESC STATUS MESSAGE COMMAND...: COMMAND exits with STATUS and its
# stderr, less the epoch summary lines and the lines that say which data
# was read, is exactly MESSAGE.
# expect_re DESC STATUS REGEX COMMAND...: the same, with a grep -E pattern.
expect() {
  _desc=$1 _status=$2 _msg=$3 _re=
  shift 3
  _run "$@"
}
expect_re() {
  _desc=$1 _status=$2 _msg=$3 _re=1
  shift 3
  _run "$@"
}
_run() {
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  _rc=$?
  _got=$(grep -vE '^epoch [0-9]+/[0-9]+: train_loss |^[a-z0-9_]+: (train|test) data: [0-9]+ samples of ' "$tmp/stderr")
  if [ -n "$_re" ]; then
    printf '%s\n' "$_got" | grep -qxE "$_msg" && [ "$(printf '%s\n' "$_got" | wc -l)" = 1 ]
  else
    [ "$_got" = "$_msg" ]
  fi
  _same=$?
  if [ "$_rc" = "$_status" ] && [ $_same = 0 ]; then
    ok "$_desc: exit $_status, $(printf '%s' "$_got" | tr '\n' ' ')"
  else
    not_ok "$_desc"
    diag "exit status $_rc, expected $_status" "stderr:" "$(cat "$tmp/stderr")" "expected:" "$_msg"
  fi
}

# ---- the trainers ----
cat >"$tmp/clinet.cnn" <<'EOF'
network clinet
input image[1, 28, 28]
logits = image -> conv2d(4, 5, stride=3) -> batchnorm -> relu -> flatten -> dense(10)
loss softmax_cross_entropy(logits)
train {
  batch = 16
  epochs = 1
  seed = 1
}
EOF
# the same name, another architecture
sed 's/conv2d(4, 5, stride=3)/conv2d(5, 5, stride=3)/' "$tmp/clinet.cnn" >"$tmp/clinet2.cnn"
# another network
sed 's/^network clinet/network other/' "$tmp/clinet.cnn" >"$tmp/other.cnn"
for n in clinet clinet2 other; do
  if ! "$CNNCC" "$tmp/$n.cnn" -o "$tmp/$n" >"$tmp/build.log" 2>&1; then
    echo "Bail out! cannot build a trainer: $(cat "$tmp/build.log")"
    exit 1
  fi
done
net=$tmp/clinet

# ---- the data: a 64/32-image cut of the sample, and broken copies ----
"$PYTHON" - "$top_srcdir/data/fashion-mnist" "$tmp" <<'EOF'
import gzip, os, shutil, struct, sys, zlib
src, tmp = sys.argv[1], sys.argv[2]
NAMES = {("train", "images"): "train-images-idx3-ubyte", ("train", "labels"): "train-labels-idx1-ubyte",
         ("test", "images"): "t10k-images-idx3-ubyte", ("test", "labels"): "t10k-labels-idx1-ubyte"}

def idx(dims, data, magic=b"\0\0\x08"):
    return magic + bytes([len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + bytes(data)

def cut(split, kind, n):
    with gzip.open(os.path.join(src, NAMES[split, kind] + ".gz"), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = list(struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim]))
    per = 1
    for d in dims[1:]:
        per *= d
    return [n] + dims[1:], data[4 + 4 * ndim:4 + 4 * ndim + n * per]

good = {(s, k): cut(s, k, 64 if s == "train" else 32) for s in ("train", "test") for k in ("images", "labels")}

def make(name, changes={}, gz=(), drop=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    for key, (dims, data) in good.items():
        if key in drop:
            continue
        blob = changes.get(key, idx(dims, data))
        path = os.path.join(d, NAMES[key])
        if key in gz:
            with gzip.open(path + ".gz", "wb") as f:
                f.write(blob)
        else:
            with open(path, "wb") as f:
                f.write(blob)
    return d

(imd, im), (lbd, lb) = good["train", "images"], good["train", "labels"]
make("good")
make("empty", drop=list(good))
make("nolabels", drop=[("train", "labels")])
make("notest", drop=[("test", "images"), ("test", "labels")])
make("magic", {("train", "images"): b"\x12\x34" + idx(imd, im)[2:]})
make("float", {("train", "images"): idx(imd, im, magic=b"\0\0\x0d")})
make("truncated", {("train", "images"): idx(imd, im)[:-1000]})
make("truncated-header", {("train", "images"): idx(imd, im)[:10]})
make("absurd", {("train", "images"): idx([2000000000, 28, 28], im[:100])})
make("zero", {("train", "images"): idx([0, 28, 28], b"")})
make("count", {("train", "labels"): idx([63], lb[:63])})
make("dims", {("train", "images"): idx([64, 32, 32], bytes(64 * 32 * 32))})
lb2 = bytearray(lb)
lb2[3] = 12
make("label-range", {("train", "labels"): idx(lbd, lb2)})
make("label-shape", {("train", "labels"): idx([64, 2, 4], bytes(64 * 8))})
# a gzip stream cut short
blob = gzip.compress(idx(imd, im))
d = make("cut-gzip", drop=[("train", "images")])
with open(os.path.join(d, NAMES["train", "images"] + ".gz"), "wb") as f:
    f.write(blob[:len(blob) // 2])
# CIFAR-10: a data batch whose size is not a multiple of 3073
d = os.path.join(tmp, "cifar")
os.makedirs(d)
with open(os.path.join(d, "data_batch_1.bin"), "wb") as f:
    f.write(bytes(3073 + 100))
# images to predict: 3 good ones, and 2x4 ones
with open(os.path.join(tmp, "three-idx3-ubyte"), "wb") as f:
    f.write(idx([3, 28, 28], im[:3 * 784]))
with open(os.path.join(tmp, "small-idx3-ubyte"), "wb") as f:
    f.write(idx([1, 2, 4], bytes(8)))
# image files to predict: a PNG of the first image, broken in ways
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(w, h, pixels, crc_ok=True):
    rows = b"".join(b"\0" + pixels[y * w:(y + 1) * w] for y in range(h))
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    if not crc_ok:
        ihdr = ihdr[:-1] + bytes([ihdr[-1] ^ 1])
    return b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
def write(name, blob):
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(blob)
good_png = png(28, 28, im[:784])
write("good.png", good_png)
write("cut.png", good_png[:100])
write("crc.png", png(28, 28, im[:784], crc_ok=False))
write("empty.png", png(0, 28, b""))
# the header of an 8192x8192 image, then the start of its pixels
write("huge.png", png(8192, 8192, b"")[:33] + struct.pack(">I", 0) + b"IDAT")
write("garbage.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4)
EOF
[ -d "$tmp/good" ] || { echo "Bail out! cannot write the data"; exit 1; }
D=$tmp/good

# ---- data ----
expect "missing data directory" 1 "clinet: data directory '$tmp/nope': No such file or directory" \
  "$net" train --data "$tmp/nope"
expect "no data files" 1 "clinet: no train data in '$tmp/empty': looked for train/<class>/ image folders, train.csv[.gz], train-images.idx[.gz] and train-labels.idx[.gz] or train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] (IDX), and data_batch_1.bin to data_batch_5.bin (CIFAR-10)" \
  "$net" train --data "$tmp/empty"
expect "images without labels" 1 "clinet: found $tmp/nolabels/train-images-idx3-ubyte but not train-labels-idx1-ubyte[.gz] in '$tmp/nolabels'" \
  "$net" train --data "$tmp/nolabels"
expect "no test split" 1 "clinet: no test data in '$tmp/notest': looked for test/<class>/ image folders, test.csv[.gz], test-images.idx[.gz] and test-labels.idx[.gz] or t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] (IDX), and test_batch.bin (CIFAR-10)" \
  "$net" train --data "$tmp/notest"
expect "wrong IDX magic" 1 "clinet: $tmp/magic/train-images-idx3-ubyte: not an IDX file (magic number 0x12340803, expected 0x00000801 to 0x00000804)" \
  "$net" train --data "$tmp/magic"
expect "IDX of floats" 1 "clinet: $tmp/float/train-images-idx3-ubyte: IDX element type is float (0x0d), expected unsigned byte (0x08)" \
  "$net" train --data "$tmp/float"
expect "truncated IDX data" 1 "clinet: $tmp/truncated/train-images-idx3-ubyte: truncated: 64x28x28 needs 50176 bytes of data, found 49176" \
  "$net" train --data "$tmp/truncated"
expect "truncated IDX header" 1 "clinet: $tmp/truncated-header/train-images-idx3-ubyte: truncated: the IDX header ends after 10 bytes, expected 16" \
  "$net" train --data "$tmp/truncated-header"
expect "cut gzip stream" 1 "clinet: $tmp/cut-gzip/train-images-idx3-ubyte.gz: truncated: the gzip data ends early (unexpected end of file)" \
  "$net" train --data "$tmp/cut-gzip"
expect "absurd IDX dimensions" 1 "clinet: $tmp/absurd/train-images-idx3-ubyte: absurd IDX header: the data would exceed 2^40 bytes" \
  "$net" train --data "$tmp/absurd"
expect "zero images" 1 "clinet: $tmp/zero/train-images-idx3-ubyte: IDX dimension 0 is 0: no data" \
  "$net" train --data "$tmp/zero"
expect "image and label counts differ" 1 "clinet: $tmp/count/train-images-idx3-ubyte has 64 images but $tmp/count/train-labels-idx1-ubyte has 63 labels" \
  "$net" train --data "$tmp/count"
expect "images of the wrong size" 1 "clinet: $tmp/dims/train-images-idx3-ubyte: images are 1x32x32 but the network expects [1, 28, 28]" \
  "$net" train --data "$tmp/dims"
expect "label out of range" 1 "clinet: $tmp/label-range/train-labels-idx1-ubyte: label 12 of sample 3 is out of range: the network has 10 classes (0 to 9)" \
  "$net" train --data "$tmp/label-range"
expect "labels of the wrong shape" 1 "clinet: $tmp/label-shape/train-labels-idx1-ubyte: labels are 2x4 per sample but the network expects 1 per sample (its output is [10])" \
  "$net" train --data "$tmp/label-shape"
expect "CIFAR-10 file of the wrong size" 1 "clinet: $tmp/cifar/data_batch_1.bin: size 3173 bytes is not a positive multiple of 3073 (a CIFAR-10 record is 1 label byte and 3072 pixel bytes)" \
  "$net" train --data "$tmp/cifar"
# no --data: the default data set is Fashion-MNIST, which a network for
# 32x32 colour images cannot use; the message says to give --data
sed -e 's/^network clinet/network colour/' -e 's/image\[1, 28, 28\]/image[3, 32, 32]/' \
  "$tmp/clinet.cnn" >"$tmp/colour.cnn"
if "$CNNCC" "$tmp/colour.cnn" -o "$tmp/colour" >"$tmp/build.log" 2>&1; then
  expect_re "no --data and the default does not fit" 1 "colour: no data for this network \\(input \\[3, 32, 32\\]\\) was found: the default data set, Fashion-MNIST in (.*), does not fit it \\(\\1/train-images-idx3-ubyte(\\.gz)?: images are 1x28x28 but the network expects \\[3, 32, 32\\]\\); give yours with --data DIR \\(IDX or CIFAR-10 binary files, image folders or CSV files: docs/training.md\\)" \
    "$tmp/colour" train
else
  not_ok "no --data and the default does not fit: cannot build the trainer" && diag "$(cat "$tmp/build.log")"
fi
# every run says which data it read
"$net" train --data "$D" --epochs 1 >/dev/null 2>"$tmp/stderr"
if [ "$(grep ' data: ' "$tmp/stderr")" = "clinet: train data: 64 samples of 1x28x28 from $D/train-images-idx3-ubyte
clinet: test data: 32 samples of 1x28x28 from $D/t10k-images-idx3-ubyte" ]; then
  ok "train names the data it read, with counts and shapes"
else
  not_ok "train names the data it read, with counts and shapes" && diag "$(cat "$tmp/stderr")"
fi

# ---- checkpoints ----
# a checkpoint of each network, 1 epoch (4 steps) on the good data
for n in clinet clinet2 other; do
  "$tmp/$n" train --data "$D" --save "$tmp/$n.ckpt" >/dev/null 2>"$tmp/train.log" ||
    { echo "Bail out! cannot train $n: $(cat "$tmp/train.log")"; exit 1; }
done
A=$tmp/clinet.ckpt
size=$(wc -c <"$A" | tr -d ' ')
# hex ARCH_HASH of a checkpoint (bytes 16-23, little-endian)
hash_of() { od -An -v -t x1 -j 16 -N 8 "$1" | awk '{ for (i = NF; i >= 1; i--) printf "%s", $i }'; }
# patch FILE OFFSET U64: writes a little-endian u64 and fixes the CRC
patch() {
  "$PYTHON" - "$@" <<'EOF2'
import struct, sys, zlib
path, off, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(path, "rb").read())
b[off:off + 8] = struct.pack("<Q", val)
b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])) & 0xffffffff)
open(path, "wb").write(bytes(b))
EOF2
}
expect "resume from a missing checkpoint" 1 "clinet: cannot read checkpoint '$tmp/none.ckpt': No such file or directory" \
  "$net" train --data "$D" --resume "$tmp/none.ckpt"
expect "eval a missing checkpoint" 1 "clinet: cannot read checkpoint '$tmp/none.ckpt': No such file or directory" \
  "$net" eval --data "$D" --weights "$tmp/none.ckpt"
expect "checkpoint of another network" 1 "clinet: checkpoint '$tmp/other.ckpt' was saved by network 'other', not 'clinet'" \
  "$net" train --data "$D" --resume "$tmp/other.ckpt"
expect "checkpoint of another architecture" 1 "clinet: checkpoint '$tmp/clinet2.ckpt' was saved by a different architecture of network 'clinet' (hash $(hash_of "$tmp/clinet2.ckpt"), expected $(hash_of "$A"))" \
  "$net" eval --data "$D" --weights "$tmp/clinet2.ckpt"
head -c $((size - 10)) "$A" >"$tmp/short.ckpt"
expect "truncated checkpoint" 1 "clinet: checkpoint '$tmp/short.ckpt' is truncated ($((size - 10)) bytes, expected $size)" \
  "$net" train --data "$D" --resume "$tmp/short.ckpt"
head -c 50 "$A" >"$tmp/head.ckpt"
expect "checkpoint cut in the header" 1 "clinet: checkpoint '$tmp/head.ckpt' is truncated (50 bytes)" \
  "$net" eval --data "$D" --weights "$tmp/head.ckpt"
: >"$tmp/empty.ckpt"
expect "empty checkpoint" 1 "clinet: '$tmp/empty.ckpt' is not a cnncc checkpoint" \
  "$net" eval --data "$D" --weights "$tmp/empty.ckpt"
cp "$A" "$tmp/flip.ckpt"
printf '\377' | dd of="$tmp/flip.ckpt" bs=1 seek=300 conv=notrunc 2>/dev/null
expect "corrupted checkpoint" 1 "clinet: checkpoint '$tmp/flip.ckpt' is corrupted (CRC mismatch)" \
  "$net" train --data "$D" --resume "$tmp/flip.ckpt"
expect "predict with a corrupted checkpoint" 1 "clinet: checkpoint '$tmp/flip.ckpt' is corrupted (CRC mismatch)" \
  "$net" predict --weights "$tmp/flip.ckpt" "$tmp/three-idx3-ubyte"
expect "not a checkpoint" 1 "clinet: '$D/train-labels-idx1-ubyte' is not a cnncc checkpoint" \
  "$net" eval --data "$D" --weights "$D/train-labels-idx1-ubyte"
cp "$A" "$tmp/batch0.ckpt"
patch "$tmp/batch0.ckpt" 56 0
expect "impossible training state (batch 0, CRC fixed)" 1 "clinet: checkpoint '$tmp/batch0.ckpt' is corrupted (impossible training state in the header)" \
  "$net" train --data "$D" --resume "$tmp/batch0.ckpt"
cp "$A" "$tmp/step7.ckpt"
patch "$tmp/step7.ckpt" 40 7
expect "checkpoint from a longer data set" 1 "clinet: checkpoint '$tmp/step7.ckpt' stopped at step 7 of an epoch, but this data has only 4 steps per epoch" \
  "$net" train --data "$D" --epochs 2 --resume "$tmp/step7.ckpt"
expect "resume with another seed" 2 "clinet: --seed 5 conflicts with the seed 1 of checkpoint '$A'; leave --seed out when resuming" \
  "$net" train --data "$D" --epochs 2 --resume "$A" --seed 5
expect "resume with another batch size" 2 "clinet: --batch 8 conflicts with the batch 16 of checkpoint '$A' (the data order depends on it); leave --batch out when resuming" \
  "$net" train --data "$D" --epochs 2 --resume "$A" --batch 8
expect "predict images of the wrong size" 1 "clinet: $tmp/small-idx3-ubyte: images are 1x2x4 but the network expects [1, 28, 28]" \
  "$net" predict --weights "$A" "$tmp/small-idx3-ubyte"
expect "predict a missing file" 1 "clinet: cannot open $tmp/none-idx3-ubyte: No such file or directory" \
  "$net" predict --weights "$A" "$tmp/none-idx3-ubyte"
# image files (tests/outputs.sh has JPEGs, written with libjpeg); skipped
# when cnncc was configured without libpng and libjpeg
if "$net" predict --weights "$A" "$tmp/good.png" 2>&1 | grep -q 'built without libpng'; then
  for i in 1 2 3 4 5 6; do ok "# SKIP image files: configured without libpng and libjpeg"; done
else
  expect "predict a good PNG: no message" 0 "" \
    "$net" predict --weights "$A" "$tmp/good.png"
  expect "predict a truncated PNG" 1 "clinet: $tmp/cut.png: bad PNG data: the file ends early (truncated)" \
    "$net" predict --weights "$A" "$tmp/cut.png"
  expect "predict a PNG with a bad CRC" 1 "clinet: $tmp/crc.png: bad PNG data: IHDR: CRC error" \
    "$net" predict --weights "$A" "$tmp/crc.png"
  expect "predict a PNG of width 0" 1 "clinet: $tmp/empty.png: bad PNG data: Invalid IHDR data" \
    "$net" predict --weights "$A" "$tmp/empty.png"
  expect "predict an 8192x8192 PNG" 1 "clinet: $tmp/huge.png: the image is 8192x8192 pixels, more than the 33554432 allowed" \
    "$net" predict --weights "$A" "$tmp/huge.png"
  expect "predict a JPEG of garbage (no markers: libjpeg reads to the end)" 1 "clinet: $tmp/garbage.jpg: bad JPEG data: Premature end of JPEG file" \
    "$net" predict --weights "$A" "$tmp/garbage.jpg"
fi
expect "predict --top more than the classes" 2 "clinet: --top 11: the network has only 10 classes" \
  "$net" predict --weights "$A" --top 11 "$tmp/good.png"
expect "predict --probs with --top" 2 "clinet: --probs and --top cannot be combined" \
  "$net" predict --weights "$A" --probs --top 2 "$tmp/good.png"

# ---- a NaN loss: stop, say where, keep the last checkpoint ----
expect_re "NaN loss" 1 "clinet: loss is (nan|inf|-inf) at epoch 1, step 2 \\(optimizer step 2\\); stopping; the last checkpoint is kept" \
  "$net" train --data "$D" --lr 1e30 --save "$tmp/nan.ckpt" --checkpoint-every 1
t=$(od -An -v -t u1 -j 48 -N 8 "$tmp/nan.ckpt" 2>/dev/null | awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i } END { print v + 0 }')
if [ "$t" = 1 ] && "$net" eval --data "$D" --weights "$tmp/nan.ckpt" >/dev/null 2>&1; then
  ok "NaN loss: the step-1 checkpoint is kept and loads"
else
  not_ok "NaN loss: the step-1 checkpoint is kept and loads (it holds step $t)"
fi
expect_re "NaN loss without --save" 1 "clinet: loss is (nan|inf|-inf) at epoch 1, step 2 \\(optimizer step 2\\); stopping" \
  "$net" train --data "$D" --lr 1e30

# ---- writing: a full disk, a bad path ----
if [ -c /dev/full ]; then
  cp "$A" "$tmp/full.ckpt"
  ln -s /dev/full "$tmp/full.ckpt.tmp"
  expect "full disk while saving" 1 "clinet: cannot write checkpoint '$tmp/full.ckpt': No space left on device" \
    "$net" train --data "$D" --epochs 2 --resume "$A" --save "$tmp/full.ckpt"
  if cmp -s "$A" "$tmp/full.ckpt" && [ ! -e "$tmp/full.ckpt.tmp" ] && [ ! -L "$tmp/full.ckpt.tmp" ]; then
    ok "full disk: the old checkpoint is intact and the temporary file is gone"
  else
    not_ok "full disk: the old checkpoint is intact and the temporary file is gone"
  fi
else
  ok "full disk while saving # SKIP no /dev/full"
  ok "full disk: the old checkpoint is intact # SKIP no /dev/full"
fi
expect "checkpoint path under a file" 1 "clinet: cannot write checkpoint '$A/x': Not a directory" \
  "$net" train --data "$D" --save "$A/x"
expect "metrics in a missing directory" 1 "clinet: cannot write metrics '$tmp/nope/m.jsonl': No such file or directory" \
  "$net" train --data "$D" --metrics "$tmp/nope/m.jsonl"
if [ -c /dev/full ]; then
  expect "metrics on a full disk" 1 "clinet: cannot write metrics '/dev/full': No space left on device" \
    "$net" train --data "$D" --metrics /dev/full
else
  ok "metrics on a full disk # SKIP no /dev/full"
fi

# ---- the command line ----
expect "unknown option" 2 "clinet train: unknown option '--frobnicate'
Try 'clinet train --help'." "$net" train --frobnicate
expect "a value for a flag" 2 "clinet bench: --profile takes no value
Try 'clinet bench --help'." "$net" bench --profile=1
expect "zero batch" 2 "clinet train: --batch expects a positive integer, got '0'
Try 'clinet train --help'." "$net" train --batch 0
expect "--checkpoint-every without --save" 2 "clinet: --checkpoint-every needs --save" \
  "$net" train --data "$D" --checkpoint-every 5
expect "unknown command" 2 "clinet: unknown command 'fit'; run 'clinet --help'" "$net" fit

# ---- cnncc ----
expect "cnncc: a double-precision trainer" 2 "cnncc: --dtype=double writes C for gradient checks, not a trainer: give -o FILE.c" \
  "$CNNCC" --dtype=double "$tmp/clinet.cnn" -o "$tmp/clinet-double"
expect "cnncc: missing program" 2 "cnncc: cannot read '$tmp/none.cnn': No such file or directory" \
  "$CNNCC" "$tmp/none.cnn" -o "$tmp/none"
# without -o, the trainer is named after NAME.cnn; other names need -o
expect "cnncc: no -o, no .cnn" 2 "cnncc: no -o and '$tmp/clinet' does not end in .cnn: name the trainer with -o PROGRAM" \
  "$CNNCC" "$tmp/clinet"
expect "cnncc: no -o, standard input" 2 "cnncc: no -o: name the trainer built from standard input with -o PROGRAM" \
  "$CNNCC" - </dev/null
# --plan prints the plan of training or inference code, nothing else
expect "cnncc: --plan of the PyTorch mirror" 2 "cnncc: --plan prints the plan of --emit=train or --emit=inference" \
  "$CNNCC" --plan --emit=pytorch "$tmp/clinet.cnn"
printf 'network noloss\ninput x[1, 4, 4]\noutput relu(x)\n' >"$tmp/noloss.cnn"
expect "cnncc: --plan without a loss" 1 "cnncc: network 'noloss' has no loss; a training plan needs a 'loss' statement" \
  "$CNNCC" --plan "$tmp/noloss.cnn"
cp "$top_srcdir/tests/diag/unknown-op.cnn" "$tmp/"
(cd "$tmp" && NO_COLOR=1 "$CNNCC" unknown-op.cnn -o bad >out 2>err)
rc=$?
if [ $rc = 1 ] && cmp -s "$tmp/err" "$top_srcdir/tests/diag/unknown-op.expected" &&
   [ ! -e "$tmp/bad" ] && [ ! -e "$tmp/bad.c" ]; then
  ok "cnncc -o on a broken program: exit 1, the diagnostics of tests/diag/unknown-op.expected, no output"
else
  not_ok "cnncc -o on a broken program (exit $rc)"
  diag "$(cat "$tmp/err")"
fi
