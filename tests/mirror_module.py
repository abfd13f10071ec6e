"""The module that `cnncc --emit=pytorch` wrote, loaded from its path, for
the tests' Python scripts (parity.py, e2e-torch.py, torch-ckpt.py)."""
import importlib.util

import torch


def load_module(path):
    """The mirror module at path and its one torch.nn.Module class."""
    spec = importlib.util.spec_from_file_location("mirror", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    classes = [v for v in vars(mod).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == "mirror"]
    if len(classes) != 1:
        raise RuntimeError("%s: expected one nn.Module class" % path)
    return mod, classes[0]
