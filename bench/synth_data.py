#!/usr/bin/env python3
"""synth_data.py - a tiny random data set in IDX format for a cnncc network.

    python3 bench/synth_data.py MODULE.py DIR [--train N] [--test N] [--seed S]

MODULE.py is the PyTorch mirror (cnncc --emit=pytorch); only its
INPUT_SHAPE and LOGITS_SHAPE lines are read (torch is not imported). DIR gets
train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
t10k-labels-idx1-ubyte with random pixels and random class labels (one per
sample, or one per position for per-position outputs), which every trainer
loads with `train --data DIR` (docs/runtime.md, IDX of any rank).
bench/train.sh uses it to compare training with 1 and 2 threads bit for bit.
"""
import argparse
import ast
import os
import random
import re
import struct
import sys


def shape(text, name):
    m = re.search(r"^%s\s*=\s*(\([^)]*\))" % name, text, re.M)
    if not m:
        sys.exit("synth_data.py: no %s in the module" % name)
    return tuple(ast.literal_eval(m.group(1)))


def write_idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 0x08, len(dims)))
        f.write(struct.pack(">%dI" % len(dims), *dims))
        f.write(bytes(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module")
    ap.add_argument("dir")
    ap.add_argument("--train", type=int, default=64)
    ap.add_argument("--test", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with open(a.module) as f:
        text = f.read()
    ins, logits = shape(text, "INPUT_SHAPE"), shape(text, "LOGITS_SHAPE")
    classes, positions = logits[0], logits[1:]
    if classes > 256:
        sys.exit("synth_data.py: %d classes do not fit in unsigned bytes" % classes)
    # A [1, ...] input is stored without the 1 (as MNIST's [n, 28, 28]).
    if len(ins) > 1 and ins[0] == 1:
        ins = ins[1:]
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    for split, n in (("train", a.train), ("t10k", a.test)):
        size = 1
        for d in ins:
            size *= d
        npos = 1
        for d in positions:
            npos *= d
        write_idx(os.path.join(a.dir, "%s-images-idx3-ubyte" % split), (n,) + ins,
                  (rng.randrange(256) for _ in range(n * size)))
        write_idx(os.path.join(a.dir, "%s-labels-idx1-ubyte" % split), (n,) + positions,
                  (rng.randrange(classes) for _ in range(n * npos)))


if __name__ == "__main__":
    main()
