#!/usr/bin/env python3
"""Write the Fashion-MNIST sample shipped with cnncc: the first 6,000
training and 1,000 test images and labels, as gzipped IDX files.

usage: make-sample.py [SOURCE_DIR [OUT_DIR]]
  SOURCE_DIR  full Fashion-MNIST (default /usr/share/datasets/fashion-mnist)
  OUT_DIR     where to write (default: fashion-mnist/ next to this script)

Standard library only. The output is deterministic (gzip level 9, mtime 0,
no file name in the gzip header), so rerunning it reproduces the files.
"""
import gzip
import os
import struct
import sys

SPLITS = [("train", 6000), ("t10k", 1000)]
KINDS = ["images-idx3", "labels-idx1"]


def head_of_idx(data, count, name):
    """The first `count` records of an IDX file, with the count rewritten."""
    if data[:2] != b"\0\0" or data[2] != 0x08:
        sys.exit(f"{name}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = list(struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim]))
    if dims[0] < count:
        sys.exit(f"{name}: has {dims[0]} records, need {count}")
    record = 1
    for d in dims[1:]:
        record *= d
    start = 4 + 4 * ndim
    dims[0] = count
    header = data[:4] + struct.pack(f">{ndim}I", *dims)
    return header + data[start:start + count * record]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "fashion-mnist")
    os.makedirs(out, exist_ok=True)
    for split, count in SPLITS:
        for kind in KINDS:
            name = f"{split}-{kind}-ubyte.gz"
            with gzip.open(os.path.join(src, name), "rb") as f:
                data = head_of_idx(f.read(), count, name)
            with open(os.path.join(out, name), "wb") as f:
                f.write(gzip.compress(data, compresslevel=9, mtime=0))
            print(f"{os.path.join(out, name)}: {count} records")


if __name__ == "__main__":
    main()
