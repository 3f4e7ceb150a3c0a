"""Edge maps and edge SSIM: the TWS edge term (docs/metrics/tws.md)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.filters import canny

from semfidelity.functional.color import rgb_to_luma
from semfidelity.functional.ssim import ssim

__all__ = ["EDGE_METHODS", "edge_map", "edge_ssim", "sobel_magnitude"]

EDGE_METHODS = ("sobel", "canny")
_SOBEL_EPS = 1e-6  # inside the sqrt of the magnitude: finite gradients on flat regions


def sobel_magnitude(y: torch.Tensor, eps: float = _SOBEL_EPS) -> torch.Tensor:
    """``sqrt(gx^2 + gy^2 + eps)`` of the 3x3 Sobel gradients divided by 8, replicate padding.

    Same values as ``kornia.filters.sobel(y, normalized=True, eps=eps)`` (to 1e-7), written as
    separable slice arithmetic, which measured about twice as fast on CPU.
    """
    yp = F.pad(y, [1, 1, 1, 1], mode="replicate")
    smooth = yp[..., :-2, :] + 2 * yp[..., 1:-1, :] + yp[..., 2:, :]
    gx = smooth[..., 2:] - smooth[..., :-2]
    diff = yp[..., 2:, :] - yp[..., :-2, :]
    gy = diff[..., :-2] + 2 * diff[..., 1:-1] + diff[..., 2:]
    return torch.addcmul(gx * gx, gy, gy).mul_(1 / 64).add_(eps).sqrt_()


def edge_map(x: torch.Tensor, *, edge: str = "sobel") -> torch.Tensor:
    """Edge map of the BT.601 luma of ``x`` ``(B, 3|1, H, W)``; ``(B, 1, H, W)`` in [0, 1].

    ``edge="sobel"`` (differentiable): magnitude ``sqrt(gx^2 + gy^2 + 1e-6)`` of the normalised
    3x3 Sobel gradients (kernels divided by 8, replicate padding; ``kornia.filters.sobel``),
    clamped to [0, 1] (see :func:`sobel_magnitude`). For images in [0, 1] the magnitude is at
    most ``sqrt(2)/2``.
    ``edge="canny"``: binary Canny edges (``kornia.filters.canny`` with its defaults: Gaussian
    5x5, sigma 1, hysteresis thresholds 0.1/0.2); not differentiable.
    """
    if edge not in EDGE_METHODS:
        raise ValueError(f"edge: expected one of {EDGE_METHODS}, got {edge!r}")
    y = rgb_to_luma(x.float())
    with torch.autocast(device_type=y.device.type, enabled=False):
        if edge == "sobel":
            return sobel_magnitude(y).clamp(0.0, 1.0)
        with torch.no_grad():
            _, edges = canny(y)
        return edges.float()


def edge_ssim(pred: torch.Tensor, target: torch.Tensor, *, edge: str = "sobel") -> torch.Tensor:
    """SSIM of the edge maps of ``pred`` and ``target`` (Gaussian 11/1.5, data_range 1).

    Returns ``(B,)`` clamped to [0, 1], higher is better; ``target`` may have batch 1.
    """
    return ssim(edge_map(pred, edge=edge), edge_map(target, edge=edge)).clamp(0.0, 1.0)
