"""Gaussian filtering, symmetric padding and border cropping (pure tensor maths)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["gaussian_kernel1d", "gaussian_filter", "symmetric_pad", "crop_border"]


def gaussian_kernel1d(
    win_size: int = 11,
    sigma: float = 1.5,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Normalised 1-D Gaussian window of odd length ``win_size``, shape ``(win_size,)``."""
    if not isinstance(win_size, int) or win_size < 1 or win_size % 2 == 0:
        raise ValueError(f"win_size: expected an odd positive int, got {win_size!r}")
    if not sigma > 0:
        raise ValueError(f"sigma: expected a positive number, got {sigma!r}")
    coords = torch.arange(win_size, dtype=torch.float64) - (win_size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).to(device=device, dtype=dtype)


def gaussian_filter(
    x: torch.Tensor,
    kernel: torch.Tensor,
    *,
    scale: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """'Valid' Gaussian filtering of every channel of ``x`` ``(B, C, H, W)`` with a 1-D kernel.

    The window is the outer product of ``kernel`` with itself. Returns
    ``(B, C, H - k + 1, W - k + 1)``. One depthwise 2-D convolution in channels-last layout:
    on CPU, oneDNN's depthwise kernel is about 3x faster on NHWC than on NCHW, and beats two
    separable passes (benchmarks/classical_peers.py). Optional ``scale`` and ``bias``
    (``(C,)`` each) give ``scale[c] * filter(x[:, c]) + bias[c]`` at no extra pass.
    """
    c = x.shape[1]
    k = kernel.numel()
    window = torch.outer(kernel, kernel).view(1, 1, k, k).expand(c, 1, k, k)
    if scale is not None:
        window = window * scale.view(c, 1, 1, 1)
    if x.device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    return F.conv2d(x, window, bias, groups=c)


def _symmetric_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    idx = np.pad(np.arange(n), (before, after), mode="symmetric")
    return torch.from_numpy(idx).to(device)


def symmetric_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Half-sample symmetric padding (``d c b a | a b c d | d c b a``) of the last two dims.

    This is SciPy's ``mode='reflect'`` and PyWavelets' ``'symmetric'``; ``torch.nn.functional.pad``
    only offers whole-sample reflection. Works for any ``pad``, also larger than the image.
    """
    if pad == 0:
        return x
    h, w = x.shape[-2:]
    x = x.index_select(-2, _symmetric_index(h, pad, pad, x.device))
    return x.index_select(-1, _symmetric_index(w, pad, pad, x.device))


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """Drop ``border`` pixels on each side of the last two dims (BasicSR's ``crop_border``)."""
    if not isinstance(border, int) or border < 0:
        raise ValueError(f"crop_border: expected a non-negative int, got {border!r}")
    if border == 0:
        return x
    h, w = x.shape[-2:]
    if 2 * border >= min(h, w):
        raise ValueError(f"crop_border: {border} pixels per side leaves nothing of a {h}x{w} image")
    return x[..., border : h - border, border : w - border]
