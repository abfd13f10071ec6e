#!/usr/bin/env python3
"""idx-to-csv.py - write an IDX data set as CSV files, the table the
trainer reads with --data (docs/training.md, "CSV files"); for
tests/data-formats.sh and as an example of the format:

    data/idx-to-csv.py IDXDIR OUTDIR

IDXDIR holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]
and the t10k- ones (one label per sample); OUTDIR gets train.csv and
test.csv: a header line (p0, p1, ..., label), then a line per sample, in
the IDX order, with its pixels flattened and divided by 255 and its label
last. The values are the float32 numbers the trainer computes from the
bytes (byte / 255), written with 9 significant digits so that they read
back exactly: a network trains on these files to the same bits as on the
IDX files. Plain Python.
"""
import os
import struct
import sys

from idx import read_idx


def as_float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def export(idxdir, prefix, path):
    dims, pixels = read_idx(os.path.join(idxdir, prefix + "-images-idx3-ubyte"))
    _, labels = read_idx(os.path.join(idxdir, prefix + "-labels-idx1-ubyte"))
    size = len(pixels) // dims[0]
    # p / 255 in double is exact enough that rounding it to float32 gives
    # the float32 quotient the trainer computes (1/255 repeats every 8 bits)
    text = ["%.9g" % as_float32(p / 255) for p in range(256)]
    with open(path, "w") as f:
        f.write(",".join(["p%d" % i for i in range(size)] + ["label"]) + "\n")
        for i in range(dims[0]):
            row = pixels[i * size:(i + 1) * size]
            f.write(",".join(text[p] for p in row) + ",%d\n" % labels[i])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: idx-to-csv.py IDXDIR OUTDIR")
    idxdir, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    export(idxdir, "train", os.path.join(outdir, "train.csv"))
    export(idxdir, "t10k", os.path.join(outdir, "test.csv"))


if __name__ == "__main__":
    main()
