"""idx.py - read an IDX file (MNIST's format), plain or gzip-compressed,
for the exporters beside it (idx-to-csv.py, idx-to-folders.py).
Plain Python: the scripts run where PyTorch is not installed."""
import gzip
import os
import struct


def read_idx(path):
    """(dims, payload bytes) of PATH or, when it exists, PATH.gz."""
    zipped = os.path.exists(path + ".gz")
    with (gzip.open(path + ".gz", "rb") if zipped else open(path, "rb")) as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]
