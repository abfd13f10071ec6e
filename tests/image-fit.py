"""image-fit.py - the reference for rt_image_fit (tests/outputs.sh): image
INDEX of an IDX file, each pixel repeated SCALE x SCALE times (as
tests/image-write wrote it), resized as docs/training.md says torchvision
does: scaled to just cover H x W with PyTorch's antialiased bilinear
interpolation (torchvision's Resize on tensors; PIL's BILINEAR), rounded,
center-cropped with CenterCrop's offsets. Compares with the numbers
tests/image-fit printed (one a line in GOT) and prints the largest
difference and how many differ.

    python3 image-fit.py IDX INDEX SCALE H W GOT
"""
import gzip
import struct
import sys

import torch
import torch.nn.functional as F

path, index, scale, height, width, got_path = sys.argv[1:]
index, scale, height, width = int(index), int(scale), int(height), int(width)
with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
    data = f.read()
n, h, w = struct.unpack(">3I", data[4:16])
img = torch.tensor(list(data[16 + index * h * w:16 + (index + 1) * h * w]), dtype=torch.float64)
img = img.reshape(h, w).repeat_interleave(scale, 0).repeat_interleave(scale, 1)
h, w = h * scale, w * scale
# the cover size: the side with the larger factor exactly, the other cut
if height / h >= width / w:
    rh, rw = height, max(width, int(w * height / h))
else:
    rh, rw = max(height, int(h * width / w)), width
out = F.interpolate(img[None, None], size=(rh, rw), mode="bilinear", antialias=True,
                    align_corners=False)[0, 0]
top, left = int(round((rh - height) / 2.0)), int(round((rw - width) / 2.0))
want = torch.floor(out[top:top + height, left:left + width] + 0.5).clamp(0, 255).flatten()
got = torch.tensor([int(x) for x in open(got_path).read().split()], dtype=torch.float64)
if got.numel() != want.numel():
    print("size %d, expected %d" % (got.numel(), want.numel()))
    sys.exit(1)
diff = (got - want).abs()
print("max_diff=%d differ=%d of %d" % (int(diff.max()), int((diff > 0).sum()), diff.numel()))
