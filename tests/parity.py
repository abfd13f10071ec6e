"""parity.py - the PyTorch side of tests/parity.sh.

    parity.py --defines MODULE.py
        prints the -D flags tests/parity.c is compiled with: the C prefix,
        sizes and Adam settings from the mirror module that
        `cnncc --emit=pytorch` wrote.
    parity.py MODULE.py DIR BATCH [double]
        loads what tests/parity.c wrote to DIR into the mirror (load_flat),
        runs the same computation in training mode (the logits, the loss,
        every gradient, STEPS steps of torch.optim.Adam on the same batch)
        and compares. Prints exactly CHECKS lines "ok|TEXT" or
        "not ok|TEXT" (tests/parity.sh numbers them), with "# " lines of
        detail: the largest error of every tensor. With "double", DIR
        holds doubles (code generated with --dtype=double) and torch runs
        in float64: rounding then is ~1e-16, so what still differs is the
        computation, not the precision.

A tensor matches when max |C - torch| <= RTOL * max |torch| over the tensor
(a scale-relative bound: single-precision sums in a different order differ
by a few ulps of the largest terms, not of each element)."""
import os
import sys

import torch

from mirror_module import load_module

RTOL = 1e-4
# Gradients of steps 2 and later are computed from parameters that already
# differ by rounding; a ReLU input within ~1e-6 of zero can then fall on the
# other side of the kink in float than in torch (seen on unet at step 2: one
# flip moves the gradients of the layers below it by up to 6% of their
# largest value, and a float64 run agrees with neither). So the later steps
# hold the losses and the parameters to RTOL and only report the gradients'
# worst error; step 1's gradients, and the double-precision gradient checks
# (tests/gradcheck-*.sh), are where gradients are held tight.
LATER_GRAD_RTOL = float("inf")
# In double precision (parity.py ... double) rounding is ~1e-16 and even
# ill-conditioned gradients agree to ~1e-12 (mobilenet: 8.5e-13): what
# exceeds this is a difference in the computation.
DOUBLE_RTOL = 1e-9
STEPS = 3
LR = 1e-3
CHECKS = 8  # keep in step with tests/parity.sh


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def defines(mod):
    """The -D flags of tests/parity.c: the C name prefix, sizes, Adam."""
    logits = tuple(mod.LOGITS_SHAPE)
    d = {"NET": mod.NAME, "NPARAMS": mod.NUM_PARAMS, "NBUFFERS": mod.NUM_BUFFERS,
         "NTENSORS": len(mod.PARAMS) + len(mod.BUFFERS),
         "IN_SIZE": numel(mod.INPUT_SHAPE), "OUT_SIZE": numel(logits),
         "NLABELS": numel(logits[1:]), "NCLASSES": logits[0], "STEPS": STEPS, "LR": LR,
         "BETA1": mod.TRAIN["betas"][0], "BETA2": mod.TRAIN["betas"][1],
         "ADAM_EPS": mod.TRAIN["eps"], "WEIGHT_DECAY": mod.TRAIN["weight_decay"]}
    return " ".join("-D%s=%r" % kv for kv in d.items()).replace("'", "")


def read(directory, name, dtype, shape=None):
    with open(os.path.join(directory, name), "rb") as f:
        data = bytearray(f.read())
    t = torch.frombuffer(data, dtype=dtype) if data else torch.zeros(0, dtype=dtype)
    return t.reshape(shape) if shape is not None else t


def error(c, t, scale=None):
    """(max |c - t|, that divided by scale, by default max |t|)"""
    c, t = c.double().reshape(-1), t.double().reshape(-1)
    if c.numel() != t.numel():
        return float("inf"), float("inf")
    if c.numel() == 0:
        return 0.0, 0.0
    err = float((c - t).abs().max())
    if scale is None:
        scale = float(t.abs().max())
    return err, (err / scale if scale > 0 else (0.0 if err == 0 else float("inf")))


def layer_scales(order, flat):
    """For each tensor of a flat block, the largest |value| among the tensors
    of its layer: the scale its errors are measured against. (A bias before a
    batchnorm has a gradient that is zero but for rounding; its rounding
    error is that of the layer's sums, like the weight's.)"""
    largest, offset, spans = {}, 0, []
    for name, shape in order:
        n = numel(shape)
        layer = name.rsplit(".", 1)[0]
        part = flat[offset:offset + n].double()
        largest[layer] = max(largest.get(layer, 0.0), float(part.abs().max()) if n else 0.0)
        spans.append((name, layer, offset, n))
        offset += n
    return [(name, offset, n, largest[layer]) for name, layer, offset, n in spans]


def tensor_table(mod, path):
    """(ok, text, details): the generated C's table of tensors lists
    PARAMS and BUFFERS in the same order, offsets consecutive."""
    got, problems = [], []
    for line in open(path):
        f = line.split()
        got.append((f[0], int(f[1]), int(f[2]), int(f[3]), tuple(int(d) for d in f[4:])))
    # each block's own order, offsets and shapes
    for learnable, order, block in ((1, mod.PARAMS, "parameter"), (0, mod.BUFFERS, "buffer")):
        c = [g for g in got if g[1] == learnable]
        offset = 0
        if [g[0] for g in c] != [n for n, _ in order]:
            problems.append("%s order: C %s, mirror %s" % (block, [g[0] for g in c], [n for n, _ in order]))
        for (name, _, off, count, dims), (_, shape) in zip(c, order):
            if off != offset or count != numel(shape) or dims != tuple(shape):
                problems.append("%s: C offset %d count %d %s, mirror offset %d count %d %s"
                                % (name, off, count, list(dims), offset, numel(shape), list(shape)))
            offset += numel(shape)
    return (not problems, "the C's table of tensors matches PARAMS and BUFFERS (%d and %d tensors)"
            % (len(mod.PARAMS), len(mod.BUFFERS)), problems)


class Report:
    def __init__(self):
        self.lines = []

    def check(self, ok, text, details=()):
        self.lines.append(("ok|" if ok else "not ok|") + text)
        self.lines.extend("# " + d for d in details)

    def compare(self, what, c, t):
        err, rel = error(c, t)
        self.check(rel <= RTOL, "%s: max error %.3g (%.3g of the largest value)" % (what, err, rel))

    def block(self, order, c_flat, t_flat, tag="", rtol=None):
        """Errors of every tensor of a flat block: (ok, worst, detail lines)."""
        rtol = RTOL if rtol is None else rtol
        if c_flat.numel() != t_flat.numel():
            return False, (float("inf"), float("inf"), "size %d vs %d" % (c_flat.numel(), t_flat.numel())), []
        ok, worst, details = True, (0.0, 0.0, "-"), []
        for name, offset, n, scale in layer_scales(order, t_flat):
            err, rel = error(c_flat[offset:offset + n], t_flat[offset:offset + n], scale)
            bad = not rel <= rtol
            ok = ok and not bad
            details.append("%s%-24s max error %.3g (%.3g of the layer's largest)%s"
                           % (tag, name, err, rel, "  <-- over" if bad else ""))
            if rel > worst[1] or worst[2] == "-":
                worst = (err, rel, tag + name)
        return ok, worst, details

    def tensors(self, what, order, blocks, ok=True, rtol=None):
        """One check over flat blocks [(tag, C's, torch's)], the error of
        every tensor as detail when it fails (or PARITY_VERBOSE is set);
        ok=False fails it whatever the tensors."""
        if not order:
            self.check(ok, "%s: none" % what)
            return
        worst, details = (0.0, -1.0, "-"), []
        for tag, c_flat, t_flat in blocks:
            k, w, d = self.block(order, c_flat, t_flat, tag, rtol)
            ok, details = ok and k, details + d
            if w[1] > worst[1]:
                worst = w
        self.check(ok, "%s: %d tensors, worst %s %.3g (%.3g of the layer's largest)"
                   % (what, len(order), worst[2], worst[0], worst[1]),
                   details if not ok or os.environ.get("PARITY_VERBOSE") else ())


def compare(path, directory, batch, dtype=torch.float32):
    """Step 1 from the same parameters: logits, loss, gradients, running
    statistics. Then STEPS steps of torch.optim.Adam fed with C's gradients
    (so that both sides follow the same trajectory: Adam turns rounding
    noise in a near-zero gradient into a step of +-lr, and free-running
    runs drift apart after one step), comparing at each step the loss and
    torch's own gradients with C's, and the parameters after each step."""
    torch.set_default_dtype(dtype)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    mod, cls = load_module(path)
    n = batch
    logits_shape = (n,) + tuple(mod.LOGITS_SHAPE)
    load = lambda name, shape=None: read(directory, name, dtype, shape)
    model = cls()
    model.load_flat(load("params0.f32"), load("buffers0.f32"))
    model.train()
    x = load("x.f32", (n,) + tuple(mod.INPUT_SHAPE))
    class_labels = read(directory, "labels.i32", torch.int32, logits_shape[:1] + logits_shape[2:]).long()
    labels = load("targets.f32", logits_shape) if mod.LOSS == "mse" else class_labels
    c_losses = load("losses.f32")
    tensors = dict(model.named_parameters())
    opt = model.optimizer(lr=LR)
    r = Report()
    r.check(*tensor_table(mod, os.path.join(directory, "tensors.txt")))
    losses, later_grads, later_params, first_params = [], [], [], []
    for t in range(1, STEPS + 1):
        opt.zero_grad()
        logits = model(x)
        loss = model.loss(logits, labels)
        loss.backward()
        losses.append(float(loss))
        c_grads = load("grads%d.f32" % t)
        if t == 1:
            r.compare("logits %s" % list(logits_shape), load("logits.f32"), logits.detach())
            c_correct = int(read(directory, "correct.i32", torch.int32)[0])
            t_correct = model.correct(logits.detach(), class_labels)
            err, rel = error(c_losses[:1], loss.detach().reshape(1))
            r.check(rel <= RTOL and c_correct == t_correct,
                    "%s loss %.7g vs torch %.7g (error %.3g), correct %d vs %d"
                    % (mod.LOSS, float(c_losses[0]), float(loss), rel, c_correct, t_correct))
            r.tensors("gradients", mod.PARAMS, [("", c_grads, model.flat_grads())])
            r.tensors("running statistics after the forward", mod.BUFFERS,
                      [("", load("buffers1.f32"), model.flat_buffers())])
        else:
            later_grads.append(("step %d " % t, c_grads, model.flat_grads()))
        # C's gradients drive the step, so the trajectories stay together
        with torch.no_grad():
            offset = 0
            for name, shape in mod.PARAMS:
                k = numel(shape)
                tensors[name].grad.copy_(c_grads[offset:offset + k].view(shape))
                offset += k
        opt.step()
        (first_params if t == 1 else later_params).append(
            ("step %d " % t, load("params%d.f32" % t), model.flat_params()))
    err, rel = error(c_losses, torch.tensor(losses))
    r.tensors("steps 2-%d: losses %s vs torch %s (error %.3g), gradients" % (
        STEPS, " ".join("%.7g" % v for v in c_losses.tolist()[1:]), " ".join("%.7g" % v for v in losses[1:]), rel),
        mod.PARAMS, later_grads, ok=rel <= RTOL, rtol=LATER_GRAD_RTOL)
    r.tensors("parameters after each of %d Adam steps (lr %g)" % (STEPS, LR), mod.PARAMS,
              first_params + later_params)
    r.tensors("running statistics after %d steps" % STEPS, mod.BUFFERS,
              [("", load("buffers_end.f32"), model.flat_buffers())])
    return r.lines


def main():
    global RTOL
    if sys.argv[1] == "--defines":
        mod, _ = load_module(sys.argv[2])
        print(defines(mod))
        return
    try:
        dtype = torch.float64 if sys.argv[4:] == ["double"] else torch.float32
        if dtype == torch.float64:
            RTOL = DOUBLE_RTOL
        lines = compare(sys.argv[1], sys.argv[2], int(sys.argv[3]), dtype)
    except Exception:
        import traceback
        lines = ["# " + l for l in traceback.format_exc().splitlines()]
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
