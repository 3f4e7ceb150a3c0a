"""Colour heatmaps of spatial maps (metric maps, uncertainty maps) as PNG files.

The colour maps are built in (no matplotlib dependency): ``viridis`` (default), ``magma``,
``turbo`` and ``gray``, each linearly interpolated between anchor colours sampled from the
matplotlib maps of the same name.

A saved heatmap carries its legend: :func:`save_heatmap` appends a colour bar (:func:`colorbar`)
labelled with the values of its ends and middle, so a PNG says which value each colour is
without the documentation at hand. Reuse :func:`add_colorbar` for any other map figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

__all__ = ["COLORMAPS", "colorize", "colorbar", "add_colorbar", "map_limits", "save_heatmap"]

_BAR_WIDTH, _GAP, _FONT_SIZE = 12, 4, 11

COLORMAPS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "viridis": (
        (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
    ),
    "magma": (
        (0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
        (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191),
    ),
    "turbo": (
        (48, 18, 59), (70, 107, 227), (40, 187, 236), (50, 241, 152), (164, 252, 60),
        (237, 208, 58), (251, 128, 34), (210, 49, 5), (122, 4, 3),
    ),
    "gray": ((0, 0, 0), (255, 255, 255)),
}  # fmt: skip


def _as_2d(values: torch.Tensor | np.ndarray) -> np.ndarray:
    arr = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else values
    arr = np.asarray(arr, dtype=np.float64)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(
            f"values: expected a 2-D map (H, W) or (1, 1, H, W), got shape {np.shape(values)}"
        )
    return arr


def map_limits(
    values: torch.Tensor | np.ndarray, vmin: float | None = None, vmax: float | None = None
) -> tuple[float, float]:
    """The values drawn as the lowest and highest colour: ``vmin``/``vmax``, each defaulting to
    the map's finite min/max (0 and 1 for a map without finite values)."""
    arr = _as_2d(values)
    finite = np.isfinite(arr)
    lo = vmin if vmin is not None else (float(arr[finite].min()) if finite.any() else 0.0)
    hi = vmax if vmax is not None else (float(arr[finite].max()) if finite.any() else 1.0)
    return float(lo), float(hi)


def colorize(
    values: torch.Tensor | np.ndarray,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> np.ndarray:
    """Map a 2-D array to an ``(H, W, 3)`` uint8 RGB image.

    Values are scaled to [0, 1] by ``(v - vmin) / (vmax - vmin)`` (``vmin``/``vmax`` default to
    the array's finite min/max) and clipped; NaN/Inf become the lowest colour.
    """
    if cmap not in COLORMAPS:
        raise ValueError(f"cmap: expected one of {sorted(COLORMAPS)}, got {cmap!r}")
    arr = _as_2d(values)
    finite = np.isfinite(arr)
    lo, hi = map_limits(arr, vmin, vmax)
    scale = hi - lo if hi > lo else 1.0
    norm = np.clip(np.where(finite, (arr - lo) / scale, 0.0), 0.0, 1.0)
    anchors = np.asarray(COLORMAPS[cmap], dtype=np.float64)
    pos = norm * (len(anchors) - 1)
    i0 = np.minimum(pos.astype(np.int64), len(anchors) - 2)
    frac = (pos - i0)[..., None]
    rgb = anchors[i0] * (1.0 - frac) + anchors[i0 + 1] * frac
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=_FONT_SIZE)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _tick(value: float) -> str:
    return f"{value:.3g}"


def colorbar(
    height: int, cmap: str = "viridis", vmin: float = 0.0, vmax: float = 1.0
) -> np.ndarray:
    """A vertical colour bar panel ``(height, W, 3)`` uint8 on white: ``vmax`` at the top,
    ``vmin`` at the bottom, labelled with both (and the middle value when there is room)."""
    if not isinstance(height, int) or height < 1:
        raise ValueError(f"height: expected a positive int, got {height!r}")
    ramp = np.linspace(vmax, vmin, height)[:, None].repeat(_BAR_WIDTH, axis=1)
    bar = colorize(ramp, cmap, vmin, vmax)
    font = _font()
    ticks = [(0, vmax), (height - 1, vmin)]
    if height >= 4 * _FONT_SIZE:
        ticks.append(((height - 1) // 2, (vmin + vmax) / 2))
    text_w = max(int(np.ceil(font.getlength(_tick(v)))) for _, v in ticks)
    panel = Image.new("RGB", (_GAP + _BAR_WIDTH + _GAP + text_w + _GAP, height), "white")
    panel.paste(Image.fromarray(bar), (_GAP, 0))
    draw = ImageDraw.Draw(panel)
    for row, value in ticks:
        anchor = "lt" if row == 0 else ("lb" if row == height - 1 else "lm")
        y = row + 1 if anchor == "lb" else row
        draw.text((2 * _GAP + _BAR_WIDTH, y), _tick(value), fill="black", font=font, anchor=anchor)
    return np.asarray(panel)


def add_colorbar(
    rgb: np.ndarray, cmap: str = "viridis", vmin: float = 0.0, vmax: float = 1.0
) -> np.ndarray:
    """``rgb`` ``(H, W, 3)`` with :func:`colorbar` appended on its right (width grows)."""
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb: expected an (H, W, 3) image, got shape {rgb.shape}")
    return np.concatenate([rgb, colorbar(rgb.shape[0], cmap, vmin, vmax)], axis=1)


def save_heatmap(
    values: torch.Tensor | np.ndarray,
    path: str | os.PathLike,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    *,
    legend: bool = True,
) -> Path:
    """Write ``values`` (2-D, or ``(1, H, W)`` / ``(1, 1, H, W)``) as a colour PNG at ``path``.

    With ``legend`` (default) a labelled colour bar is appended on the right, so the file is
    wider than the map; the map itself is the left ``W`` columns, pixel for pixel
    :func:`colorize`'s. Parent folders are created. Returns the path written. ``vmin``/``vmax``
    default to the map's own finite min/max (then the bar's labels are that map's values).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    lo, hi = map_limits(values, vmin, vmax)
    rgb = colorize(values, cmap, lo, hi)
    Image.fromarray(add_colorbar(rgb, cmap, lo, hi) if legend else rgb).save(out)
    return out
