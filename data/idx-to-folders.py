#!/usr/bin/env python3
"""idx-to-folders.py - write an IDX data set as image folders, the layout
the trainer reads with --data (docs/training.md, "Image folders"); for
tests/data-formats.sh and as an example of the layout:

    data/idx-to-folders.py IDXDIR OUTDIR [CLASS_NAME...]

IDXDIR holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]
and the t10k- ones (gray [n,H,W] images, one label each); OUTDIR gets
train/<class>/NNNNN.png and test/<class>/NNNNN.png, numbered in the IDX
order, so that a trainer reading the folders sees the samples in the IDX
order. The class folders are named by the CLASS_NAMEs (label k gets the
k-th; they must sort in the labels' order) or else by the labels, zero
padded. Plain Python: the PNG files (8-bit gray) are written with zlib.
"""
import os
import struct
import sys

from idx import read_idx
import zlib


def png_gray(width, height, pixels):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    rows = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def export(idxdir, prefix, outdir, names):
    (n, h, w), pixels = read_idx(os.path.join(idxdir, prefix + "-images-idx3-ubyte"))
    _, labels = read_idx(os.path.join(idxdir, prefix + "-labels-idx1-ubyte"))
    for i in range(n):
        folder = os.path.join(outdir, names[labels[i]])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "%05d.png" % i), "wb") as f:
            f.write(png_gray(w, h, pixels[i * h * w:(i + 1) * h * w]))


def main():
    idxdir, outdir = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or ["%03d" % k for k in range(256)]
    if sorted(names) != names:
        sys.exit("idx-to-folders.py: the class names must sort in the labels' order")
    export(idxdir, "train", os.path.join(outdir, "train"), names)
    export(idxdir, "t10k", os.path.join(outdir, "test"), names)


if __name__ == "__main__":
    main()
