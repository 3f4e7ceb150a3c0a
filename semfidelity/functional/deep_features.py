"""Distances between multi-stage deep features (LPIPS family), as pure tensor functions.

Reference: Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", CVPR 2018 (LPIPS); Rocafort 2025 (CLIP-LPIPS / CLU on ResNet-50 stages).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["unit_normalize", "squared_feature_diff", "raw_squared_diff", "upsample_to"]


def unit_normalize(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Divide each spatial feature vector by its L2 norm over channels: ``x / (||x|| + eps)``.

    Same value as ``lpips.normalize_tensor``; ``eps**2`` inside the square root keeps the
    gradient finite where a feature vector is all zeros (a dead ReLU position).
    Shape ``(B, C, H, W)`` -> same; float32 even under autocast.
    """
    x = x.float()
    norm = torch.sqrt(x.pow(2).sum(dim=1, keepdim=True) + eps * eps)
    return x / (norm + eps)


def squared_feature_diff(fp: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
    """``(unit_normalize(fp) - unit_normalize(ft)) ** 2``; ``ft`` may have batch 1."""
    return (unit_normalize(fp) - unit_normalize(ft)).pow(2)


def raw_squared_diff(fp: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
    """``(fp - ft) ** 2`` of the raw (not normalised) features, float32; ``ft`` may have batch 1.

    Its spatial mean per channel is the per-channel MSE the semantic-fidelity thesis feeds its
    CLIP-LPIPS heads; the maps themselves are what its CLU decoder reads.
    """
    return (fp.float() - ft.float()).pow(2)


def upsample_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (``align_corners=False``, as LPIPS' ``spatial=True``) to ``size``."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
