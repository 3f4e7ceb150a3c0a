"""Training-input geometry that keeps the labelled change: resize, then crop around the mask.

A pair labelled as a semantic error (``label > 0``) must still show the error after cropping,
or the model learns "1" from an unchanged crop. Three fits (``fit=``) bring a pair to ``size``:

* ``"mask"`` (default): resize the shorter side to ``size``, then cut the ``size x size`` window
  nearest the centre that contains the bounding box of the change mask (mask >= 0.5); a change
  larger than the window fills it. Pairs with ``label > 0`` and no (or an empty) mask are resized
  whole to a square (aspect ratio not kept), since where their change lies is unknown.
  Pairs with ``label == 0`` are centre-cropped.
* ``"resize"``: every pair is resized whole to ``size x size`` (aspect ratio not kept).
* ``"centre"``: resize the shorter side and centre-crop, whatever the mask (may cut the change
  out; the behaviour before ``fit`` existed).

``crop`` then cuts a square at a position drawn from ``(seed, row index)``; under ``"mask"`` and
``"resize"`` the draw is limited to windows that keep the changed region (label > 0 without a
known region: the pair is resized whole to ``crop`` instead). Every step is deterministic.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

__all__ = ["FITS", "fit_pair", "mask_box", "window_range"]

FITS = ("mask", "resize", "centre")


def _resize(x: torch.Tensor, new: tuple[int, int], mode: str) -> torch.Tensor:
    if new == tuple(x.shape[-2:]):
        return x
    return F.interpolate(x, size=new, mode=mode, align_corners=False, antialias=True).clamp(0, 1)


def _resize_short(x: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    return _resize(x, (max(size, round(h * scale)), max(size, round(w * scale))), mode)


def mask_box(mask: torch.Tensor, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` (inclusive) of the pixels >= ``threshold`` of ``mask``
    ``(...,H,W)``, or ``None`` when there are none."""
    on = mask.reshape(-1, *mask.shape[-2:]).amax(0) >= threshold
    rows, cols = on.any(1).nonzero().flatten(), on.any(0).nonzero().flatten()
    if rows.numel() == 0:
        return None
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def window_range(first: int, last: int, extent: int, side: int) -> tuple[int, int]:
    """Start positions ``[lo, hi]`` of a ``side`` window on an axis of length ``extent`` that
    contain pixels ``first..last`` (or, when those span more than ``side``, lie inside them)."""
    lo, hi = sorted((first, last - side + 1))
    lo, hi = max(0, lo), min(extent - side, hi)
    return lo, max(lo, hi)


def _window(
    box: tuple[int, int, int, int] | None, hw: tuple[int, int], side: int, pick
) -> tuple[int, int]:
    spans = (box[:2], box[2:]) if box is not None else (None, None)
    out = []
    for extent, span in zip(hw, spans):
        lo, hi = window_range(*span, extent, side) if span else (0, extent - side)
        out.append(pick(lo, hi, extent))
    return out[0], out[1]


def _cut(xs: list[torch.Tensor], top: int, left: int, side: int) -> list[torch.Tensor]:
    return [x[..., top : top + side, left : left + side] for x in xs]


def _box(mask: torch.Tensor, aware: bool) -> tuple[int, int, int, int] | None:
    # After downscaling, a small region's peak can fall below 0.5: half the peak then.
    peak = float(mask.max())
    return mask_box(mask, min(0.5, peak / 2)) if aware and peak > 0 else None


def fit_pair(
    images: torch.Tensor,
    mask: torch.Tensor,
    *,
    label: float,
    has_mask: bool,
    size: int | None,
    crop: int | None,
    fit: str,
    seed_key: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply ``fit``/``size``/``crop`` to ``images`` ``(1,C,H,W)`` (bicubic) and ``mask``
    ``(1,1,H,W)`` (bilinear) alike; ``seed_key`` seeds the ``crop`` position."""
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {FITS}, got {fit!r}")
    known = has_mask and mask_box(mask) is not None  # where the change lies
    aware = fit != "centre" and known  # window positions follow the mask
    final = crop or size
    if fit != "centre" and label > 0 and not known and final is not None:
        # a labelled change whose place is unknown: keep all of it
        square = (final, final)
        return _resize(images, square, "bicubic"), _resize(mask, square, "bilinear")
    if size is not None and fit == "resize":
        images, mask = (
            _resize(images, (size, size), "bicubic"),
            _resize(mask, (size, size), "bilinear"),
        )
    elif size is not None:
        images, mask = _resize_short(images, size, "bicubic"), _resize_short(mask, size, "bilinear")
        top, left = _window(
            _box(mask, aware),
            images.shape[-2:],
            size,
            lambda lo, hi, extent: min(max((extent - size) // 2, lo), hi),  # nearest the centre
        )
        images, mask = _cut([images, mask], top, left, size)
    if crop is not None:
        if min(images.shape[-2:]) < crop:
            images, mask = (
                _resize_short(images, crop, "bicubic"),
                _resize_short(mask, crop, "bilinear"),
            )
        rng = random.Random(seed_key)
        top, left = _window(
            _box(mask, aware), images.shape[-2:], crop, lambda lo, hi, _: rng.randint(lo, hi)
        )
        images, mask = _cut([images, mask], top, left, crop)
    return images, mask.clamp(0, 1)
