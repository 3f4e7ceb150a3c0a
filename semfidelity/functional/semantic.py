"""TWS semantic term maths: cosine rescaling against a floor, region pooling, region maps.

Pure tensor functions; the embeddings come from :mod:`semfidelity.backbones.clip_views`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "POOLINGS",
    "SEMANTIC_SCALES",
    "check_pooling",
    "paint_regions",
    "pool_similarities",
    "rescale_cosine",
]

POOLINGS = ("pnorm", "mean", "min", "whole")
SEMANTIC_SCALES = ("floor", "raw")


def check_pooling(pooling: str, p: float) -> float:
    """Validate ``clip_pooling`` and ``clip_p``; returns ``p`` as a float."""
    if pooling not in POOLINGS:
        raise ValueError(f"clip_pooling: expected one of {POOLINGS}, got {pooling!r}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not (1 <= p < math.inf):
        raise ValueError(f"clip_p: expected a finite number >= 1, got {p!r}")
    return float(p)


def rescale_cosine(cos: torch.Tensor, floor: float | None) -> torch.Tensor:
    """``clamp((cos - floor) / (1 - floor), 0, 1)``; ``floor=None`` -> ``clamp(cos, 0, 1)``.

    ``floor`` is the typical cosine of unrelated images under the same encoder
    (:func:`semfidelity.backbones.clip_floor.semantic_floor`), so 0 means "as similar as two
    unrelated photographs" and 1 means "same embedding".
    """
    if floor is None:
        return cos.clamp(0.0, 1.0)
    if not floor < 1.0:
        raise ValueError(f"floor: expected a cosine below 1, got {floor!r}")
    return ((cos - floor) / (1.0 - floor)).clamp(0.0, 1.0)


def pool_similarities(
    whole: torch.Tensor, regions: torch.Tensor | None, pooling: str = "pnorm", p: float = 4.0
) -> torch.Tensor:
    """One ``(B,)`` similarity from the whole-image ``(B,)`` and per-region ``(B, R)`` ones.

    The whole image and the mean over regions weigh equally; with ``d = 1 - s``:

    * ``"pnorm"``: ``1 - ((d_whole^p + mean_r d_r^p) / 2)^(1/p)``: one badly changed region
      lowers the score far more than the same total change spread thinly (``p = 1`` is
      ``"mean"``, ``p -> inf`` tends to ``"min"``);
    * ``"mean"``: ``(s_whole + mean_r s_r) / 2``;
    * ``"min"``: ``min(s_whole, min_r s_r)``;
    * ``"whole"``, or no regions: ``s_whole``.

    All inputs and the output lie in [0, 1]; identical images (all ``s = 1``) give 1.
    """
    if regions is None or pooling == "whole":
        return whole
    if pooling == "mean":
        return 0.5 * (whole + regions.mean(dim=1))
    if pooling == "min":
        return torch.minimum(whole, regions.amin(dim=1))
    if pooling != "pnorm":
        raise ValueError(f"clip_pooling: expected one of {POOLINGS}, got {pooling!r}")
    d_whole, d_regions = (1.0 - whole).clamp_min(0.0), (1.0 - regions).clamp_min(0.0)
    power = 0.5 * (d_whole.pow(p) + d_regions.pow(p).mean(dim=1))
    # The p-th root has an infinite slope at 0 (perfect agreement everywhere): take it only
    # where the power is positive, so gradients stay finite at identical images.
    positive = power > 0
    d = torch.where(positive, torch.where(positive, power, 1.0).pow(1.0 / p), 0.0)
    return (1.0 - d).clamp(0.0, 1.0)


def paint_regions(
    values: torch.Tensor, boxes: Sequence[tuple[float, float, float, float]], size: Sequence[int]
) -> torch.Tensor:
    """Per-region values ``(B, R)`` -> ``(B, 1, H, W)`` map: each pixel the mean over the regions
    whose box (fractions ``(top, left, height, width)``) covers it; 0 where none does."""
    h, w = int(size[0]), int(size[1])
    if values.ndim != 2 or values.shape[1] != len(boxes):
        raise ValueError(
            f"values: expected (B, {len(boxes)}) for {len(boxes)} boxes, got {tuple(values.shape)}"
        )
    masks = torch.zeros(len(boxes), h, w, device=values.device, dtype=values.dtype)
    for k, (top, left, bh, bw) in enumerate(boxes):
        r0, c0 = round(top * h), round(left * w)
        masks[
            k, r0 : max(r0 + 1, round((top + bh) * h)), c0 : max(c0 + 1, round((left + bw) * w))
        ] = 1
    total = torch.einsum("br,rhw->bhw", values, masks)
    count = masks.sum(dim=0).clamp_min(1.0)
    return (total / count).unsqueeze(1)
