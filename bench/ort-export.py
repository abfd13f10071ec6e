#!/usr/bin/env python3
"""ort-export.py - the ONNX model of a network for bench/ort-time.js, made
from its PyTorch mirror, for bench/infer-latency.sh:

    python3 bench/ort-export.py MODULE.py CKPT X.f32 REF.f32 OUTDIR

MODULE.py is the network's PyTorch mirror (cnncc --emit=pytorch), CKPT the
checkpoint that cnncc --emit=inference compiles in (tests/infer-ref.c writes
it with X.f32, some inputs, and REF.f32, the training code's evaluation-mode
outputs for them). The mirror gets the checkpoint's parameters and buffers
and is put in evaluation mode; its outputs for X.f32 must match REF.f32
(|got - want| <= 1e-4 * max(1, |want|)), else the weights were not read as
the C reads them and the script fails. Then torch.onnx.export writes
OUTDIR/model.onnx (opset 17) of model.predict(x), the network's output as
cnn_predict computes it, with a dynamic batch axis, and OUTDIR/check-in.f32,
OUTDIR/check-out.f32: X.f32 and the mirror's outputs, which
bench/ort-time.js --check compares with ONNX Runtime's."""
import importlib.util
import os
import struct
import sys
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

TOLERANCE = 1e-4


def load_mirror(path):
    spec = importlib.util.spec_from_file_location("mirror", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod.__name__]
    return mod, classes[0]()


def read_checkpoint(path):
    """The parameter and buffer blocks of a cnncc checkpoint (version 1,
    docs/checkpoint-format.md; the reader of docs/pytorch.md)."""
    data = open(path, "rb").read()
    (name_len,) = struct.unpack_from("<I", data, 12)
    nparams, nbuffers = struct.unpack_from("<QQ", data, 88)
    floats = torch.frombuffer(bytearray(data), dtype=torch.float32,
                              count=nparams + nbuffers, offset=104 + name_len)
    return floats[:nparams], floats[nparams:]


def read_f32(path, shape):
    x = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.float32)
    return x.reshape(-1, *shape)


def max_error(got, want):
    return ((got - want).abs() / want.abs().clamp(min=1)).max().item()


class Predict(torch.nn.Module):
    """The mirror's predict() as forward(), which torch.onnx.export traces."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.predict(x)


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: ort-export.py MODULE.py CKPT X.f32 REF.f32 OUTDIR")
    module, ckpt, x_path, ref_path, outdir = sys.argv[1:]
    torch.set_num_threads(1)
    mod, model = load_mirror(module)
    model.load_flat(*read_checkpoint(ckpt))
    model.eval()
    x = read_f32(x_path, mod.INPUT_SHAPE)
    ref = read_f32(ref_path, mod.OUTPUT_SHAPE)
    with torch.no_grad():
        y = model.predict(x)
    err = max_error(y, ref)
    if y.shape != ref.shape or err > TOLERANCE:
        sys.exit("ort-export.py: %s: the mirror with %s gives outputs %s off the C's by %.3g "
                 "(tolerance %g)" % (mod.NAME, ckpt, tuple(y.shape), err, TOLERANCE))
    # The exporter's notes on shape inference and constant folding (F.pad
    # for causal convolutions) are noise here: ort-time.js --check compares
    # what ONNX Runtime computes with the mirror.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
    onnx_path = os.path.join(outdir, "model.onnx")
    torch.onnx.export(Predict(model), x[:1], onnx_path, opset_version=17,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    x.numpy().tofile(os.path.join(outdir, "check-in.f32"))
    y.numpy().tofile(os.path.join(outdir, "check-out.f32"))


if __name__ == "__main__":
    main()
