"""Colour heatmaps of spatial maps (metric maps, uncertainty maps) as PNG files.

The colour maps are built in (no matplotlib dependency): ``viridis`` (default), ``magma``,
``turbo`` and ``gray``, each linearly interpolated between anchor colours sampled from the
matplotlib maps of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["COLORMAPS", "colorize", "save_heatmap"]

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
    arr = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else values
    arr = np.asarray(arr, dtype=np.float64)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(
            f"values: expected a 2-D map (H, W) or (1, 1, H, W), got shape {np.shape(values)}"
        )
    finite = np.isfinite(arr)
    lo = vmin if vmin is not None else (float(arr[finite].min()) if finite.any() else 0.0)
    hi = vmax if vmax is not None else (float(arr[finite].max()) if finite.any() else 1.0)
    scale = hi - lo if hi > lo else 1.0
    norm = np.clip(np.where(finite, (arr - lo) / scale, 0.0), 0.0, 1.0)
    anchors = np.asarray(COLORMAPS[cmap], dtype=np.float64)
    pos = norm * (len(anchors) - 1)
    i0 = np.minimum(pos.astype(np.int64), len(anchors) - 2)
    frac = (pos - i0)[..., None]
    rgb = anchors[i0] * (1.0 - frac) + anchors[i0 + 1] * frac
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def save_heatmap(
    values: torch.Tensor | np.ndarray,
    path: str | os.PathLike,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> Path:
    """Write ``values`` (2-D, or ``(1, H, W)`` / ``(1, 1, H, W)``) as a colour PNG at ``path``.

    Parent folders are created. Returns the path written. See :func:`colorize` for scaling.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(colorize(values, cmap, vmin, vmax)).save(out)
    return out
