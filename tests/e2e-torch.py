"""e2e-torch.py - train the PyTorch mirror of a network (cnncc --emit=pytorch)
on IDX data, as the trainer that cnncc generates does, for the end-to-end
comparisons of tests/e2e-lenet.sh and tests/torch-ckpt.sh.

    e2e-torch.py MODULE.py --data DIR [--params P.f32 [--buffers B.f32]]
                 [--resume CKPT] [--save-at STEP CKPT]...
                 [--epochs N] [--batch B] [--lr X] [--seed S] [--threads T]
                 [--order ORDER.i32] [--metrics FILE]
                 [--optimizer SPEC] [--schedule SPEC] [--clip X]

Starts from cnncc's initial weights (the flat blocks that tests/e2e-init.c
wrote, loaded with load_flat), from PyTorch's own initialization (neither
--params nor --resume), or from a cnncc checkpoint (--resume: the weights,
Adam's state and the position in the data, read with the module's
load_cnncc_checkpoint), then trains with the module's optimizer()
(torch.optim.Adam with the train block's settings) in batches taken in
order from a permutation of the training set, the last partial batch
included, as cnncc's runtime does; evaluates on the test split after every
epoch. The permutation of each epoch is PyTorch's own (torch.randperm from
a generator seeded with --seed) or, with --order, the one cnncc's trainer
uses (written by tests/e2e-init.c: EPOCHS x N int32). --save-at STEP CKPT
writes a cnncc checkpoint (save_cnncc_checkpoint) after Adam step STEP, as
`train --save` would hold it then (after the epoch's end when STEP ends an
epoch). Reads the MNIST-named IDX files (plain or .gz) with gzip and
struct; pixels become byte / 255. Prints one line per epoch and, last,
test_acc=ACCURACY; --metrics writes one JSON line per epoch with the keys
of the trainer's --metrics (at full precision). --optimizer, --schedule
and --clip (by default the train block's) take the trainer's specs
(docs/training.md) and train with the
torch.optim optimizer, the torch.optim.lr_scheduler schedule (stepped once
per epoch; onecycle once per step) and torch.nn.utils.clip_grad_norm_ they
stand for, from PyTorch's own implementations."""
import json
import argparse
import ast
import gzip
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

from mirror_module import load_module

IDX_TYPES = {0x08: 1}  # unsigned byte, the only type the runtime reads


def read_idx(directory, stem):
    """An IDX file DIR/STEM or DIR/STEM.gz as a uint8 tensor of its shape."""
    for name, opener in ((stem, open), (stem + ".gz", gzip.open)):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with opener(path, "rb") as f:
                data = f.read()
            break
    else:
        sys.exit("e2e-torch.py: no %s[.gz] in %s" % (stem, directory))
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype not in IDX_TYPES:
        sys.exit("e2e-torch.py: %s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">%dI" % rank, data[4:4 + 4 * rank])
    body = bytearray(data[4 + 4 * rank:])
    if len(body) != math.prod(dims):
        sys.exit("e2e-torch.py: %s: %d data bytes, expected %d" % (path, len(body), math.prod(dims)))
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def load_split(directory, split, input_shape):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(directory, prefix + "-images-idx3-ubyte")
    labels = read_idx(directory, prefix + "-labels-idx1-ubyte")
    x = images.reshape((images.shape[0],) + tuple(input_shape)).float().div_(255)
    return x, labels.long()


def evaluate(model, x, y, batch):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            n = len(logits)
            loss_sum += float(model.loss(logits, y[i:i + batch])) * n
            correct += model.correct(logits, y[i:i + batch])
    return loss_sum / len(x), correct / y.numel()


def read_floats(path, dtype=torch.float32):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=dtype) if data else torch.zeros(0, dtype=dtype)


def parse_spec(spec):
    """'sgd(lr=0.1,nesterov=true)' as ('sgd', {'lr': 0.1, 'nesterov': True});
    only arguments by name."""
    name, _, rest = spec.partition("(")
    call = ast.parse("f(" + rest.replace("true", "True").replace("false", "False")
                     if rest else "f()", mode="eval").body
    return name.strip(), {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def make_optimizer(spec, params, lr):
    """The torch.optim optimizer of a trainer's --optimizer spec."""
    name, kw = parse_spec(spec)
    if lr:
        kw["lr"] = lr
    if name == "sgd":
        return torch.optim.SGD(params, **kw)
    betas = list(kw.pop("betas", (0.9, 0.999)))
    betas = (kw.pop("beta1", betas[0]), kw.pop("beta2", betas[1]))
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return cls(params, betas=betas, **kw)


def make_schedule(spec, opt, epochs, steps):
    """(scheduler, per_step) of a trainer's --schedule spec."""
    S = torch.optim.lr_scheduler
    name, kw = parse_spec(spec)
    if name == "step":
        return S.StepLR(opt, **kw), False
    if name == "multistep":
        return S.MultiStepLR(opt, **kw), False
    total = kw.pop("epochs", epochs)
    if name == "onecycle":
        return S.OneCycleLR(opt, total_steps=total * steps, **kw), True
    warmup = kw.get("warmup", 0)
    cosine = S.CosineAnnealingLR(opt, T_max=total - warmup)
    if not warmup:
        return cosine, False
    linear = S.LinearLR(opt, start_factor=1 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    return S.SequentialLR(opt, [linear, cosine], milestones=[warmup]), False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("module")
    p.add_argument("--data", required=True)
    p.add_argument("--params")
    p.add_argument("--buffers")
    p.add_argument("--resume")
    p.add_argument("--save-at", nargs=2, action="append", default=[], metavar=("STEP", "CKPT"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--order")
    p.add_argument("--metrics")
    p.add_argument("--optimizer")
    p.add_argument("--schedule")
    p.add_argument("--clip", type=float)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    mod, cls = load_module(a.module)
    model = cls()
    if a.params:
        model.load_flat(read_floats(a.params), read_floats(a.buffers) if a.buffers else None)
    if a.optimizer:
        opt = make_optimizer(a.optimizer, model.parameters(), a.lr)
    else:
        opt = model.optimizer(**({"lr": a.lr} if a.lr else {}))
    epochs = a.epochs or mod.TRAIN["epochs"]
    batch = a.batch or mod.TRAIN["batch"]
    # the position in the data, as the runtime's RtTrainState holds it
    pos = dict(seed=a.seed, epoch=0, epoch_step=0, batch=batch, loss_sum=0.0, correct=0, seen=0)
    if a.resume:
        pos = mod.load_cnncc_checkpoint(a.resume, model, opt)
        if pos["batch"] != batch:
            sys.exit("e2e-torch.py: --batch %d, but %s has batch %d" % (batch, a.resume, pos["batch"]))
    saves = {int(step): path for step, path in a.save_at}
    t = int(next(iter(opt.state.values()), {}).get("step", 0))
    x, y = load_split(a.data, "train", mod.INPUT_SHAPE)
    tx, ty = load_split(a.data, "test", mod.INPUT_SHAPE)
    positions = y[0].numel()
    steps = (len(x) + batch - 1) // batch
    a.schedule = a.schedule or mod.TRAIN.get("schedule")  # the train block's by default
    a.clip = a.clip or mod.TRAIN.get("clip")
    sched, per_step = make_schedule(a.schedule, opt, epochs, steps) if a.schedule else (None, False)
    gen = torch.Generator().manual_seed(a.seed)
    orders = None
    if a.order:
        orders = read_floats(a.order, torch.int32).long()
        if orders.numel() != epochs * len(x):
            sys.exit("e2e-torch.py: %s: %d indices, expected %d epochs x %d samples"
                     % (a.order, orders.numel(), epochs, len(x)))
        orders = orders.reshape(epochs, len(x))
    metrics = open(a.metrics, "w") if a.metrics else None
    test_acc = None
    while pos["epoch"] < epochs:
        start = time.time()
        model.train()
        order = orders[pos["epoch"]] if orders is not None else torch.randperm(len(x), generator=gen)
        while pos["epoch_step"] < steps:
            idx = order[pos["epoch_step"] * batch:(pos["epoch_step"] + 1) * batch]
            logits = model(x[idx])
            loss = model.loss(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            if a.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            if per_step:
                sched.step()
            t += 1
            pos["epoch_step"] += 1
            pos["loss_sum"] += float(loss) * len(idx)
            pos["correct"] += model.correct(logits.detach(), y[idx])
            pos["seen"] += len(idx)
            if t in saves and pos["epoch_step"] < steps:
                mod.save_cnncc_checkpoint(saves[t], model, opt, pos)
        if sched and not per_step:
            sched.step()
        test_loss, test_acc = evaluate(model, tx, ty, 1000)
        e = {"epoch": pos["epoch"] + 1, "train_loss": pos["loss_sum"] / pos["seen"],
             "train_acc": pos["correct"] / (pos["seen"] * positions),
             "test_loss": test_loss, "test_acc": test_acc, "seconds": time.time() - start}
        print("epoch %d/%d: train_loss %.4f train_acc %.4f test_loss %.4f test_acc %.4f (%.1f s)"
              % (e["epoch"], epochs, e["train_loss"], e["train_acc"], test_loss, test_acc,
                 e["seconds"]), flush=True)
        if metrics:
            metrics.write(json.dumps(e) + "\n")
            metrics.flush()
        pos.update(epoch=pos["epoch"] + 1, epoch_step=0, loss_sum=0.0, correct=0, seen=0)
        if t in saves:
            mod.save_cnncc_checkpoint(saves[t], model, opt, pos)
    if test_acc is None:  # resumed a finished run, as the trainer does
        test_acc = evaluate(model, tx, ty, 1000)[1]
    print("test_acc=%.4f" % test_acc)


if __name__ == "__main__":
    main()
