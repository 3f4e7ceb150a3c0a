"""Synthetic pair data from any folder of images.

Two kinds of pairs, half each (kinds alternate in a seeded order):

* **semantic change** (label 1, with a mask): a random ellipse or rectangle covering 8-35 % of
  the crop is replaced by a patch of *another* image through a feathered (Gaussian-blurred)
  mask; the mask PNG is white where the blend weight exceeds 0.5. Half of them also get a mild
  no-change distortion on top, so that "any pixel difference" is not a shortcut.
* **no change** (label 0): Gaussian blur, Gaussian noise, JPEG, bicubic down-up x2 or x4, the
  BSRGAN-style chain of :func:`semfidelity.training.degrade` at intensity 0.3/0.7/1.0, or a
  small colour shift (gain/offset per channel, saturation).

The inpainting-based pairs of the semantic-fidelity work need a generative model; this
generator is the model-free stand-in (see ``docs/training.md``).
"""

from __future__ import annotations

import csv
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from semfidelity.io import IMAGE_EXTENSIONS, load_image, to_pil
from semfidelity.training.degrade import _gaussian_kernel, _jpeg, degrade
from semfidelity.training.labels import ERROR_COLUMN

__all__ = [
    "NO_CHANGE_KINDS",
    "PairRow",
    "list_images",
    "make_pairs",
    "no_change",
    "semantic_change",
]

logger = logging.getLogger(__name__)

NO_CHANGE_KINDS = ("blur", "noise", "jpeg", "down_up_x2", "down_up_x4", "chain", "colour")


@dataclass(frozen=True)
class PairRow:
    """One written pair (paths relative to the output folder)."""

    reference: str
    distorted: str
    label: float
    mask: str
    kind: str
    source: str


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder`` (sorted, by extension)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {str(root)!r}")
    return sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _random_crop(img: Image.Image, size: int, rng: np.random.Generator) -> torch.Tensor:
    """A ``size x size`` crop (1, 3, S, S) of a window covering up to the shorter side.

    The window (side ``size / scale``) is cut first and then resized (PIL bicubic, which
    antialiases when shrinking), so large sources stay cheap; the shorter side is scaled to
    1-2x ``size`` (upscaled only when smaller than ``size``).
    """
    w, h = img.size
    target_short = size * rng.uniform(1.0, 2.0)
    scale = min(1.0, target_short / min(h, w)) if min(h, w) >= size else size / min(h, w)
    side = min(h, w, max(1, round(size / scale)))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    window = img.crop((left, top, left + side, top + side))
    if side != size:
        window = window.resize((size, size), Image.BICUBIC)
    arr = np.asarray(window, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a 2-D array with replicate borders (as two matrix products)."""
    radius = max(1, math.ceil(3.0 * sigma))
    ax = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (ax / sigma) ** 2)
    k /= k.sum()

    def matrix(n: int) -> np.ndarray:
        m = np.zeros((n, n))
        for i in range(n):
            np.add.at(m[i], np.clip(i + ax, 0, n - 1), k)
        return m

    return matrix(x.shape[0]) @ x @ matrix(x.shape[1]).T


def _region_mask(size: int, rng: np.random.Generator) -> torch.Tensor:
    """Feathered ellipse or rectangle (1, 1, S, S) in [0, 1] covering 8-35 % of the area."""
    area = rng.uniform(0.08, 0.35) * size * size
    aspect = rng.uniform(0.6, 1.6)
    ellipse = rng.random() < 0.5
    k = math.pi / 4 if ellipse else 1.0
    hh = min(size - 2.0, math.sqrt(area / (k * aspect)))
    ww = min(size - 2.0, hh * aspect)
    cy = rng.uniform(hh / 2, size - hh / 2)
    cx = rng.uniform(ww / 2, size - ww / 2)
    yy, xx = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    if ellipse:
        hard = (((yy - cy) / (hh / 2)) ** 2 + ((xx - cx) / (ww / 2)) ** 2) <= 1.0
    else:
        hard = (np.abs(yy - cy) <= hh / 2) & (np.abs(xx - cx) <= ww / 2)
    sigma = max(0.5, 0.03 * size * rng.uniform(0.5, 1.5))
    soft = np.clip(_smooth(hard.astype(np.float64), sigma), 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(soft)[None, None]


def semantic_change(
    ref: torch.Tensor, donor: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend ``donor`` into ``ref`` through a random feathered mask; returns (distorted, mask)."""
    size = ref.shape[-1]
    mask = _region_mask(size, rng)
    dist = ref * (1 - mask) + donor * mask
    return dist.clamp(0, 1), mask


def no_change(
    ref: torch.Tensor, kind: str, rng: np.random.Generator, *, chain: str = "semfid"
) -> torch.Tensor:
    """A semantics-preserving distortion of ``ref`` (1,3,S,S); ``kind`` in NO_CHANGE_KINDS;
    ``chain`` is the :func:`degrade` kind of ``kind="chain"`` (``"semfid"`` or ``"bsrgan"``)."""
    h, w = ref.shape[-2:]
    if kind == "blur":
        s = rng.uniform(0.6, 2.0)
        kern = _gaussian_kernel(s, s, 0.0).to(ref)
        pad = kern.shape[-1] // 2
        mode = "reflect" if min(h, w) > pad else "replicate"
        out = F.conv2d(F.pad(ref, (pad,) * 4, mode=mode), kern.expand(3, 1, *kern.shape), groups=3)
    elif kind == "noise":
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
        out = ref + rng.uniform(3, 15) / 255.0 * torch.randn(ref.shape, generator=gen)
    elif kind == "jpeg":
        out = _jpeg(ref, int(rng.integers(20, 70)))
    elif kind in ("down_up_x2", "down_up_x4"):
        f = 2 if kind == "down_up_x2" else 4
        small = F.interpolate(
            ref, size=(max(1, h // f), max(1, w // f)), mode="bicubic", antialias=True
        )
        out = F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False)
    elif kind == "chain":
        t, s = float(rng.choice([0.3, 0.7, 1.0])), int(rng.integers(0, 2**31))
        out = degrade(ref, t, s, kind=chain)
    elif kind == "colour":
        gain = torch.tensor(rng.uniform(0.92, 1.08, 3), dtype=torch.float32).view(1, 3, 1, 1)
        offset = torch.tensor(rng.uniform(-0.04, 0.04, 3), dtype=torch.float32).view(1, 3, 1, 1)
        grey = ref.mean(dim=1, keepdim=True)
        sat = float(rng.uniform(0.85, 1.15))
        out = (grey + sat * (ref - grey)) * gain + offset
    else:
        raise ValueError(f"kind: expected one of {NO_CHANGE_KINDS}, got {kind!r}")
    return out.clamp(0, 1)


def make_pairs(
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    n: int,
    *,
    seed: int = 0,
    size: int = 256,
    semantic_fraction: float = 0.5,
    chain: str = "semfid",
) -> Path:
    """Write ``n`` pairs (``size x size`` PNGs) and ``pairs.csv`` under ``out_dir``.

    ``chain`` picks the degradation of the ``chain`` no-change kind: ``"semfid"`` (ours) or
    ``"bsrgan"`` (BSRGAN's model at x4, resized back; :func:`degrade`).

    Returns the path of the CSV. The CSV has the columns
    ``reference,distorted,semantic_error,mask`` (1 = semantic change)
    plus ``kind`` and ``source`` (ignored by the loader). The same arguments give the same
    files.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ValueError(f"size: expected an int >= 16, got {size!r}")
    if not 0.0 <= semantic_fraction <= 1.0:
        raise ValueError(
            f"semantic_fraction: expected a value in [0, 1], got {semantic_fraction!r}"
        )
    if chain not in ("semfid", "bsrgan"):
        raise ValueError(f"chain: expected 'semfid' or 'bsrgan', got {chain!r}")
    sources = list_images(src_dir)
    need = 2 if semantic_fraction > 0 else 1
    if len(sources) < need:
        raise ValueError(
            f"src_dir: need at least {need} images in {str(src_dir)!r}, found {len(sources)}"
        )
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_sem = round(n * semantic_fraction)
    kinds = np.array([True] * n_sem + [False] * (n - n_sem))
    rng.shuffle(kinds)
    cache: dict[int, Image.Image] = {}

    def image(i: int) -> Image.Image:
        if i not in cache:
            rgb = load_image(sources[i])[0].permute(1, 2, 0).mul(255).round().byte().numpy()
            cache[i] = Image.fromarray(rgb)
        return cache[i]

    rows = []
    for i, semantic in enumerate(kinds):
        r = np.random.default_rng([seed, i])
        a = int(r.integers(len(sources)))
        ref = _random_crop(image(a), size, r)
        stem = f"{i:05d}"
        mask_rel = ""
        if semantic:
            b = int((a + 1 + r.integers(len(sources) - 1)) % len(sources))
            dist, mask = semantic_change(ref, _random_crop(image(b), size, r), r)
            kind = "semantic"
            if r.random() < 0.5:
                extra = str(r.choice(NO_CHANGE_KINDS))
                dist = no_change(dist, extra, r, chain=chain)
                kind = f"semantic+{extra}"
            mask_rel = f"images/{stem}_mask.png"
            to_pil((mask > 0.5).float()).save(out / mask_rel)
            label = 1.0
        else:
            kind = str(r.choice(NO_CHANGE_KINDS))
            dist, label = no_change(ref, kind, r, chain=chain), 0.0
        to_pil(ref).save(out / f"images/{stem}_ref.png")
        to_pil(dist).save(out / f"images/{stem}_dist.png")
        rows.append(
            PairRow(
                f"images/{stem}_ref.png",
                f"images/{stem}_dist.png",
                label,
                mask_rel,
                kind,
                sources[a].name,
            )
        )
    csv_path = out / "pairs.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reference", "distorted", ERROR_COLUMN, "mask", "kind", "source"])
        for row in rows:
            writer.writerow(
                [row.reference, row.distorted, f"{row.label:g}", row.mask, row.kind, row.source]
            )
    logger.info("wrote %d pairs (%d semantic) to %s", n, n_sem, csv_path)
    return csv_path
