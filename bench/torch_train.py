#!/usr/bin/env python3
"""torch_train.py - training speed of a cnncc PyTorch mirror (the baseline).

    python3 bench/torch_train.py MODULE.py [--batch B] [--steps N | --seconds S]
                                 [--warmup W] [--repeat R] [--threads 1,2] [--seed S]

MODULE.py is what `cnncc --emit=pytorch NET.cnn -o MODULE.py` writes. The
script does what the `bench` command of a cnncc trainer does: a fixed random
batch (inputs uniform in [0, 1), random class labels), then steps of
forward + loss + backward + Adam (the module's optimizer(), i.e. the train
block's settings) in training mode, W warm-up steps (default 3, as `bench`)
left out of the timing. With --seconds (the default, 5) the number of timed
steps is chosen from the time of one step so that the run takes about S
seconds (a run stops early past 3 x S); --steps fixes it. --repeat R (default 1) times R runs of N steps
and keeps the fastest (the machine may be busy with other work).

For each thread count (torch.set_num_threads) it prints a line per run

    threads=T steps=N seconds=X images_per_s=Y

then the best of them and the peak resident set size of the process:

    images_per_s=Y best_threads=T
    rss_after_import_kb=K
    peak_rss_kb=K
"""
import argparse
import importlib.util
import math
import resource
import sys
import time


def rss_kb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def load_module(path):
    spec = importlib.util.spec_from_file_location("cnncc_mirror", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def model_class(mod, nn):
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, nn.Module)
               and v.__module__ == mod.__name__]
    if len(classes) != 1:
        sys.exit("torch_train.py: expected one nn.Module class in the module, found %d"
                 % len(classes))
    return classes[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module", help="the module written by cnncc --emit=pytorch")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps (default: chosen from --seconds)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="about how long the timed steps take (default 5)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1,
                    help="timed runs per thread count; the fastest counts (default 1)")
    ap.add_argument("--threads", default="",
                    help="comma-separated thread counts (default: PyTorch's own setting)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    import torch
    import torch.nn as nn
    baseline_rss = rss_kb()

    mod = load_module(a.module)
    cls = model_class(mod, nn)
    threads = [int(t) for t in a.threads.split(",") if t] or [torch.get_num_threads()]
    classes = mod.LOGITS_SHAPE[0]
    positions = tuple(mod.LOGITS_SHAPE[1:])

    results = []
    for t in threads:
        torch.set_num_threads(t)
        torch.manual_seed(a.seed)
        model = cls()
        model.train()
        opt = model.optimizer()
        x = torch.rand((a.batch,) + tuple(mod.INPUT_SHAPE))
        labels = torch.randint(0, classes, (a.batch,) + positions)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = model.loss(model(x), labels)
            loss.backward()
            opt.step()
            return loss

        for _ in range(a.warmup):
            step()
        steps = a.steps
        if steps <= 0:
            t0 = time.perf_counter()
            step()
            one = time.perf_counter() - t0
            steps = max(1, math.ceil(a.seconds / max(one, 1e-6)))
        for _ in range(max(1, a.repeat)):
            # With --seconds a run stops early past 3 x S (a step can get
            # much slower than the one that was timed when the machine is
            # busy, with 2 threads above all).
            limit = 3 * a.seconds if a.steps <= 0 else math.inf
            t0 = time.perf_counter()
            done = 0
            while done < steps:
                loss = step()
                done += 1
                if time.perf_counter() - t0 > limit:
                    break
            float(loss)  # make sure the work is done
            seconds = time.perf_counter() - t0
            ips = a.batch * done / seconds
            results.append((ips, t))
            print("threads=%d steps=%d seconds=%.3f images_per_s=%.1f%s"
                  % (torch.get_num_threads(), done, seconds, ips,
                     "" if done == steps else " (stopped early)"), flush=True)
        del model, opt

    best = max(results)
    print("images_per_s=%.1f best_threads=%d" % best)
    print("rss_after_import_kb=%d" % baseline_rss)
    print("peak_rss_kb=%d" % rss_kb())


if __name__ == "__main__":
    main()
