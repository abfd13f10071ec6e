# ---- cnncc checkpoints (docs/checkpoint-format.md, docs/interop.md) ----

class CheckpointError(ValueError):
    """A file that is not a complete, intact checkpoint of this network."""


# magic, version, name length, then arch_hash, seed, epoch, epoch_step, t,
# batch, loss_sum (f64), correct, seen, nparams, nbuffers; little-endian
_HEADER = struct.Struct("<8sII6Qd4Q")
_MAGIC = b"CNNCCKPT"
_MAX_COUNT = 1 << 40
# Version 2 is version 1 with sections after the moments: tag, u32 length,
# data. Files without any stay version 1.
_SECTION = struct.Struct("<4sI")
_SECTION_TAGS = [b"VALF", b"CLSS", b"BEST", b"OPTM"]  # known tags, in the order they come
# The position in the data: what the checkpoint holds besides the model and
# Adam's state, and the limits cnncc's runtime accepts for each.
_POSITION_LIMITS = {"seed": (0, (1 << 64) - 1), "epoch": (0, (1 << 31) - 1),
                    "epoch_step": (0, _MAX_COUNT), "batch": (1, (1 << 31) - 1),
                    "correct": (0, _MAX_COUNT), "seen": (0, _MAX_COUNT),
                    "best_epoch": (0, (1 << 31) - 1), "t": (0, _MAX_COUNT)}
# The optimizers whose state a checkpoint holds: m is Adam's and AdamW's
# exp_avg or SGD's momentum_buffer, v Adam's exp_avg_sq (zeros for SGD).
_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD)


def _little_endian(buf):
    """buf, float32 values as bytes, from the host's byte order to
    little-endian or back (the same swap both ways)."""
    if sys.byteorder == "little":
        return buf
    a = array.array("f", bytes(buf))
    a.byteswap()
    return bytearray(a.tobytes())


def _adam_params(model, optimizer):
    """The model's parameters in cnncc's order, after checking that optimizer
    is a torch.optim.Adam, AdamW or SGD that updates all of them."""
    if not isinstance(optimizer, _OPTIMIZERS):
        raise TypeError("%s: cnncc checkpoints hold the state of Adam, AdamW or SGD; the "
                        "optimizer is %s" % (NAME, type(optimizer).__name__))
    tensors = dict(model.named_parameters())
    params = [tensors[name] for name, _ in PARAMS]
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [name for (name, _), p in zip(PARAMS, params) if id(p) not in held]
    if missing:
        raise ValueError("%s: the optimizer does not update %s (give it model.parameters(), "
                         "as model.optimizer() does)" % (NAME, ", ".join(missing)))
    if any(group.get("amsgrad") for group in optimizer.param_groups):
        raise ValueError("%s: cnncc's Adam has no amsgrad" % NAME)
    return params


def _check_header(path, data):
    """The header's fields after the runtime's checks (rt_checkpoint_load),
    in its order and with its messages."""
    if len(data) < 8 or data[:8] != _MAGIC:
        raise CheckpointError("'%s' is not a cnncc checkpoint" % path)
    if len(data) < _HEADER.size:
        raise CheckpointError("checkpoint '%s' is truncated (%d bytes)" % (path, len(data)))
    (_, version, name_len, arch_hash, seed, epoch, epoch_step, t, batch, loss_sum, correct,
     seen, nparams, nbuffers) = _HEADER.unpack_from(data)
    if version not in (1, 2):
        raise CheckpointError("checkpoint '%s' has format version %d; this module reads versions 1 "
                              "and 2" % (path, version))
    if name_len > 255 or nparams > _MAX_COUNT or nbuffers > _MAX_COUNT:
        raise CheckpointError("checkpoint '%s' is corrupted (impossible sizes in the header)" % path)
    if (batch < 1 or batch >= 1 << 31 or epoch >= 1 << 31 or
            max(epoch_step, t, correct, seen) > _MAX_COUNT):
        raise CheckpointError("checkpoint '%s' is corrupted (impossible training state in the "
                              "header)" % path)
    want = _HEADER.size + name_len + 4 * (3 * nparams + nbuffers) + 4
    if len(data) < want if version == 2 else len(data) != want:
        raise CheckpointError("checkpoint '%s' is %s (%d bytes, expected %d)" % (
            path, "truncated" if len(data) < want else "corrupted", len(data), want))
    if zlib.crc32(memoryview(data)[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise CheckpointError("checkpoint '%s' is corrupted (CRC mismatch)" % path)
    name = data[_HEADER.size:_HEADER.size + name_len].decode("utf-8", "replace")
    if name != NAME:
        raise CheckpointError("checkpoint '%s' was saved by network '%s', not '%s'"
                              % (path, name, NAME))
    if arch_hash != ARCH_HASH:
        raise CheckpointError("checkpoint '%s' was saved by a different architecture of network "
                              "'%s' (hash %016x, expected %016x)" % (path, NAME, arch_hash, ARCH_HASH))
    if nparams != NUM_PARAMS or nbuffers != NUM_BUFFERS:
        raise CheckpointError("checkpoint '%s' has %d parameters and %d buffers, but network '%s' "
                              "has %d and %d" % (path, nparams, nbuffers, NAME, NUM_PARAMS,
                                                 NUM_BUFFERS))
    position = dict(seed=seed, epoch=epoch, epoch_step=epoch_step, batch=batch,
                    loss_sum=loss_sum, correct=correct, seen=seen, val=0.0, classes=None,
                    best_epoch=0, best_acc=0.0, t=t, optim=None)
    if version == 2:
        position.update(_read_sections(path, data, want - 4, len(data) - 4))
    return _HEADER.size + name_len, t, position


def _read_classes(body):
    """CLSS: a u32 count, then the names, each NUL-terminated; None when bad."""
    if len(body) < 4:
        return None
    count = struct.unpack_from("<I", body)[0]
    names = bytes(body[4:]).split(b"\0")
    if (not 1 <= count <= 256 or names[-1] != b"" or len(names) - 1 != count or
            any(not n or len(n) > 255 for n in names[:-1])):
        return None
    return [n.decode("utf-8", "surrogateescape") for n in names[:-1]]


def _read_section(tag, body):
    """The position fields of one section, or None when its data is bad."""
    if tag == b"CLSS":
        classes = _read_classes(body)
        return None if classes is None else dict(classes=classes)
    if tag == b"OPTM":  # the optimizer, schedule and clip specs, NUL-terminated
        texts = bytes(body).split(b"\0")
        return dict(optim=[t.decode("utf-8", "replace") for t in texts[:3]]) if (
            len(body) <= 1024 and len(texts) == 4 and texts[3] == b"") else None
    if tag == b"VALF":
        val = struct.unpack("<d", body)[0] if len(body) == 8 else 0.0
        return dict(val=val) if 0 < val < 1 else None
    if len(body) != 16:
        return None
    best_epoch, best_acc = struct.unpack("<Qd", body)
    return dict(best_epoch=best_epoch, best_acc=best_acc) if (
        1 <= best_epoch < 1 << 31 and 0 <= best_acc <= 1) else None


def _read_sections(path, data, start, end):
    """The position fields of the sections data[start:end] (val, classes,
    best_epoch, best_acc), checked as the runtime checks them (at least one:
    a file without any is version 1)."""
    fields, last, off = {}, -1, start
    bad = CheckpointError("checkpoint '%s' is corrupted (a bad section after the moments)" % path)
    if start == end:
        raise bad
    while off < end:
        if end - off < _SECTION.size:
            raise bad
        tag, n = _SECTION.unpack_from(data, off)
        body = data[off + _SECTION.size:off + _SECTION.size + n]
        if n > end - off - _SECTION.size:
            raise bad
        if tag not in _SECTION_TAGS:
            raise CheckpointError("checkpoint '%s' has a section '%s' that this module does not know "
                                  "(written by a newer cnncc?)" % (path, tag.decode("latin-1")))
        if _SECTION_TAGS.index(tag) <= last:  # each once, in order
            raise bad
        last = _SECTION_TAGS.index(tag)
        got = _read_section(tag, body)
        if got is None:
            raise bad
        fields.update(got)
        off += _SECTION.size + n
    return fields


def load_cnncc_checkpoint(path, model, optimizer=None):
    """Read a checkpoint that a cnncc trainer wrote (`train --save`) or
    save_cnncc_checkpoint() wrote: the parameters and running statistics
    into model and, when optimizer (a torch.optim.Adam over model's
    parameters) is given, Adam's moments and step into its state.

    Returns the position in the data, which PyTorch has no place for: a dict
    with seed, epoch, epoch_step, batch, loss_sum, correct and seen, val
    (the --val fraction, 0.0 without one), classes (the class names of
    image folders, or None), best_epoch and best_acc (--save-best and
    --patience: the best epoch so far, 1-based, 0 for none, and its
    accuracy), t (the optimizer steps done) and optim (None for Adam
    alone, else the trainer's optimizer, schedule and clip specs, three
    strings), as save_cnncc_checkpoint() takes it. The optimizer may be
    torch.optim.Adam, AdamW or SGD (m is then its momentum_buffer). Raises
    CheckpointError (a ValueError)
    when the file is not an intact checkpoint of this network, and OSError
    when it cannot be read; the model and optimizer are left as they were."""
    with open(path, "rb") as f:
        data = f.read()
    offset, t, position = _check_header(path, data)
    params = _adam_params(model, optimizer) if optimizer is not None else None
    blocks = torch.zeros(3 * NUM_PARAMS + NUM_BUFFERS)
    if blocks.numel():
        body = _little_endian(bytearray(data[offset:offset + 4 * blocks.numel()]))
        blocks = torch.frombuffer(body, dtype=torch.float32)
    p, b = NUM_PARAMS, NUM_BUFFERS
    model.load_flat(blocks[:p], blocks[p:p + b])
    if params is not None:
        m, v = blocks[p + b:2 * p + b], blocks[2 * p + b:]
        offset = 0
        sgd = isinstance(optimizer, torch.optim.SGD)
        for param in params:
            n = param.numel()
            if t == 0:  # no step yet: PyTorch's fresh state
                optimizer.state.pop(param, None)
            elif sgd:
                optimizer.state[param] = {
                    "momentum_buffer": m[offset:offset + n].view_as(param).to(param).clone()}
            else:
                optimizer.state[param] = {
                    "step": torch.tensor(float(t)),
                    "exp_avg": m[offset:offset + n].view_as(param).to(param).clone(),
                    "exp_avg_sq": v[offset:offset + n].view_as(param).to(param).clone()}
            offset += n
    return position


def _position(position):
    """position with the defaults (the start of training with the train
    block's seed and batch), checked against what cnncc reads."""
    full = dict(seed=TRAIN["seed"], epoch=0, epoch_step=0, batch=TRAIN["batch"], loss_sum=0.0,
                correct=0, seen=0, val=0.0, classes=None, best_epoch=0, best_acc=0.0, t=0,
                optim=None)
    unknown = set(position or {}) - set(full)
    if unknown:
        raise ValueError("%s: unknown position fields %s (known: %s)"
                         % (NAME, ", ".join(sorted(unknown)), ", ".join(full)))
    full.update(position or {})
    for key, (lo, hi) in _POSITION_LIMITS.items():
        try:
            value = operator.index(full[key])
        except TypeError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ValueError("%s: position %s=%r is not an integer from %d to %d"
                             % (NAME, key, full[key], lo, hi))
        full[key] = value
    full["loss_sum"] = float(full["loss_sum"])
    full["val"] = float(full["val"])
    full["best_acc"] = float(full["best_acc"])
    if not 0 <= full["best_acc"] <= 1:
        raise ValueError("%s: position best_acc=%r is not from 0 to 1" % (NAME, full["best_acc"]))
    if not 0 <= full["val"] < 1:
        raise ValueError("%s: position val=%r is not a fraction from 0 (none) to 1" % (NAME, full["val"]))
    classes = full["classes"]
    if classes is not None and (
            not 1 <= len(classes) <= 256 or
            any(not isinstance(c, str) or not 1 <= len(c.encode("utf-8", "surrogateescape")) <= 255 or
                "\0" in c for c in classes)):
        raise ValueError("%s: position classes must be None or 1 to 256 names of 1 to 255 bytes "
                         "without NUL" % NAME)
    optim = full["optim"]
    if optim is not None and (len(optim) != 3 or any(
            not isinstance(x, str) or "\0" in x for x in optim) or
            sum(len(x.encode("utf-8")) + 1 for x in optim) > 1024):
        raise ValueError("%s: position optim must be None or the three specs (optimizer, "
                         "schedule, clip) of an OPTM section" % NAME)
    return full


def _sections(pos):
    """The version-2 sections of pos: b"" when it needs none."""
    out = b""
    if pos["val"]:
        out += _SECTION.pack(b"VALF", 8) + struct.pack("<d", pos["val"])
    if pos["classes"] is not None:
        names = b"".join(c.encode("utf-8", "surrogateescape") + b"\0" for c in pos["classes"])
        out += _SECTION.pack(b"CLSS", 4 + len(names)) + struct.pack("<I", len(pos["classes"])) + names
    if pos["best_epoch"]:
        out += _SECTION.pack(b"BEST", 16) + struct.pack("<Qd", pos["best_epoch"], pos["best_acc"])
    if pos["optim"] is not None:
        texts = b"".join(x.encode("utf-8") + b"\0" for x in pos["optim"])
        out += _SECTION.pack(b"OPTM", len(texts)) + texts
    return out


def _adam_state(model, optimizer, t):
    """The step count and moments, flat in cnncc's order (zeros for a
    parameter without state, which has not been updated yet); SGD keeps
    no step count: the position's t."""
    if optimizer is None:
        return 0, torch.zeros(NUM_PARAMS), torch.zeros(NUM_PARAMS)
    m, v, steps = [], [], set()
    for param in _adam_params(model, optimizer):
        state = optimizer.state.get(param, {})
        if "momentum_buffer" in state:
            steps.add(t)
            m.append(state["momentum_buffer"].detach().reshape(-1).float().cpu())
            v.append(torch.zeros(param.numel()))
        elif "exp_avg" in state:
            steps.add(int(state["step"]))
            m.append(state["exp_avg"].detach().reshape(-1).float().cpu())
            v.append(state["exp_avg_sq"].detach().reshape(-1).float().cpu())
        else:
            m.append(torch.zeros(param.numel()))
            v.append(torch.zeros(param.numel()))
    if len(steps) > 1:
        raise ValueError("%s: the parameters are at different Adam steps (%s); a cnncc checkpoint "
                         "has one step count" % (NAME, ", ".join(map(str, sorted(steps)))))
    t = steps.pop() if steps else 0
    if t > _MAX_COUNT:
        raise ValueError("%s: Adam step %d is more than cnncc reads" % (NAME, t))
    empty = torch.zeros(0)
    return t, torch.cat(m) if m else empty, torch.cat(v) if v else empty


def save_cnncc_checkpoint(path, model, optimizer=None, position=None):
    """Write model's parameters and running statistics, Adam's moments and
    step from optimizer (zeros and step 0 without one; SGD's momentum
    buffers with the position's t) and the position in
    the data (a dict as load_cnncc_checkpoint() returns; missing fields
    default to the start of training: epoch 0 with the train block's seed
    and batch) as a cnncc checkpoint, which `train --resume`, `eval
    --weights` and `predict --weights` of the network's trainer read.

    Written to PATH.tmp and renamed over PATH, as the trainer does."""
    pos = _position(position)
    t, m, v = _adam_state(model, optimizer, pos["t"])
    if isinstance(optimizer, torch.optim.SGD):
        t = pos["t"]
    name = NAME.encode("utf-8")
    sections = _sections(pos)
    header = _HEADER.pack(_MAGIC, 2 if sections else 1, len(name), ARCH_HASH, pos["seed"], pos["epoch"],
                          pos["epoch_step"], t, pos["batch"], pos["loss_sum"], pos["correct"],
                          pos["seen"], NUM_PARAMS, NUM_BUFFERS)
    blocks = [model.flat_params(), model.flat_buffers(), m, v]
    floats = torch.cat([x.detach().reshape(-1).float().cpu() for x in blocks])
    body = bytearray(4 * floats.numel())
    if floats.numel():
        torch.frombuffer(body, dtype=torch.float32).copy_(floats)
    data = header + name + _little_endian(body) + sections
    data += struct.pack("<I", zlib.crc32(data))
    tmp = os.fspath(path) + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
