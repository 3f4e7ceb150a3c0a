"""Colour conversions used by the classical metrics (luma for TWS, MATLAB Y for SR papers)."""

from __future__ import annotations

import torch

__all__ = ["rgb_to_luma", "rgb_to_y"]

_BT601 = (0.299, 0.587, 0.114)
# MATLAB rgb2ycbcr for inputs in [0, 1]: Y = 16 + 65.481 R + 128.553 G + 24.966 B (in [16, 235]).
_MATLAB_Y = (65.481, 128.553, 24.966)


def _weighted_sum(x: torch.Tensor, weights: tuple[float, float, float]) -> torch.Tensor:
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"x: expected a (B, 3, H, W) or (B, 1, H, W) tensor, got {tuple(x.shape)}")
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(dim=1)
    return (weights[0] * r + weights[1] * g + weights[2] * b).unsqueeze(1)


def rgb_to_luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of ``(B, 3, H, W)`` RGB in [0, 1].

    Returns ``(B, 1, H, W)`` in [0, 1]; a single-channel input is returned unchanged.
    """
    return _weighted_sum(x, _BT601)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2ycbcr`` Y channel of RGB in [0, 1], rescaled to [0, 1] (i.e. divided by 255).

    This is the Y channel that SR papers (and BasicSR's ``test_y_channel``) evaluate PSNR/SSIM
    on. Values lie in [16/255, 235/255]. Returns ``(B, 1, H, W)``; single channel: unchanged.
    """
    if x.shape[1] == 1:
        return _weighted_sum(x, _MATLAB_Y)  # validates the shape, returns x unchanged
    return (_weighted_sum(x, _MATLAB_Y) + 16.0) / 255.0
