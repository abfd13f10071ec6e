"""torch-mirror.py DIR NAME... - checks the PyTorch modules that
`cnncc --emit=pytorch` wrote to DIR/NAME.py against `cnncc --summary`
(DIR/NAME.summary). Prints exactly CHECKS lines per network, each
"ok|DESCRIPTION" or "not ok|DESCRIPTION" (tests/torch-mirror.sh numbers
them), then diagnostics as "#" lines."""
import importlib.util
import re
import subprocess
import sys
import traceback

import torch

CHECKS = 5  # keep in step with tests/torch-mirror.sh


def summary_of(path):
    """Total params, output shape and {layer: (shape, params)} of a summary."""
    text = open(path).read()
    total = int(re.search(r"^Total params: ([\d,]+)$", text, re.M).group(1).replace(",", ""))
    out = re.search(r"^Output: \S+ \[([\d, ]+)\];", text, re.M).group(1)
    layers = {}
    for m in re.finditer(r"^(\w+) \(\w+\)\s+\[([\d, ]+)\]\s+([\d,]+)\s", text, re.M):
        shape = tuple(int(d) for d in m.group(2).split(","))
        layers[m.group(1)] = (shape, int(m.group(3).replace(",", "")))
    return total, tuple(int(d) for d in out.split(",")), layers


def load(path, name):
    spec = importlib.util.spec_from_file_location("mirror_" + name.replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def random_labels(mod, n):
    """Labels for the loss: class indices, or targets for mse."""
    shape = (n,) + tuple(mod.LOGITS_SHAPE)
    if mod.LOSS == "mse":
        return torch.rand(shape)
    return torch.randint(0, shape[1], shape[:1] + shape[2:])


def check_network(directory, name):
    results = []

    def report(ok, text, detail=None):
        results.append(("ok|" if ok else "not ok|") + name + ": " + text)
        if detail and not ok:
            results.extend("# " + line for line in detail.rstrip().splitlines())

    path = "%s/%s.py" % (directory, name)
    try:
        total, out_shape, layers = summary_of("%s/%s.summary" % (directory, name))
        mod = load(path, name)
        cls = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod.__name__]
        assert len(cls) == 1, "expected one nn.Module class, found %d" % len(cls)
        model = cls[0]()
        run = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=120)
        printed = "%s: %s parameters" % (mod.NAME, format(total, ","))
        assert run.returncode == 0 and run.stdout.strip() == printed, \
            "running the module printed %r (want %r): %s" % (run.stdout, printed, run.stderr)
        report(True, "module %s imports and runs" % cls[0].__name__)
    except Exception:
        report(False, "module imports and runs", traceback.format_exc())
        return results + ["not ok|%s: (skipped, no module)" % name] * (CHECKS - 1)

    try:
        count = sum(p.numel() for p in model.parameters())
        bad = []
        for node, (_, params) in layers.items():
            sub = getattr(model, node, None)
            got = sum(p.numel() for p in sub.parameters()) if isinstance(sub, torch.nn.Module) else 0
            if got != params:
                bad.append("%s: %d parameters, summary says %d" % (node, got, params))
        report(count == total and not bad and mod.NUM_PARAMS == total,
               "%d parameters, summary says %d" % (count, total), "\n".join(bad))
    except Exception:
        report(False, "parameter count", traceback.format_exc())

    try:
        torch.manual_seed(0)
        x = torch.rand((2,) + tuple(mod.INPUT_SHAPE))
        model.train()
        logits = model(x)
        model.eval()
        with torch.no_grad():
            pred = model.predict(x)
        want_logits = (2,) + layers[mod.LOGITS_NODE][0]
        ok = tuple(logits.shape) == want_logits and tuple(pred.shape) == (2,) + out_shape
        report(ok, "logits %s (summary: %s), output %s (summary: %s)" % (
            list(logits.shape), list(want_logits), list(pred.shape), [2] + list(out_shape)))
    except Exception:
        report(False, "forward and predict on a batch of 2", traceback.format_exc())

    try:
        nbuf = sum(2 * layers[n][0][0] for n in layers if re.fullmatch(r"bn\d+", n))
        flat = torch.randn(total)
        bufs = torch.rand(nbuf)
        used = model.load_flat(flat, bufs)
        params = dict(model.named_parameters())
        buffers = {k: v for k, v in model.named_buffers() if not k.endswith("num_batches_tracked")}
        problems = []
        if used != (total, nbuf):
            problems.append("load_flat consumed %s, want (%d, %d)" % (used, total, nbuf))
        if sorted(n for n, _ in mod.PARAMS) != sorted(params):
            problems.append("PARAMS does not list every parameter once")
        if sorted(n for n, _ in mod.BUFFERS) != sorted(buffers):
            problems.append("BUFFERS does not list every running statistic once")
        if not torch.equal(model.flat_params(), flat) or not torch.equal(model.flat_buffers(), bufs):
            problems.append("flat_params()/flat_buffers() do not give back what load_flat() took")
        for bad in ((flat[:-1], bufs), (torch.zeros(total + 1), bufs), (flat, torch.zeros(nbuf + 1))):
            try:
                model.load_flat(*bad)
                problems.append("load_flat accepted %d + %d values" % (bad[0].numel(), bad[1].numel()))
            except ValueError:
                pass
        report(not problems, "load_flat consumes exactly %d parameters and %d buffer values"
               % (total, nbuf), "\n".join(problems))
    except Exception:
        report(False, "load_flat", traceback.format_exc())

    try:
        model.train()
        model.zero_grad()
        labels = random_labels(mod, 2)
        loss = model.loss(model(x), labels)
        loss.backward()
        grads = model.flat_grads()
        ok = loss.dim() == 0 and torch.isfinite(loss) and grads.numel() == total \
            and bool(torch.isfinite(grads).all())
        report(ok, "%s loss %.4g, flat_grads() has %d values" % (mod.LOSS, float(loss), grads.numel()))
    except Exception:
        report(False, "loss and flat_grads", traceback.format_exc())
    return results


def main():
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)
    for name in sys.argv[2:]:
        for line in check_network(sys.argv[1], name):
            print(line)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
