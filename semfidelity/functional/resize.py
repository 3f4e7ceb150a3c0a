"""MATLAB ``imresize`` (bicubic, antialiased when shrinking) as two batched matrix products.

SR evaluation code (BasicSR's ``matlab_functions.imresize``, the NIQE release) resizes with
MATLAB's kernel rather than torch's: Keys cubic with ``a = -0.5``, the kernel widened by
``1 / scale`` when downsampling, weights normalised per output pixel, and half-sample
symmetric padding at the borders. Folding the padding into a dense ``(out, in)`` matrix per
axis turns the resize into ``A_h @ x @ A_w^T``: batched, on any device, differentiable.
"""

from __future__ import annotations

import math

import torch

__all__ = ["imresize_matlab", "matlab_resize_matrix"]


def _cubic(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    near = (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def matlab_resize_matrix(
    in_length: int,
    out_length: int,
    scale: float,
    *,
    antialias: bool = True,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``(out_length, in_length)`` matrix of MATLAB's bicubic resize along one axis.

    Row ``k`` holds the weights of output pixel ``k``; indices that fall outside the input are
    reflected (half-sample symmetric), as MATLAB and BasicSR pad.
    """
    width = 4.0 / scale if (scale < 1 and antialias) else 4.0
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    dist = u[:, None] - idx
    w = scale * _cubic(dist * scale) if (scale < 1 and antialias) else _cubic(dist)
    w = w / w.sum(dim=1, keepdim=True)
    src = idx.long() - 1  # MATLAB's 1-based positions -> 0-based
    period = 2 * in_length
    src = torch.remainder(src, period)
    src = torch.where(src >= in_length, period - 1 - src, src)
    mat = torch.zeros(out_length, in_length, dtype=torch.float64)
    mat.scatter_add_(1, src, w)
    return mat.to(device=device, dtype=dtype)


def imresize_matlab(x: torch.Tensor, scale: float, *, antialias: bool = True) -> torch.Tensor:
    """Resize ``(B, C, H, W)`` by ``scale`` as MATLAB ``imresize(x, scale, 'bicubic')``.

    The output is ``ceil(H * scale) x ceil(W * scale)``, not rounded or clamped; it keeps the
    dtype of ``x`` (the weights are built in float64 and cast).
    """
    if x.ndim != 4:
        raise ValueError(f"x: expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    h, w = x.shape[-2:]
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    kw = {"antialias": antialias, "dtype": x.dtype, "device": x.device}
    a_h = matlab_resize_matrix(h, oh, scale, **kw)
    a_w = matlab_resize_matrix(w, ow, scale, **kw)
    return a_h @ x @ a_w.T
