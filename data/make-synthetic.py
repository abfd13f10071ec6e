#!/usr/bin/env python3
"""make-synthetic.py - small synthetic data sets for the sequence and
segmentation examples (examples/wavenet.cnn, examples/unet.cnn), as gzipped
IDX files with the MNIST names that cnncc's trainers read:

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

Usage:

    data/make-synthetic.py sines OUTDIR [--train N] [--test N] [--length L] [--seed S]
    data/make-synthetic.py masks OUTDIR [--train N] [--test N] [--size S]
                                 [--threshold T] [--source DIR] [--seed S]

sines  Next-step prediction (WaveNet). Each sequence is a sum of 2 or 3 sines
       with random periods (12 to 160 steps), amplitudes and phases, scaled
       into [0, 255] and quantized to 256 levels. Images are [n, 1, L]
       (L = --length, default 1024): steps 0..L-1; labels are [n, L]: the
       quantized value of the NEXT step, 1..L, so label[t] is input[t + 1].
masks  Foreground segmentation (U-Net). Fashion-MNIST images (from --source,
       default the sample in data/fashion-mnist; the train split from its
       train files, the test split from its t10k files) scaled up 2x by
       nearest neighbour to 56x56 and placed at a random offset in an SxS
       canvas (S = --size, default 64) of zeros. Images are [n, S, S]; labels
       are [n, S, S]: 1 where the canvas pixel is above --threshold (default
       64), else 0.

Defaults: 128 train / 32 test (sines), 256 train / 64 test (masks), seed 1.
Python 3 standard library only. The output depends only on the arguments
(random.Random(seed); gzip level 9 with a zero timestamp and no file name),
so rerunning gives byte-identical files. Besides the four files, OUTDIR gets
stats.json with baselines for the test split:

    majority        fraction of labels equal to the most frequent class
    entropy         entropy of the labels in nats: the smallest mean
                    cross-entropy of a predictor that ignores the input
    persistence     (sines) fraction of labels equal to the current input,
                    i.e. the accuracy of predicting "no change"
"""
import argparse
import gzip
import io
import json
import math
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def idx_bytes(dims, data):
    """An unsigned-byte IDX file: magic 0 0 0x08 rank, big-endian dims, data."""
    assert len(data) == math.prod(dims)
    return struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(">%dI" % len(dims), *dims) + bytes(data)


def write_gz(path, payload):
    """gzip level 9, mtime 0 and no file name: reproducible bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as f:
        f.write(payload)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_split(outdir, prefix, image_dims, images, label_dims, labels):
    write_gz(os.path.join(outdir, prefix + "-images-idx3-ubyte.gz"), idx_bytes(image_dims, images))
    write_gz(os.path.join(outdir, prefix + "-labels-idx1-ubyte.gz"), idx_bytes(label_dims, labels))


def label_stats(labels):
    """Majority fraction and entropy (nats) of the labels."""
    counts = {}
    for v in labels:
        counts[v] = counts.get(v, 0) + 1
    n = len(labels)
    return {"majority": max(counts.values()) / n,
            "entropy": -sum(c / n * math.log(c / n) for c in counts.values())}


# ---- sines ----

def sine_sequence(rng, steps):
    """steps + 1 quantized values of a random sum of 2 or 3 sines."""
    waves = []
    for _ in range(rng.choice((2, 3))):
        period = rng.uniform(12.0, 160.0)
        waves.append((rng.uniform(0.3, 1.0), 2 * math.pi / period, rng.uniform(0, 2 * math.pi)))
    total = sum(a for a, _, _ in waves)
    out = bytearray(steps + 1)
    for t in range(steps + 1):
        v = sum(a * math.sin(w * t + p) for a, w, p in waves) / total  # in [-1, 1]
        out[t] = min(255, max(0, int(round((v + 1) * 127.5))))
    return out


def make_sines(outdir, ntrain, ntest, length, seed):
    rng = random.Random(seed)
    stats = {}
    for prefix, n in (("train", ntrain), ("t10k", ntest)):
        images, labels = bytearray(), bytearray()
        for _ in range(n):
            q = sine_sequence(rng, length)
            images += q[:length]
            labels += q[1:]
        write_split(outdir, prefix, (n, 1, length), images, (n, length), labels)
        if prefix == "t10k":
            stats = {"kind": "sines", "train": ntrain, "test": ntest, "length": length,
                     "classes": 256,
                     "persistence": sum(a == b for a, b in zip(images, labels)) / len(labels)}
            stats.update(label_stats(labels))
    return stats


# ---- masks ----

def read_idx_images(path, count):
    """The first count images of an unsigned-byte IDX file [n, H, W] (.gz)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        zero, dtype, rank = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype != 0x08 or rank != 3:
            sys.exit("make-synthetic.py: %s: not an unsigned-byte IDX file [n, H, W]" % path)
        n, h, w = struct.unpack(">3I", f.read(12))
        if count > n:
            sys.exit("make-synthetic.py: %s has %d images, %d wanted" % (path, n, count))
        data = f.read(count * h * w)
    if len(data) != count * h * w:
        sys.exit("make-synthetic.py: %s is truncated" % path)
    return [data[i * h * w:(i + 1) * h * w] for i in range(count)], h, w


def find(source, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(source, name)
        if os.path.exists(path):
            return path
    sys.exit("make-synthetic.py: no %s[.gz] in %s" % (stem, source))


def make_masks(outdir, ntrain, ntest, size, threshold, source, seed):
    rng = random.Random(seed)
    stats = {}
    for prefix, n in (("train", ntrain), ("t10k", ntest)):
        pictures, h, w = read_idx_images(find(source, prefix + "-images-idx3-ubyte"), n)
        if 2 * h > size or 2 * w > size:
            sys.exit("make-synthetic.py: %dx%d images scaled 2x do not fit in %dx%d" % (h, w, size, size))
        images, labels = bytearray(), bytearray()
        for pic in pictures:
            canvas = bytearray(size * size)
            oy, ox = rng.randint(0, size - 2 * h), rng.randint(0, size - 2 * w)
            for y in range(2 * h):
                row = pic[(y // 2) * w:(y // 2 + 1) * w]
                start = (oy + y) * size + ox
                canvas[start:start + 2 * w] = bytes(v for v in row for _ in (0, 1))
            images += canvas
            labels += bytes(1 if v > threshold else 0 for v in canvas)
        write_split(outdir, prefix, (n, size, size), images, (n, size, size), labels)
        if prefix == "t10k":
            stats = {"kind": "masks", "train": ntrain, "test": ntest, "size": size,
                     "threshold": threshold, "classes": 2, "foreground": sum(labels) / len(labels)}
            stats.update(label_stats(labels))
    return stats


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("sines", "masks"))
    p.add_argument("outdir")
    p.add_argument("--train", type=int, help="training samples (128 sines, 256 masks)")
    p.add_argument("--test", type=int, help="test samples (32 sines, 64 masks)")
    p.add_argument("--length", type=int, default=1024, help="sines: steps per sequence")
    p.add_argument("--size", type=int, default=64, help="masks: canvas side")
    p.add_argument("--threshold", type=int, default=64, help="masks: foreground is pixel > T")
    p.add_argument("--source", default=os.path.join(HERE, "fashion-mnist"),
                   help="masks: directory with Fashion-MNIST IDX files")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    for name in ("train", "test", "length", "size"):
        v = getattr(a, name)
        if v is not None and v < 1:
            p.error("--%s must be positive" % name)
    os.makedirs(a.outdir, exist_ok=True)
    if a.kind == "sines":
        stats = make_sines(a.outdir, a.train or 128, a.test or 32, a.length, a.seed)
    else:
        stats = make_masks(a.outdir, a.train or 256, a.test or 64, a.size, a.threshold,
                           a.source, a.seed)
    with open(os.path.join(a.outdir, "stats.json"), "w") as f:
        json.dump(stats, f, sort_keys=True)
        f.write("\n")
    print(json.dumps(stats, sort_keys=True))


if __name__ == "__main__":
    main()
