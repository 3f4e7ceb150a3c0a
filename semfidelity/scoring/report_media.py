"""Pictures for the HTML report: small embedded JPEGs of pairs and maps, SVG histograms.

Every image is re-encoded as a JPEG no larger than ``max_side`` pixels and embedded as a data
URI, so a report stays one offline file whose size grows with the gallery, not with the run.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from semfidelity.scoring.heatmap import colorbar, colorize

__all__ = ["jpeg_data_uri", "load_rgb", "diff_map", "histogram_svg"]


def load_rgb(path: str | os.PathLike) -> Image.Image:
    """The image at ``path`` as 8-bit RGB (EXIF orientation applied)."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            arr = np.asarray(img, dtype=np.float64)
            peak = 65535.0 if arr.max() > 255 else 255.0
            img = Image.fromarray(np.clip(arr / peak * 255.0, 0, 255).astype(np.uint8))
        return img.convert("RGB")


def jpeg_data_uri(
    img: Image.Image, max_side: int, quality: int = 85, like: tuple[int, int] | None = None
) -> str:
    """``img`` shrunk to at most ``max_side`` pixels a side, as a ``data:image/jpeg`` URI.

    With ``like`` (a ``(width, height)``), ``img`` is shrunk by the factor that brings an image
    of that size to ``max_side`` (a colour bar keeps the scale of the map it belongs to).
    """
    if max_side < 1:
        raise ValueError(f"max_side: expected >= 1, got {max_side}")
    img = img.convert("RGB")
    scale = max_side / max(like or img.size)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def diff_map(
    ref: Image.Image, pred: Image.Image, cmap: str = "viridis"
) -> tuple[Image.Image, float, Image.Image]:
    """Colour map of the per-pixel mean absolute difference |pred - ref| in [0, 1].

    Scaled from 0 to the image's own maximum difference, so faint errors show; returns the
    map, that maximum and the map's colour bar. A prediction of another size is resized to the
    reference first.
    """
    if pred.size != ref.size:
        pred = pred.resize(ref.size, Image.Resampling.BICUBIC)
    a = np.asarray(ref, dtype=np.float32) / 255.0
    b = np.asarray(pred, dtype=np.float32) / 255.0
    diff = np.abs(a - b).mean(axis=2)
    peak = float(diff.max())
    top = peak if peak > 0 else 1.0
    bar = Image.fromarray(colorbar(diff.shape[0], cmap, 0.0, top))
    return Image.fromarray(colorize(diff, cmap, 0.0, top)), peak, bar


def histogram_svg(
    values: Sequence[float], label: str, bins: int = 30, width: int = 320, height: int = 140
) -> str:
    """An inline SVG histogram of the finite ``values`` (with the mean marked) for ``label``."""
    vals = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    title = html.escape(label)
    if vals.size == 0:
        return (
            f'<svg class="hist" width="{width}" height="{height}">'
            f'<text x="8" y="20">{title}: no values</text></svg>'
        )
    lo, hi = float(vals.min()), float(vals.max())
    if hi <= lo:
        hi = lo + 1e-12
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    pad_l, pad_b, pad_t = 8, 28, 20
    plot_w, plot_h = width - 2 * pad_l, height - pad_b - pad_t
    top = max(int(counts.max()), 1)
    bar_w = plot_w / bins
    bars = []
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = pad_l + i * bar_w
        y = pad_t + plot_h - h
        tip = f"{edges[i]:.4g} – {edges[i + 1]:.4g}: {int(c)}"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" height="{h:.1f}">'
            f"<title>{html.escape(tip)}</title></rect>"
        )
    mean = float(vals.mean())
    mx = pad_l + plot_w * (mean - lo) / (hi - lo)
    a, b = f"{lo:.4g}", f"{hi:.4g}"
    base = pad_t + plot_h
    return (
        f'<svg class="hist" width="{width}" height="{height}" role="img" aria-label="{title}">'
        f'<text x="{pad_l}" y="14" class="t">{title} (n={vals.size}, max bin {top})</text>'
        + "".join(bars)
        + f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{pad_t}" y2="{base}" class="mean">'
        f"<title>mean {mean:.6g}</title></line>"
        f'<text x="{pad_l}" y="{base + 16}">{a}</text>'
        f'<text x="{width - pad_l}" y="{base + 16}" text-anchor="end">{b}</text>'
        f'<text x="{mx:.1f}" y="{base + 16}" text-anchor="middle" class="mean">'
        f"mean {mean:.4g}</text>"
        "</svg>"
    )
