"""What the CLIP encoder sees of an image: views and regions (TWS semantic term).

:func:`embed_views` turns a batch of images into one whole-image embedding and, depending on
the view, a set of region embeddings with their boxes, in **one** encoder call per batch:

* ``"whole"`` (default): the whole image resized (not cropped) to the model size; regions are
  windows of the encoder's own spatial output (ViT patch tokens, ResNet attention-pool values),
  averaged and normalised -- local embeddings at no extra encoder cost.
* ``"tiles"``: the whole image plus a ``rows x cols`` grid of overlapping crops, each resized
  (not cropped) to the model size: one extra encoder image per tile.
* ``"centre"``: open_clip's inference transform (shortest side resized, centre crop), no
  regions -- the behaviour before issue 12. On a non-square image the cropped-off sides are
  never seen.

Any encoder with ``image_size``, ``preprocess``, ``preprocess_whole``, ``encode`` and
``encode_with_tokens`` works (:class:`~semfidelity.backbones.clip.ClipEncoder`, or a test's toy
encoder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from semfidelity.backbones.clip import tile_grid

__all__ = ["DEFAULT_GRIDS", "TILE_OVERLAP", "VIEWS", "ViewEmbeddings", "embed_views", "check_grid"]

VIEWS = ("whole", "tiles", "centre")
#: Region grid of each view when none is given: token windows ("whole"), crops ("tiles").
DEFAULT_GRIDS: dict[str, tuple[int, int]] = {"whole": (4, 4), "tiles": (2, 2), "centre": (1, 1)}
#: Overlap of neighbouring crops in the ``"tiles"`` view, as a fraction of a tile.
TILE_OVERLAP = 0.25

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ViewEmbeddings:
    """Unit-norm embeddings of a batch under one view.

    Attributes:
        whole: ``(B, D)``, the whole image (centre crop in the ``"centre"`` view).
        regions: ``(B, R, D)`` or ``None`` (no regions in this view or for this encoder).
        boxes: ``R`` boxes ``(top, left, height, width)`` as fractions of the image size;
            together they cover the whole image.
    """

    whole: torch.Tensor
    regions: torch.Tensor | None = None
    boxes: tuple[Box, ...] = ()


def check_grid(grid: Any, view: str) -> tuple[int, int]:
    """``None`` -> the view's default; ``n`` -> ``(n, n)``; ``"RxC"`` -> ``(R, C)``; validated."""
    if grid is None:
        return DEFAULT_GRIDS[view]
    if isinstance(grid, int) and not isinstance(grid, bool):
        grid = (grid, grid)
    if isinstance(grid, str) and re.fullmatch(r"\s*\d+\s*x\s*\d+\s*", grid):
        grid = tuple(int(v) for v in grid.split("x"))  # "2x3", e.g. from --tws-option
    if (
        not isinstance(grid, (tuple, list))
        or len(grid) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in grid)
    ):
        raise ValueError(f"clip_grid: expected None or (rows, cols) of positive ints, got {grid!r}")
    return int(grid[0]), int(grid[1])


def _token_regions(tokens: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, list[Box]]:
    gh, gw = tokens.shape[1:3]
    if grid[0] > gh or grid[1] > gw:
        raise ValueError(
            f"clip_grid: {grid} has more cells than the encoder's {gh}x{gw} token grid; "
            f"use at most ({gh}, {gw}) or clip_view='tiles'"
        )
    windows = tile_grid(gh, gw, grid)
    regions = torch.stack(
        [tokens[:, t : t + h, c : c + w].mean(dim=(1, 2)) for t, c, h, w in windows], dim=1
    )
    boxes = [(t / gh, c / gw, h / gh, w / gw) for t, c, h, w in windows]
    return F.normalize(regions, dim=-1, eps=1e-8), boxes


def embed_views(encoder: Any, images: torch.Tensor, view: str, grid: tuple[int, int]):
    """``(B, 3, H, W)`` in [0, 1] -> :class:`ViewEmbeddings`, one encoder call for the batch."""
    if view not in VIEWS:
        raise ValueError(f"clip_view: expected one of {VIEWS}, got {view!r}")
    if view == "centre":
        return ViewEmbeddings(encoder.encode(encoder.preprocess(images)))
    if view == "whole":
        whole, tokens = encoder.encode_with_tokens(encoder.preprocess_whole(images))
        if tokens is None:
            return ViewEmbeddings(whole)
        regions, boxes = _token_regions(tokens, grid)
        return ViewEmbeddings(whole, regions, tuple(boxes))
    h, w = images.shape[-2:]
    if h < grid[0] or w < grid[1]:
        raise ValueError(f"pred: image of size {h}x{w} is smaller than clip_grid {grid}")
    tiles = tile_grid(h, w, grid, overlap=TILE_OVERLAP)
    crops = torch.stack([images[..., t : t + th, c : c + tw] for t, c, th, tw in tiles], dim=1)
    pixels = torch.cat(
        [encoder.preprocess_whole(images), encoder.preprocess_whole(crops.flatten(0, 1))]
    )
    emb = encoder.encode(pixels)
    b = images.shape[0]
    boxes = tuple((t / h, c / w, th / h, tw / w) for t, c, th, tw in tiles)
    return ViewEmbeddings(emb[:b], emb[b:].view(b, len(tiles), -1), boxes)
