"""Peak signal-to-noise ratio."""

from __future__ import annotations

import torch

__all__ = ["psnr"]


def psnr(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, eps: float = 1e-10
) -> torch.Tensor:
    """PSNR per image in dB (higher is better).

    ``10 * log10(data_range**2 / MSE)`` with the MSE taken over all channels and pixels of each
    image. Args: ``pred``, ``target`` of shape ``(B, C, H, W)`` (target batch may be 1).
    Returns ``(B,)``. Identical images give ``10*log10(data_range**2/eps)`` (100 dB for the
    defaults) rather than infinity, so the score stays finite and differentiable.
    """
    mse = (pred.float() - target.float()).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(data_range**2 / (mse + eps))
