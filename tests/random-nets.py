#!/usr/bin/env python3
"""random-nets.py - random valid .cnn programs, for tests/random-nets.sh.

    random-nets.py SEED               print the program of SEED
    random-nets.py --out DIR SEED N   write DIR/rnetK.cnn for K = SEED..SEED+N-1

The program is a function of the seed alone (Python's random.Random), so a
seed names a network. Standard library only.

The generator tracks the shape of every tensor with the formulas of
docs/language.md, so it only writes programs the front end must accept:
a 1-d [C, L] or 2-d [C, H, W] input (sometimes a [features] vector) of at
most 16x16, stages of convolutions (kernel, stride, padding as a number or
same/valid/causal, dilation, pairs), transposed convolutions with
output_padding, max/avg pooling with padding, overlapping pooling whose output meets its
input or another pooling in '+', '*' or concat (small lengths too), batch norm, activations,
dropout (p = 0 or small), residual '+' and '*' where shapes match,
add([...]), concat of branches, blocks with default arguments, 'if' on
shape attributes, tuple returns, 'for' loops; then a head: global_avgpool
or flatten and dense layers into softmax_cross_entropy or mse, or a 1x1
convolution into a per-position loss. Every network stays tiny (fewer than
20,000 parameters, at most 2,048 elements per tensor).

The first three lines of a program are comments that the tests read:

    # rnetK: <what the network contains>
    # expect: params N, output [shape]
    # batch: N   (tests/build-diff.sh runs it at this batch size)
"""
import random
import sys

MAX_PARAMS = 20000
MAX_ELEMS = 2048
ACTS = ["relu", "sigmoid", "tanh", "leaky_relu", "leaky_relu(0.2)", "leaky_relu(negative_slope=0.3)"]


def prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def shape_str(s):
    return "[" + ", ".join(str(d) for d in s) + "]"


def window_out(n, k, s, lo, hi, d=1):
    """Output length of a window along one axis, or None if it does not fit."""
    span = d * (k - 1) + 1
    padded = n + lo + hi
    if span > padded:
        return None
    return (padded - span) // s + 1


def size_text(vals):
    """One integer, or a pair (height, width) when the axes differ."""
    if len(vals) == 1 or vals[0] == vals[1]:
        return str(vals[0])
    return "(%d, %d)" % tuple(vals)


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.lines = []
        self.blocks = []
        self.block_names = {}
        self.feats = []
        self.params = 0
        self.count = 0
        self.pool_sizes = []

    # ---- helpers ----
    def chance(self, p):
        return self.r.random() < p

    def feat(self, f):
        if f not in self.feats:
            self.feats.append(f)

    def fresh(self):
        self.count += 1
        return "t%d" % self.count

    def fits(self, shape, extra_params=0):
        return prod(shape) <= MAX_ELEMS and self.params + extra_params <= MAX_PARAMS

    def emit(self, line):
        self.lines.append(line)

    def chain(self, src, ops):
        """Bind a fresh name to src -> op -> op ..., sometimes over several lines."""
        name = self.fresh()
        if not ops:
            self.emit("%s = %s" % (name, src))
        elif len(ops) > 2 and self.chance(0.4):
            self.emit("%s = %s" % (name, src))
            for op in ops:
                self.emit("  -> %s" % op)
        else:
            self.emit("%s = %s -> %s" % (name, src, " -> ".join(ops)))
        return name

    # ---- operators: each returns (text, shape, params) or None ----
    def conv(self, shape, oc=None, keep_size=False, feature=True):
        rank = len(shape) - 1
        op = "conv1d" if rank == 1 else "conv2d"
        for _ in range(30):
            c = oc or self.r.randint(1, 8)
            mode = self.r.choice(["int", "int", "same", "valid"] + (["causal"] if rank == 1 else []))
            if keep_size and mode in ("valid", "int"):
                mode = "same" if self.chance(0.5) else "int"
            pair = rank == 2 and self.chance(0.3)
            axes = 2 if pair else 1
            k = [self.r.choice([1, 2, 3, 3, 3, 4, 5]) for _ in range(axes)]
            d = [self.r.choice([1, 1, 1, 2, 3]) for _ in range(axes)]
            s = [1] * axes
            p = [0] * axes
            if mode == "int":
                if keep_size:
                    k = [kk | 1 for kk in k]  # odd: symmetric padding keeps the size
                    p = [dd * (kk - 1) // 2 for kk, dd in zip(k, d)]
                else:
                    s = [self.r.choice([1, 1, 2, 3]) for _ in range(axes)]
                    p = [self.r.randint(0, kk) for kk in k]
            if pair:
                ks, ds, ss, ps = k, d, s, p
            else:
                ks, ds, ss, ps = k * rank, d * rank, s * rank, p * rank
            out = []
            for a in range(rank):
                total = ds[a] * (ks[a] - 1)
                lo, hi = ps[a], ps[a]
                if mode == "same":
                    lo, hi = total // 2, total - total // 2
                elif mode == "causal":
                    lo, hi = total, 0
                elif mode == "valid":
                    lo = hi = 0
                o = window_out(shape[1 + a], ks[a], ss[a], lo, hi, ds[a])
                if o is None:
                    break
                out.append(o)
            if len(out) != rank:
                continue
            bias = not self.chance(0.2)
            params = c * shape[0] * prod(ks) + (c if bias else 0)
            new = (c,) + tuple(out)
            if not self.fits(new, params):
                continue
            if self.chance(0.1):  # all by keyword
                args = ["out_channels=%d" % c, self.r.choice(["kernel", "kernel_size"]) + "=" + size_text(k)]
            else:
                args = ["%d" % c, ("kernel_size=%s" if self.chance(0.1) else "%s") % size_text(k)]
            if s != [1] * axes:
                args.append("stride=%s" % size_text(s))
            if mode == "int" and (p != [0] * axes or self.chance(0.2)):
                args.append("padding=%s" % size_text(p))
            elif mode in ("same", "causal"):
                args.append(('padding="%s"' if self.chance(0.2) else "padding=%s") % mode)
            elif mode == "valid" and self.chance(0.5):
                args.append("padding=valid")
            if d != [1] * axes:
                args.append("dilation=%s" % size_text(d))
            if not bias:
                args.append("bias=false")
            if feature:
                f = op
                if mode in ("same", "causal", "valid"):
                    f += "(" + mode + ")"
                if d != [1] * axes:
                    f += "(dilation)"
                if s != [1] * axes:
                    f += "(stride)"
                self.feat(f)
            return "%s(%s)" % (op, ", ".join(args)), new, params
        return None

    def conv_t(self, shape):
        for _ in range(30):
            c = self.r.randint(1, 6)
            pair = self.chance(0.3)
            axes = 2 if pair else 1
            k = [self.r.randint(1, 4) for _ in range(axes)]
            s = [self.r.randint(1, 3) for _ in range(axes)]
            p = [self.r.randint(0, kk - 1) for kk in k]
            op = [self.r.randint(0, ss - 1) for ss in s]
            ks, ss, ps, ops = (k, s, p, op) if pair else (k * 2, s * 2, p * 2, op * 2)
            out = [(shape[1 + a] - 1) * ss[a] - 2 * ps[a] + ks[a] + ops[a] for a in range(2)]
            if min(out) < 1 or max(out) > 20:
                continue
            params = shape[0] * c * prod(ks) + c
            new = (c,) + tuple(out)
            if not self.fits(new, params):
                continue
            args = ["%d" % c, size_text(k)]
            if s != [1] * axes:
                args.append("stride=%s" % size_text(s))
            if p != [0] * axes:
                args.append("padding=%s" % size_text(p))
            if op != [0] * axes:
                args.append("output_padding=%s" % size_text(op))
                self.feat("conv_transpose2d(output_padding)")
            else:
                self.feat("conv_transpose2d")
            return "conv_transpose2d(%s)" % ", ".join(args), new, params
        return None

    def pool(self, shape, keep_size=False):
        rank = len(shape) - 1
        kind = self.r.choice(["max", "avg"])
        for _ in range(30):
            pair = rank == 2 and self.chance(0.25)
            axes = 2 if pair else 1
            if keep_size:  # kernel 3, stride 1, padding 1
                k, s, p = [3] * axes, [1] * axes, [1] * axes
            else:
                k = [self.r.choice([1, 2, 2, 3]) for _ in range(axes)]
                s = [self.r.choice([kk, kk, 1, 2]) for kk in k]
                p = [self.r.randint(0, kk // 2) for kk in k]
            got = self.pool_layer(kind, shape, k, s, p)
            if got:
                return got
        return None

    def pool_layer(self, kind, shape, k, s, p):
        """(text, shape, 0) of a kind ("max" or "avg") pooling with kernel k,
        stride s and padding p (one value or a pair each), or None if it
        does not fit. Remembers its OpenMP thresholds (see batch())."""
        rank = len(shape) - 1
        ks, ss, ps = (k, s, p) if len(k) == rank else (k * rank, s * rank, p * rank)
        out = [window_out(shape[1 + a], ks[a], ss[a], ps[a], ps[a]) for a in range(rank)]
        if None in out:
            return None
        new = (shape[0],) + tuple(out)
        # the generated loops run in parallel when n * this > 16384:
        # forward over the windows' taps, backward over the input
        self.pool_sizes += [prod(new) * prod(ks), prod(shape)]
        name = kind + "pool" + (self.r.choice(["", "%dd" % rank]))
        args = [size_text(k)]
        if s != k:
            args.append("stride=%s" % size_text(s))
        if p != [0] * len(k):
            args.append("padding=%s" % size_text(p))
            self.feat(kind + "pool(padding)")
        else:
            self.feat(kind + "pool")
        return "%s(%s)" % (name, ", ".join(args)), new, 0

    def batchnorm(self, shape):
        self.feat("batchnorm")
        text = self.r.choice(["batchnorm", "batchnorm", "batchnorm(eps=1e-3)", "batchnorm(momentum=0.2)"])
        return text, shape, 2 * shape[0]

    def act(self, shape):
        a = self.r.choice(ACTS)
        self.feat(a.split("(")[0])
        return a, shape, 0

    def dropout(self, shape):
        p = self.r.choice(["0", "0", "0.1", "p=0.2", "p=0.0"])
        self.feat("dropout")
        return "dropout(%s)" % p, shape, 0

    def dense(self, shape, out=None):
        o = out or self.r.randint(2, 16)
        bias = not self.chance(0.15)
        params = shape[0] * o + (o if bias else 0)
        if not self.fits((o,), params):
            return None
        self.feat("dense")
        return "dense(%d%s)" % (o, "" if bias else ", bias=false"), (o,), params

    def apply(self, shape, ops_fn):
        """Run operator makers in turn; returns (texts, shape) or None."""
        texts, total = [], 0
        for fn in ops_fn:
            got = fn(shape)
            if got is None:
                return None
            t, shape, p = got
            texts.append(t)
            total += p
            self.params += p
        return texts, shape

    def random_op(self, shape):
        rank = len(shape) - 1
        if rank == 0:
            choices = [self.dense] * 3 + [self.act] * 2 + [self.batchnorm, self.dropout]
        else:
            choices = [self.conv] * 4 + [self.pool] * 2 + [self.act] * 3 + [self.batchnorm] * 2 + [self.dropout]
            if rank == 2 and max(shape[1:]) <= 12:
                choices += [self.conv_t] * 2
        return self.r.choice(choices)

    # ---- stages: each continues from (name, shape) ----
    def stage_chain(self, cur, shape):
        texts = []
        for _ in range(self.r.randint(1, 3)):
            got = self.apply(shape, [self.random_op(shape)])
            if got is None:
                break
            texts += got[0]
            shape = got[1]
        if not texts:
            return cur, shape
        return self.chain(cur, texts), shape

    def same_size_branch(self, cur, shape, channels=None):
        """A branch that keeps the spatial size: conv(same) [bn] [act], or a pool."""
        rank = len(shape) - 1
        ops = []
        if rank == 0:
            got = self.dense(shape, channels or shape[0])
            if got is None:
                return None
            ops.append(got)
        elif channels is None and self.chance(0.25):
            got = self.pool(shape, keep_size=True)
            ops.append(got)
        else:
            got = self.conv(shape, oc=channels or self.r.randint(1, 8), keep_size=True)
            if got is None:
                return None
            ops.append(got)
        sh = ops[-1][1]
        if self.chance(0.4):
            ops.append(self.batchnorm(sh))
        if self.chance(0.6):
            ops.append(self.act(sh))
        total = sum(o[2] for o in ops)
        if not self.fits(sh, total):
            return None
        self.params += total
        return self.chain(cur, [o[0] for o in ops]), sh

    def stage_residual(self, cur, shape):
        br = self.same_size_branch(cur, shape, channels=shape[0])
        if br is None:
            return cur, shape
        b, bshape = br
        assert bshape == shape, (bshape, shape)
        how = self.r.choice(["+", "+", "*", "add", "mul", "chain+"])
        name = self.fresh()
        if how == "+":
            self.feat("residual+")
            self.emit("%s = %s + %s" % (name, cur, b))
        elif how == "*":
            self.feat("*")
            self.emit("%s = %s * %s" % (name, b, cur))
        elif how == "mul":
            self.feat("*")
            self.emit("%s = mul(%s, %s)" % (name, cur, b))
        elif how == "chain+":
            self.feat("residual+")
            act = self.r.choice(["relu", "tanh"])
            self.emit("%s = %s + %s -> %s" % (name, cur, b, act))  # relu(cur + b)
        else:
            br2 = self.same_size_branch(cur, shape, channels=shape[0])
            parts = [cur, b] + ([br2[0]] if br2 else [])
            self.feat("add([...])")
            self.emit("%s = add([%s])" % (name, ", ".join(parts)))
        return name, shape

    def stage_concat(self, cur, shape):
        saved = (len(self.lines), self.params, list(self.feats))
        parts = []
        for _ in range(self.r.randint(2, 3)):
            if self.chance(0.25) and cur not in [p[0] for p in parts]:
                parts.append((cur, shape))
                continue
            br = self.same_size_branch(cur, shape)
            if br:
                parts.append(br)
        new = (sum(p[1][0] for p in parts),) + shape[1:]
        if len(parts) < 2 or not self.fits(new):  # undo the branches: nothing would read them
            del self.lines[saved[0]:]
            self.params, self.feats = saved[1], saved[2]
            return cur, shape
        self.feat("concat")
        names = [p[0] for p in parts]
        form = self.r.choice(["args", "list", "chain"])
        name = self.fresh()
        if form == "args":
            self.emit("%s = concat(%s)" % (name, ", ".join(names)))
        elif form == "list":
            self.emit("%s = concat([%s])" % (name, ", ".join(names)))
        else:
            self.emit("%s = %s -> concat(%s)" % (name, names[0], ", ".join(names[1:])))
        return name, new

    def stage_pool_fanout(self, cur, shape):
        """Overlapping pooling windows (stride < kernel), often padded, whose
        gradient is added to another's: the pooled tensor meets its own input
        (when the size is kept) or a second pooling of it in '+', '*' or
        concat. The shape of issue #11, whose pooling backward clang 14
        miscompiled."""
        if self.chance(0.4):  # keeps the size: the pooling meets its input
            k = [self.r.choice([3, 5])]
            s, p = [1], [k[0] // 2]
        else:
            k = [self.r.choice([2, 3, 3, 4, 5])]
            s, p = [self.r.randint(1, k[0] - 1)], [self.r.randint(0, k[0] // 2)]
        kinds = ["avg", "max"]
        self.r.shuffle(kinds)
        first = self.pool_layer(kinds[0], shape, k, s, p)
        if first is None:
            return cur, shape
        a = self.chain(cur, [first[0]])
        out = first[1]
        if out == shape:
            b = cur
        else:
            b = self.chain(cur, [self.pool_layer(kinds[1], shape, k, s, p)[0]])
        how = self.r.choice(["+", "*", "concat"])
        new = (2 * out[0],) + out[1:] if how == "concat" else out
        if not self.fits(new):
            how = "+"
            new = out
        name = self.fresh()
        if how == "concat":
            self.feat("concat")
            self.emit("%s = concat(%s, %s)" % (name, b, a))
        else:
            self.feat("residual+" if how == "+" else "*")
            self.emit("%s = %s %s %s" % (name, a, how, b))
        self.feat("pool-fanout")
        return name, new

    def batch(self):
        """The batch to run the network at: half the time just above or
        below where the OpenMP loop of one of its pooling layers starts to
        run in parallel (at most 600 samples), else a small one."""
        sizes = [x for x in self.pool_sizes if 16384 // x < 600]
        if sizes and self.chance(0.5):
            return 16384 // self.r.choice(sizes) + self.r.choice([0, 1])
        return self.r.choice([1, 2, 3, 5, 8, 13, 16])

    def define_block(self, kind, rank):
        key = (kind, rank)
        if key in self.block_names:
            return self.block_names[key]
        name = "%s%d" % (kind, len(self.block_names) + 1)
        conv = "conv1d" if rank == 1 else "conv2d"
        if kind == "unit":
            text = """block {n}(x, channels, k=3, slope=0.1) {{
  return x -> {c}(channels, k, padding=same) -> batchnorm -> leaky_relu(slope)
}}"""
        elif kind == "res":
            text = """block {n}(x, channels, stride=1) {{
  y = x -> {c}(channels, 3, stride=stride, padding=1) -> batchnorm -> relu
  shortcut = x
  if stride != 1 || x.channels != channels {{
    shortcut = x -> {c}(channels, 1, stride=stride, bias=false)
  }}
  return y + shortcut
}}"""
        else:  # gate: a tuple (residual, skip)
            pad = "causal" if rank == 1 else "same"
            text = """block {n}(x, channels, dilation=1) {{
  f = x -> {c}(channels, 2, dilation=dilation, padding={p}) -> tanh
  g = x -> {c}(channels, 2, dilation=dilation, padding={p}) -> sigmoid
  z = f * g
  return (x + (z -> {c}(x.channels, 1)), z)
}}"""
            text = text.replace("{p}", pad)
        self.blocks.append(text.format(n=name, c=conv))
        self.block_names[key] = name
        return name

    def call_unit(self, shape, channels, k=None):
        rank = len(shape) - 1
        kk = 3 if k is None else k
        return (channels,) + shape[1:], channels * shape[0] * kk ** rank + channels + 2 * channels

    def call_res(self, shape, channels, stride):
        rank = len(shape) - 1
        out = tuple((n - 1) // stride + 1 for n in shape[1:])
        params = channels * shape[0] * 3 ** rank + channels + 2 * channels
        if stride != 1 or shape[0] != channels:
            params += channels * shape[0]
        return (channels,) + out, params

    def call_gate(self, shape, channels):
        rank = len(shape) - 1
        params = 2 * (channels * shape[0] * 2 ** rank + channels) + shape[0] * channels + shape[0]
        return shape, (channels,) + shape[1:], params

    def stage_block(self, cur, shape):
        rank = len(shape) - 1
        kind = self.r.choice(["unit", "unit", "res", "gate"])
        blk = self.define_block(kind, rank)
        if kind == "unit":
            use_for = self.chance(0.5)
            if use_for:
                chans = [self.r.randint(2, 6) for _ in range(self.r.randint(2, 3))]
                ks = [self.r.choice([1, 3, 5, 2]) for _ in chans]
                sh, total = shape, 0
                for c, k in zip(chans, ks):
                    sh, p = self.call_unit(sh, c, k)
                    total += p
                if not self.fits(sh, total):
                    return cur, shape
                self.params += total
                name = self.fresh()
                self.emit("%s = %s" % (name, cur))
                self.emit("for c, k in [%s] {" % ", ".join("(%d, %d)" % ck for ck in zip(chans, ks)))
                self.emit("  %s = %s -> %s(c, %s)" % (name, name, blk, self.r.choice(["k=k", "k"])))
                self.emit("}")
                self.feat("for")
                self.feat("block(defaults)")
                return name, sh
            c = self.r.randint(2, 8)
            k = self.r.choice([None, 1, 2, 5])
            sh, p = self.call_unit(shape, c, k)
            if not self.fits(sh, p):
                return cur, shape
            self.params += p
            self.feat("block(defaults)")
            args = "%d" % c + ("" if k is None else self.r.choice([", k=%d", ", %d"]) % k)
            if self.chance(0.3):
                args += ", slope=0.2"
            return self.chain(cur, ["%s(%s)" % (blk, args)]), sh
        if kind == "res":
            steps = [(self.r.randint(2, 8), self.r.choice([1, 1, 2])) for _ in range(self.r.randint(1, 3))]
            sh, total = shape, 0
            for c, s in steps:
                sh, p = self.call_res(sh, c, s)
                total += p
            if not self.fits(sh, total):
                return cur, shape
            self.params += total
            self.feat("block(if)")
            name = self.fresh()
            if len(steps) == 1:
                c, s = steps[0]
                self.emit("%s = %s -> %s(%d%s)" % (name, cur, blk, c, ", stride=%d" % s if s != 1 else ""))
                return name, sh
            self.feat("for")
            self.emit("%s = %s" % (name, cur))
            self.emit("for channels, stride in [%s] {" % ", ".join("(%d, %d)" % cs for cs in steps))
            self.emit("  %s = %s -> %s(channels, stride=stride)" % (name, name, blk))
            self.emit("}")
            return name, sh
        # gate: returns a tuple
        c = self.r.randint(2, 6)
        dil = self.r.choice([1, 2, 3])
        res, skip, p = self.call_gate(shape, c)
        new = (res[0] + skip[0],) + shape[1:]
        if not self.fits(new, p) or max(shape[1:]) < 2:
            return cur, shape
        self.params += p
        self.feat("block(tuple)")
        h, s = self.fresh(), self.fresh()
        self.emit("%s, %s = %s -> %s(%d%s)" % (h, s, cur, blk, c, ", dilation=%d" % dil if dil != 1 else ""))
        name = self.fresh()
        self.emit("%s = concat(%s, %s)" % (name, h, s))
        self.feat("concat")
        return name, new

    def stage_if(self, cur, shape):
        """A top-level 'if' on shape attributes: pool only when big enough."""
        rank = len(shape) - 1
        limit = self.r.randint(3, 10)
        name = self.fresh()
        self.emit("%s = %s" % (name, cur))
        if rank == 1:
            self.emit("if %s.length >= %d {" % (name, limit))
            taken = shape[1] >= limit
        else:
            self.emit("if %s.width >= %d && %s.height > 1 {" % (name, limit, name))
            taken = shape[2] >= limit and shape[1] > 1
        self.emit("  %s = %s -> maxpool(2)" % (name, name))
        self.emit("} else {")
        self.emit("  %s = %s -> relu" % (name, name))
        self.emit("}")
        self.feat("if")
        if taken:
            return name, (shape[0],) + tuple(d // 2 for d in shape[1:])
        return name, shape

    # ---- the whole program ----
    def generate(self):
        r = self.r
        kind = r.choices(["1d", "2d", "vec"], [4, 5, 1])[0]
        if kind == "1d":
            shape = (r.randint(1, 3), r.choice([r.randint(3, 8), r.randint(4, 16)]))
        elif kind == "2d":
            shape = (r.randint(1, 3), r.randint(4, 16), r.randint(4, 16))
        else:
            shape = (r.randint(4, 32),)
        inp = r.choice(["x", "image", "signal", "inp"])
        cur = inp
        in_shape = shape
        for _ in range(r.randint(1, 5)):
            rank = len(shape) - 1
            if rank == 0:
                stage = r.choice([self.stage_chain, self.stage_chain, self.stage_residual, self.stage_concat])
            else:
                stage = r.choices([self.stage_chain, self.stage_residual, self.stage_concat, self.stage_block,
                                   self.stage_if, self.stage_pool_fanout], [5, 2, 2, 2, 1, 2])[0]
            cur, shape = stage(cur, shape)

        # head
        rank = len(shape) - 1
        loss = "softmax_cross_entropy" if r.random() < 0.75 else "mse"
        if rank > 0 and r.random() < 0.35:  # one prediction per position
            k = r.randint(2, 5)
            conv = self.conv(shape, oc=k, keep_size=True, feature=False)
            if conv is None or not self.fits(conv[1], conv[2]):
                conv = ("%s(%d, 1)" % ("conv1d" if rank == 1 else "conv2d", k), (k,) + shape[1:],
                        shape[0] * k + k)
            self.params += conv[2]
            logits = self.chain(cur, [conv[0]])
            out_shape = conv[1]
            self.feat("per-position-" + loss)
        else:
            ops = []
            if rank > 0:
                if prod(shape) <= 512 and self.params + prod(shape) * 22 <= MAX_PARAMS and r.random() < 0.5:
                    ops.append("flatten")
                    shape = (prod(shape),)
                    self.feat("flatten")
                else:
                    ops.append("global_avgpool")
                    shape = (shape[0],)
                    self.feat("global_avgpool")
            if r.random() < 0.4:
                got = self.dense(shape, r.randint(4, 16))
                if got:
                    ops.append(got[0])
                    shape = got[1]
                    self.params += got[2]
                    ops.append(self.act(shape)[0])
                    if r.random() < 0.3:
                        ops.append(self.dropout(shape)[0])
            k = r.randint(2, 6)
            bias = r.random() > 0.1
            ops.append("dense(%d%s)" % (k, "" if bias else ", bias=false"))
            self.params += shape[0] * k + (k if bias else 0)
            self.feat("dense")
            out_shape = (k,)
            logits = self.chain(cur, ops)
            self.feat(loss)
        self.emit("")
        output = out_shape
        if r.random() < 0.2:
            self.emit("probs = %s -> softmax" % logits)
            self.emit("output probs")
            self.feat("softmax-output")
        self.emit("loss %s(%s)" % (loss, logits))
        if r.random() < 0.3:
            if r.random() < 0.5:
                self.emit("train { optimizer = adam(lr=1e-3); batch = 4; epochs = 1; seed = %d }" % (self.seed % 1000))
            else:
                self.emit("train {\n  optimizer = adam(lr=2e-3, weight_decay=1e-4)\n  batch = 8\n}")

        head = ["# rnet%d: %s %s: %s" % (self.seed, {"1d": "1-d", "2d": "2-d", "vec": "vector"}[kind],
                                          shape_str(in_shape), " ".join(self.feats)),
                "# expect: params %d, output %s" % (self.params, shape_str(output)),
                "# batch: %d" % self.batch(),
                "network rnet%d" % self.seed, ""]
        for b in self.blocks:
            head += [b, ""]
        head.append("input %s%s" % (inp, shape_str(in_shape)))
        return "\n".join(head + self.lines) + "\n"


def main(argv):
    if len(argv) == 4 and argv[0] == "--out":
        first, n = int(argv[2]), int(argv[3])
        for seed in range(first, first + n):
            with open("%s/rnet%d.cnn" % (argv[1], seed), "w") as f:
                f.write(Gen(seed).generate())
        return 0
    if len(argv) == 1:
        sys.stdout.write(Gen(int(argv[0])).generate())
        return 0
    sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
