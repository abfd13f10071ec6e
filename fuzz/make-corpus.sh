#!/bin/sh
# make-corpus.sh - regenerate the seed corpora in fuzz/corpus/ (committed;
# run this only when the inputs or the harnesses' input formats change).
#
#   fuzz/make-corpus.sh [CC]
#
# frontend/   examples/*.cnn and tests/diag/*.cnn, copied
# idx/        flag byte + small IDX files cut from data/fashion-mnist, plus
#             1-d, 2-d and 4-d ones (see fuzz-idx.c for the flag bits)
# cifar/      flag byte + CIFAR-10 records (synthetic pixels)
# checkpoint/ flag byte + checkpoints of fuzz-net.h written by
#             rt_checkpoint_save (fuzz/make-checkpoint.c, built with CC)
# image/      flag byte + small PNG files of every color type (Python) and
#             JPEG files (tests/image-write.c, built with CC)
# csv/        flag byte + small CSV tables: a header or not, quoted names,
#             CRLF lines, the label first or last (see fuzz-csv.c)
# Needs python3 (with its gzip module) and a C compiler with zlib, libpng
# and libjpeg.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cc=${1:-${CC:-cc}}
out=$top/fuzz/corpus
command -v python3 >/dev/null || { echo "make-corpus.sh: python3 is needed" >&2; exit 1; }

rm -rf "$out/frontend" "$out/idx" "$out/cifar" "$out/checkpoint" "$out/image" "$out/csv"
mkdir -p "$out/frontend" "$out/idx" "$out/cifar" "$out/checkpoint" "$out/image" "$out/csv"

for f in "$top"/examples/*.cnn; do cp "$f" "$out/frontend/example-$(basename "$f")"; done
for f in "$top"/tests/diag/*.cnn; do cp "$f" "$out/frontend/diag-$(basename "$f")"; done

python3 - "$top" "$out" <<'EOF'
import gzip, struct, sys, os, zlib
top, out = sys.argv[1], sys.argv[2]

def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b''.join(struct.pack('>I', d) for d in dims) + bytes(data)

def put(sub, name, flags, *parts):
    with open(os.path.join(out, sub, name), 'wb') as f:
        f.write(bytes([flags]) + b''.join(parts))

def pair(images, labels):  # u16 little-endian length of the images file
    return struct.pack('<H', len(images)) + images + labels

fm = os.path.join(top, 'data', 'fashion-mnist')
with gzip.open(os.path.join(fm, 'train-images-idx3-ubyte.gz')) as f:
    px = f.read(16 + 3 * 784)[16:]
with gzip.open(os.path.join(fm, 'train-labels-idx1-ubyte.gz')) as f:
    lb = f.read(8 + 3)[8:]
with gzip.open(os.path.join(fm, 't10k-images-idx3-ubyte.gz')) as f:
    tpx = f.read(16 + 784)[16:]

img3 = idx([3, 28, 28], px)
lab3 = idx([3], lb)
# images only (rt_images_load)
put('idx', 'images-3x28x28', 0x00, img3)
put('idx', 'images-3x28x28-gz', 0x09, img3)          # compressed by the harness
put('idx', 'images-raw-gzip', 0x08, gzip.compress(idx([1, 28, 28], tpx), mtime=0))  # gzip bytes to mutate
put('idx', 'images-1d', 0x00, idx([5], [0, 1, 2, 3, 255]))
put('idx', 'images-2d-seq', 0x00, idx([4, 6], range(24)))
put('idx', 'images-4d-chw', 0x00, idx([2, 3, 2, 2], range(24)))
# images and labels (rt_dataset_load)
put('idx', 'pair-train', 0x02, pair(img3, lab3))
put('idx', 'pair-train-gz', 0x4f, pair(img3, lab3))
put('idx', 'pair-test-ownshape', 0x32, pair(idx([1, 28, 28], tpx), idx([1], [9])))
put('idx', 'pair-seq-perpos', 0x22, pair(idx([2, 3, 5], range(30)), idx([2, 5], [0, 1, 2, 3, 4] * 2)))
put('idx', 'pair-mask-perpixel', 0x22, pair(idx([2, 4, 4], range(32)), idx([2, 4, 4], [i % 2 for i in range(32)])))
put('idx', 'pair-with-cifar', 0x82, pair(idx([2, 1, 1], [7, 8]), idx([2], [1, 0])))

def record(label, seed):
    return bytes([label]) + bytes((seed * 31 + i * 7) % 256 for i in range(3072))

put('cifar', 'test-1', 0x02, record(3, 1))
put('cifar', 'train-1', 0x00, record(9, 2))
put('cifar', 'train-1-gz', 0x01, record(0, 3))
put('cifar', 'train-2-files', 0x04, struct.pack('<H', 3073), record(1, 4), record(2, 5))
put('cifar', 'train-from-2', 0x20, record(4, 6))
put('cifar', 'train-2-records-2classes', 0x80, record(0, 7), record(1, 8))

# PNG: color type, bit depth, rows of filter byte 0 + samples
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

def png(w, h, ctype, depth, rows, extra=b''):
    raw = b''.join(b'\0' + r for r in rows)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0))
            + extra + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))

put('image', 'png-gray-28x28', 0x00, png(28, 28, 0, 8, [px[y * 28:(y + 1) * 28] for y in range(28)]))
put('image', 'png-rgb-8x6', 0x01, png(8, 6, 2, 8, [bytes((x * 30 + y * 7 + c * 50) % 256 for x in range(8) for c in range(3)) for y in range(6)]))
put('image', 'png-rgba-5x5', 0x02, png(5, 5, 6, 8, [bytes(range(y, y + 20)) for y in range(5)]))
put('image', 'png-palette-4x4', 0x01, png(4, 4, 3, 8, [bytes([0, 1, 2, 1])] * 4, chunk(b'PLTE', bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))))
put('image', 'png-palette-trns-4x4', 0x02, png(4, 4, 3, 8, [bytes([0, 1, 2, 1])] * 4, chunk(b'PLTE', bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])) + chunk(b'tRNS', bytes([0, 128]))))
put('image', 'png-gray-trns-4x4', 0x00, png(4, 4, 0, 8, [bytes([0, 1, 2, 1])] * 4, chunk(b'tRNS', struct.pack('>H', 1))))
put('image', 'png-gray16-3x3', 0x00, png(3, 3, 0, 16, [bytes(range(6))] * 3))
put('image', 'png-gray1-9x3', 0x03, png(9, 3, 0, 1, [bytes([0xa5, 0x80])] * 3))
put('csv', 'header-label-last', 0x00, b'a,b,c,label\n0.5,1,-2,1\n3e-1,0,7,0\n')
put('csv', 'no-header', 0x04, b'1,2,3,4\n5,6,7,0\n')
put('csv', 'quoted-crlf-label-first', 0x18, b'"label","x","y"\r\n2, 0.25 ,1\r\n\r\n0,1,1e3\r\n')
put('csv', 'gzip-label-named', 0x19, b'x,label,y\n1,2,3\n4,5,6\n')
EOF

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cc" -O1 -I"$top/runtime" -o "$tmp/make-checkpoint" "$top/fuzz/make-checkpoint.c" \
  "$top/runtime/checkpoint.c" "$top/runtime/util.c" -lz -lm
"$tmp/make-checkpoint" "$tmp"
ck() { # flags(octal escape) checkpoint name
  { printf "$1"; cat "$tmp/$2.ckpt"; } > "$out/checkpoint/$3"
}
ck '\000' mid-epoch load-plain
ck '\003' mid-epoch load-state-fixcrc
ck '\007' mid-epoch resume-mid-epoch
ck '\005' boundary resume-boundary
ck '\013' mid-epoch roundtrip
ck '\052' boundary other-hash
ck '\036' mid-epoch other-name
ck '\013' sections sections-roundtrip
ck '\005' sections sections-resume
"$cc" -O1 -I"$top/runtime" -o "$tmp/image-write" "$top/tests/image-write.c" \
  "$top/runtime/data.c" "$top/runtime/rng.c" "$top/runtime/util.c" -lpng -ljpeg -lz -lm
for form in gray rgb; do
  "$tmp/image-write" "$top/data/fashion-mnist/t10k-images-idx3-ubyte.gz" 0 "$tmp/$form.jpg" $form
  { printf '\001'; cat "$tmp/$form.jpg"; } > "$out/image/jpeg-$form-28x28"
done
echo "make-corpus.sh: wrote $(find "$out" -type f | wc -l) files under $out"
