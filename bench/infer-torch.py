#!/usr/bin/env python3
"""infer-torch.py - batch-1 latency of a network in PyTorch, for
bench/infer-latency.sh to put next to the code of cnncc --emit=inference.

    python3 bench/infer-torch.py MODULE.py [SECONDS]

MODULE.py is the network's PyTorch mirror (cnncc --emit=pytorch). The
model is put in evaluation mode and called under torch.no_grad() with one
thread on one random sample (uniform in [0, 1)), as bench/infer-time.c
does: warm up for a tenth of the time, then five rounds of SECONDS / 5
(default 2 s in all). Prints "NAME MICROSECONDS": the mean time per call of
the fastest round of model.predict(x), the network's output."""
import importlib.util
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import torch  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: infer-torch.py MODULE.py [SECONDS]")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    spec = importlib.util.spec_from_file_location("mirror", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod.__name__]
    torch.set_num_threads(1)
    torch.manual_seed(1)
    model = classes[0]().eval()
    x = torch.rand(1, *mod.INPUT_SHAPE)
    with torch.no_grad():
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 10:
            model.predict(x)
        best = float("inf")
        for _ in range(5):
            calls, start = 0, time.perf_counter()
            while True:
                model.predict(x)
                calls += 1
                t = time.perf_counter() - start
                if t >= seconds / 5:
                    break
            best = min(best, t / calls)
    print("%s %.2f" % (mod.NAME, best * 1e6))


if __name__ == "__main__":
    main()
