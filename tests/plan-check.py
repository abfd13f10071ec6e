#!/usr/bin/env python3
"""plan-check.py - checks the text of `cnncc --plan` (tests/plan.sh) on its
own, without cnncc's code: every buffer lies within the pool and inside the
steps, no two buffers in use at a common step share memory, and every
layer's scratch fits the file's scratch. Prints the first violation and
exits 1, or exits 0.

    cnncc --plan NET.cnn | python3 tests/plan-check.py
"""
import sys


def lives(fields):
    """'3..21' -> (3, 21); '-' -> None"""
    out = []
    for f in fields:
        if f == "-":
            out.append(None)
        else:
            lo, hi = f.split("..")
            out.append((int(lo), int(hi)))
    return out


def together(a, b):
    return any(x and y and x[0] <= y[1] and y[0] <= x[1] for x in a for y in b)


def scratch(fields):
    return {k: int(v) for k, v in (f.split("=") for f in fields)}


def check(text):
    buffers, needs, total, pool, steps = [], {}, None, None, None
    for line in text.splitlines():
        w = line.split("#")[0].split()
        if not w:
            continue
        if w[0] == "buffer":  # buffer NAME offset O size S lives L0 L1
            assert w[2] == "offset" and w[4] == "size" and w[6] == "lives", line
            buffers.append((w[1], int(w[3]), int(w[5]), lives(w[7:9])))
        elif w[0] == "pool":
            pool = int(w[1])
        elif w[0] == "steps":
            steps = int(w[1])
        elif w[0] == "scratch" and w[1] == "total":
            total = scratch(w[2:])
        elif w[0] == "scratch":
            needs[w[1]] = scratch(w[2:])
    if pool is None or steps is None or total is None or not buffers:
        return "no pool, steps, scratch total or buffers"
    for name, off, size, life in buffers:
        if off < 0 or off + size > pool:
            return f"{name} [{off}, {off + size}) lies outside the pool of {pool}"
        for span in life:
            if span and not 0 <= span[0] <= span[1] < steps:
                return f"{name} is in use at steps {span}, outside 0..{steps - 1}"
    for i, (a, ao, asz, al) in enumerate(buffers):
        for b, bo, bsz, bl in buffers[i + 1:]:
            if asz and bsz and together(al, bl) and ao < bo + bsz and bo < ao + asz:
                return f"{a} [{ao}, {ao + asz}) and {b} [{bo}, {bo + bsz}) overlap, both in use at once"
    for layer, need in needs.items():
        for k, v in need.items():
            if v > total.get(k, -1):
                return f"{layer} needs {v} values of scratch {k}, the file has {total.get(k)}"
    return None


def main():
    why = check(sys.stdin.read())
    if why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
