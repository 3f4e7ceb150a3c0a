"""The Inception-v3 of FID (Heusel et al. 2017): TensorFlow's 2015-12-05 graph as ported by
pytorch-fid and torch-fidelity (whose feature extractor torchmetrics' FID uses).

It is torchvision's Inception-v3 with the TF graph's differences: average pools that exclude
the padding (``count_include_pad=False``) in the A, C and first E blocks, a max pool in the
last E block's pool branch, and a 1008-class head (unused here). Layer names are torchvision's,
which are the key names of ``pt_inception-2015-12-05-6726825d.pth`` (manifest id
``inception-v3-fid``). The output is the 2048-d pool feature that FID compares.

Input handling follows torchmetrics' ``FrechetInceptionDistance`` (torch-fidelity's extractor
with ``antialias=True``): 8-bit values, bilinear antialiased resize to 299x299, ``(x - 128) /
128``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv

from semfidelity.backbones._state import WeightsArg, freeze, load_into, resolve_state_dict

__all__ = ["FIDInceptionV3", "build_fid_inception", "FID_WEIGHT_ID", "FID_FEATURES"]

FID_WEIGHT_ID = "inception-v3-fid"
FID_FEATURES = 2048


def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _A(tv.InceptionA):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_pool(x))]


class _C(tv.InceptionC):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3):
            d = layer(d)
        d = self.branch7x7dbl_5(self.branch7x7dbl_4(d))
        return [self.branch1x1(x), b7, d, self.branch_pool(_pool(x))]


class _E(tv.InceptionE):
    def __init__(self, in_channels: int, *, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _pool(x)
        return [self.branch1x1(x), b3, d, self.branch_pool(pooled)]


class FIDInceptionV3(nn.Module):
    """``forward(images) -> (B, 2048)`` float32 pool features.

    ``images``: ``(B, 3, H, W)`` float in [0, 1] (rounded to 8 bits first, as images read from
    files are) or ``uint8`` in [0, 255]. Always in eval mode.
    """

    size = 299

    def __init__(self) -> None:
        super().__init__()
        conv = tv.BasicConv2d
        self.Conv2d_1a_3x3 = conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3)
        self.Mixed_5b = _A(192, pool_features=32)
        self.Mixed_5c = _A(256, pool_features=64)
        self.Mixed_5d = _A(288, pool_features=64)
        self.Mixed_6a = tv.InceptionB(288)
        self.Mixed_6b = _C(768, channels_7x7=128)
        self.Mixed_6c = _C(768, channels_7x7=160)
        self.Mixed_6d = _C(768, channels_7x7=160)
        self.Mixed_6e = _C(768, channels_7x7=192)
        self.Mixed_7a = tv.InceptionD(768)
        self.Mixed_7b = _E(1280, max_pool=False)
        self.Mixed_7c = _E(2048, max_pool=True)

    def train(self, mode: bool = True) -> FIDInceptionV3:
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() if images.dtype == torch.uint8 else (images * 255).round()
        x = F.interpolate(
            x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True
        )
        x = (x - 128) / 128
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3)).float()


def build_fid_inception(weights: WeightsArg = None) -> FIDInceptionV3:
    """A frozen :class:`FIDInceptionV3`; ``weights`` as in :mod:`semfidelity.backbones._state`
    (default ``inception-v3-fid``; the file's ``fc.*`` head is dropped)."""
    model = FIDInceptionV3()
    state = resolve_state_dict(weights, FID_WEIGHT_ID, what="FID Inception-v3")
    if state is not None:
        load_into(model, state, what="FID Inception-v3")
    return freeze(model)
