"""torch-ckpt.py - the Python side of tests/torch-ckpt.sh: cnncc checkpoints
through the PyTorch mirror's load_cnncc_checkpoint() and
save_cnncc_checkpoint() (cnncc --emit=pytorch, docs/interop.md).

    torch-ckpt.py roundtrip MODULE.py IN OUT [M]
                                               load IN (model and Adam; SGD with
                                               momentum M), save OUT
    torch-ckpt.py fresh MODULE.py OUT          save a freshly initialized model
    torch-ckpt.py reject MODULE.py FILE        loading FILE must raise CheckpointError
                                               and change nothing; prints the message
    torch-ckpt.py close MODULE.py A B          A and B hold the same position and step,
                                               and blocks within 1e-5 of their scale
    torch-ckpt.py metrics CNNCC.json TORCH.json
                                               the trainer's epochs agree with PyTorch's
                                               (1e-5 relative)
    torch-ckpt.py save-errors MODULE.py OUT    saving with a bad position or a
                                               optimizer other than Adam, AdamW or SGD raises, writes nothing

Exit status 0 when the check holds, 1 (with the reason on stdout) when not."""
import json
import os
import sys

import torch

from mirror_module import load_module

TOLERANCE = 1e-5


def roundtrip(module, src, dst, sgd=None):
    """With sgd (a momentum), through torch.optim.SGD instead of Adam."""
    mod, cls = load_module(module)
    model = cls()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=float(sgd)) if sgd else model.optimizer()
    position = mod.load_cnncc_checkpoint(src, model, opt)
    mod.save_cnncc_checkpoint(dst, model, opt, position)
    return 0


def fresh(module, dst):
    mod, cls = load_module(module)
    mod.save_cnncc_checkpoint(dst, cls())
    return 0


def state(model, opt):
    """Everything loading may change: the flat blocks and Adam's state."""
    tensors = [model.flat_params(), model.flat_buffers()]
    for p in model.parameters():
        tensors += [t.clone() for t in opt.state.get(p, {}).values()]
    return [t.clone() for t in tensors]


def reject(module, path):
    mod, cls = load_module(module)
    model = cls()
    opt = model.optimizer()
    before = state(model, opt)
    try:
        mod.load_cnncc_checkpoint(path, model, opt)
    except mod.CheckpointError as e:
        print(e)
        after = state(model, opt)
        if len(after) != len(before) or any(not torch.equal(a, b) for a, b in zip(after, before)):
            print("but the model or the optimizer changed")
            return 1
        return 0
    except Exception as e:  # the wrong kind of error
        print("%s instead of CheckpointError: %s" % (type(e).__name__, e))
        return 1
    print("loaded without an error")
    return 1


def close(module, a, b):
    mod, cls = load_module(module)
    runs = []
    for path in (a, b):
        model = cls()
        opt = model.optimizer()
        position = mod.load_cnncc_checkpoint(path, model, opt)
        steps = {int(s["step"]) for s in opt.state.values()}
        m = [opt.state[p]["exp_avg"].reshape(-1) for p in model.parameters() if p in opt.state]
        v = [opt.state[p]["exp_avg_sq"].reshape(-1) for p in model.parameters() if p in opt.state]
        blocks = {"params": model.flat_params(), "buffers": model.flat_buffers(),
                  "m": torch.cat(m) if m else torch.zeros(0),
                  "v": torch.cat(v) if v else torch.zeros(0)}
        runs.append((position, steps, blocks))
    (pa, sa, ba), (pb, sb, bb) = runs
    bad = 0
    if pa != pb or sa != sb:
        print("position %s, step %s in %s but %s, %s in %s" % (pa, sa, a, pb, sb, b))
        bad = 1
    for name in ba:
        x, y = ba[name], bb[name]
        if x.numel() == 0 and y.numel() == 0:
            continue
        err = float((x - y).abs().max()) if x.shape == y.shape else float("inf")
        scale = float(y.abs().max())
        print("%s: largest difference %.3g, %.3g of the largest value" % (name, err, err / scale))
        if not err <= TOLERANCE * scale:
            bad = 1
    return bad


def metrics(cnncc, torch_json):
    """Each epoch the trainer reports against PyTorch's line of that epoch;
    the trainer prints 6 significant digits (%.6g), so half a unit of the
    6th digit is allowed on top of the tolerance."""
    ours = [json.loads(line) for line in open(cnncc) if line.strip()]
    theirs = {e["epoch"]: e for e in (json.loads(line) for line in open(torch_json) if line.strip())}
    if not ours:
        print("no epochs in %s" % cnncc)
        return 1
    bad = 0
    for e in ours:
        t = theirs.get(e["epoch"])
        if t is None:
            print("epoch %d: not in %s" % (e["epoch"], torch_json))
            bad = 1
            continue
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            c, p = e[key], t[key]
            rounding = 0.5 * 10 ** (int(f"{abs(p):e}".split("e")[1]) - 5) if p else 0
            ok = abs(c - p) <= TOLERANCE * abs(p) + rounding
            print("epoch %d %s: cnncc %.6g PyTorch %.8g%s" % (e["epoch"], key, c, p, "" if ok else " DIFFER"))
            bad |= not ok
    return bad


def save_errors(module, dst):
    mod, cls = load_module(module)
    model = cls()
    cases = [("a batch of 0", ValueError, dict(position={"batch": 0})),
             ("an unknown field", ValueError, dict(position={"epochs": 3})),
             ("RMSprop", TypeError, dict(optimizer=torch.optim.RMSprop(model.parameters(), lr=0.1)))]
    bad = 0
    for what, kind, kwargs in cases:
        try:
            mod.save_cnncc_checkpoint(dst, model, **kwargs)
            print("%s: saved without an error" % what)
            bad = 1
        except kind as e:
            print("%s: %s: %s" % (what, kind.__name__, e))
        except Exception as e:
            print("%s: %s instead of %s: %s" % (what, type(e).__name__, kind.__name__, e))
            bad = 1
    if os.path.exists(dst) or os.path.exists(dst + ".tmp"):
        print("%s was written" % dst)
        bad = 1
    return bad


def main():
    commands = {"roundtrip": roundtrip, "fresh": fresh, "reject": reject, "close": close,
                "metrics": metrics, "save-errors": save_errors}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))


if __name__ == "__main__":
    main()
