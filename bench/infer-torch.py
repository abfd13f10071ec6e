#!/usr/bin/env python3
"""infer-torch.py - batch-1 latency of a network in PyTorch, for
bench/infer-latency.sh to put next to the code of cnncc --emit=inference.

    python3 bench/infer-torch.py MODULE.py [SECONDS [BATCH [THREADS]]]

MODULE.py is the network's PyTorch mirror (cnncc --emit=pytorch). The
model is put in evaluation mode and called under torch.no_grad() with
THREADS threads (default 1, torch.set_num_threads) on one batch of BATCH
(default 1) random samples (uniform in [0, 1)), as bench/infer-time.c
does: for a tenth of the time to warm up, then for SECONDS (default 2),
timing every call of model.predict(x) (the network's output). Prints
"NAME MIN MEDIAN": the fastest and the median call in microseconds."""
import importlib.util
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import torch  # noqa: E402


def main():
    if len(sys.argv) not in range(2, 6):
        sys.exit("usage: infer-torch.py MODULE.py [SECONDS [BATCH [THREADS]]]")
    seconds, batch, threads = [t(a) for t, a in zip((float, int, int), sys.argv[2:] + ["2", "1", "1"])]
    spec = importlib.util.spec_from_file_location("mirror", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod.__name__]
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = classes[0]().eval()
    x = torch.rand(batch, *mod.INPUT_SHAPE)
    with torch.no_grad():
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 10:
            model.predict(x)
        times = []
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            model.predict(x)
            t1 = time.perf_counter()
            times.append(t1 - t0)
            if t1 - start >= seconds:
                break
    times.sort()
    print("%s %.2f %.2f" % (mod.NAME, times[0] * 1e6, times[len(times) // 2] * 1e6))


if __name__ == "__main__":
    main()
