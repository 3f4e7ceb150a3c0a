"""The semantic floor of an image encoder: how similar *unrelated* photographs look to it.

CLIP image-image cosines of unrelated natural images are far from 0 (the embeddings share a
large common component), so a raw cosine in [0, 1] leaves most of the range unused. TWS maps
cosines against this floor (:func:`semfidelity.functional.semantic.rescale_cosine`).

Procedure (version ``FLOOR_VERSION``): the 16 photographs that ship with scikit-image
(``FLOOR_IMAGES``: people, animals, objects, textures, astronomy, microscopy, documents),
converted to RGB and resized to ``FLOOR_SIZE`` squared (bicubic, antialiased), are embedded
with the encoder under the view and grid in use. The whole-image floor is the median of the
120 cosines between different images; the region floor is the median, over all regions, of the
cosines between the same region of different images. Results are cached in memory per encoder
(``encoder.floor_key``) and, for manifest weights (``encoder.floor_persistent``), on disk in
``$SEMFID_CACHE_DIR/semantic_floors.json`` so that each weight is measured once.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from semfidelity.backbones.clip_views import embed_views
from semfidelity.weights.locations import semfid_cache_dir

__all__ = ["FLOOR_IMAGES", "FLOOR_SIZE", "FLOOR_VERSION", "SemanticFloor", "semantic_floor"]

logger = logging.getLogger(__name__)

FLOOR_IMAGES = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins",
    "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "moon", "page",
    "retina", "rocket",
)  # fmt: skip
FLOOR_SIZE = 448
FLOOR_VERSION = 1
_CACHE_FILE = "semantic_floors.json"
_MEMORY: dict[str, SemanticFloor] = {}


@dataclass(frozen=True)
class SemanticFloor:
    """Median cosine of unrelated images: ``whole`` image and per ``region`` (None: no regions)."""

    whole: float
    region: float | None
    images: int = len(FLOOR_IMAGES)
    version: int = FLOOR_VERSION


@lru_cache(maxsize=1)
def floor_images() -> torch.Tensor:
    """The ``FLOOR_IMAGES`` as float32 ``(16, 3, FLOOR_SIZE, FLOOR_SIZE)`` RGB in [0, 1]."""
    import skimage.data

    out = []
    for name in FLOOR_IMAGES:
        arr = np.asarray(getattr(skimage.data, name)())
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=-1)
        x = torch.from_numpy(arr[..., :3].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        size = (FLOOR_SIZE, FLOOR_SIZE)
        x = F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False)
        out.append(x.clamp(0.0, 1.0))
    return torch.cat(out)


def _median_offdiag(emb: torch.Tensor) -> float:
    """Median cosine over pairs ``i < j`` of ``(N, D)`` (or ``(N, R, D)``: per region, pooled)."""
    if emb.ndim == 2:
        emb = emb[:, None]
    cos = torch.einsum("ird,jrd->rij", emb, emb)
    i, j = torch.triu_indices(emb.shape[0], emb.shape[0], offset=1)
    return float(cos[:, i, j].flatten().median())


def measure_floor(encoder: Any, view: str, grid: tuple[int, int]) -> SemanticFloor:
    """Run the procedure of this module's docstring (no caching)."""
    device = next(itertools.chain(encoder.parameters(), encoder.buffers())).device
    wholes, regions = [], []
    with torch.no_grad():
        for chunk in floor_images().split(4):
            emb = embed_views(encoder, chunk.to(device), view, grid)
            wholes.append(emb.whole.float().cpu())
            if emb.regions is not None:
                regions.append(emb.regions.float().cpu())
    region = _median_offdiag(torch.cat(regions)) if regions else None
    return SemanticFloor(_median_offdiag(torch.cat(wholes)), region)


def _disk_cache() -> dict[str, Any]:
    path = semfid_cache_dir() / _CACHE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _disk_store(key: str, floor: SemanticFloor) -> None:
    path = semfid_cache_dir() / _CACHE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**_disk_cache(), key: asdict(floor)}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache costs a re-measurement, nothing else
        logger.warning("semantic floor: cannot write %s (%s)", path, exc)


def semantic_floor(encoder: Any, view: str, grid: tuple[int, int]) -> SemanticFloor:
    """The encoder's floor for ``view``/``grid``: from memory, the disk cache, or measured."""
    key = f"{encoder.floor_key}|{view}|{grid[0]}x{grid[1]}|v{FLOOR_VERSION}"
    if key in _MEMORY:
        return _MEMORY[key]
    persistent = bool(getattr(encoder, "floor_persistent", False))
    cached = _disk_cache().get(key) if persistent else None
    if cached is not None and cached.get("version") == FLOOR_VERSION:
        floor = SemanticFloor(**cached)
    else:
        floor = measure_floor(encoder, view, grid)
        logger.info("semantic floor of %s: whole %.4f, region %s", key, floor.whole, floor.region)
        if persistent:
            _disk_store(key, floor)
    _MEMORY[key] = floor
    return floor
