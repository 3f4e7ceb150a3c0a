"""Shared pieces of the region-based recogniser metrics (text_fidelity, face_identity).

Both run a recogniser per image on 8-bit copies of the inputs, score regions (text lines,
faces), fill a map with the region scores and memoise the last results so that ``score``,
``components``, ``map`` and ``details`` of the same images run the recogniser once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "Rect",
    "to_uint8_images",
    "digest",
    "Memo",
    "coverage",
    "region_map",
    "per_pair",
    "region_maps",
    "column",
    "levenshtein",
    "normalise_text",
]

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends), pixels
T = TypeVar("T")


def to_uint8_images(x: torch.Tensor) -> list[np.ndarray]:
    """``(B, 3, H, W)`` float in [0, 1] -> B contiguous HWC uint8 RGB arrays (round half up)."""
    u8 = (x.detach().float().clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8)
    return [np.ascontiguousarray(a) for a in u8.permute(0, 2, 3, 1).cpu().numpy()]


def digest(image: np.ndarray) -> bytes:
    """Content key of an image array (shape and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(image.shape).encode())
    h.update(image.tobytes())
    return h.digest()


class Memo:
    """A small least-recently-used cache: ``memo.get(key, compute)``."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


def coverage(rect: Rect, others: Sequence[Rect]) -> float:
    """Fraction of ``rect``'s area covered by the union of ``others`` (0 if none)."""
    x0, y0, x1, y1 = rect
    if x1 <= x0 or y1 <= y0:
        return 0.0
    covered = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for a0, b0, a1, b1 in others:
        covered[max(b0 - y0, 0) : max(b1 - y0, 0), max(a0 - x0, 0) : max(a1 - x0, 0)] = True
    return float(covered.mean())


def region_map(
    height: int, width: int, rects: Sequence[Rect], values: Sequence[float], background: float
) -> torch.Tensor:
    """``(1, H, W)`` map: ``background`` outside the rectangles, each rectangle its value
    (the lowest where rectangles overlap, so a bad region is never hidden by a good one)."""
    out = torch.full((1, height, width), float(background))
    for (x0, y0, x1, y1), v in zip(rects, values):
        x0, y0 = max(int(x0), 0), max(int(y0), 0)
        x1, y1 = min(int(x1), width), min(int(y1), height)
        if x1 > x0 and y1 > y0:
            patch = out[:, y0:y1, x0:x1]
            torch.minimum(patch, torch.tensor(float(v)), out=patch)
    return out


def per_pair(
    pred: torch.Tensor, target: torch.Tensor, compare: Callable[[np.ndarray, np.ndarray], T]
) -> list[T]:
    """``compare(pred_u8, target_u8)`` for each image of the batch (a target batch of one is
    shared by every prediction)."""
    preds, targets = to_uint8_images(pred), to_uint8_images(target)
    if len(targets) == 1:
        targets = targets * len(preds)
    return [compare(p, t) for p, t in zip(preds, targets)]


def region_maps(
    pred: torch.Tensor, results: Sequence[Sequence[Any]], value: Callable[[Any], float]
) -> torch.Tensor:
    """``(B, 1, H, W)`` maps of per-image region lists (items with a ``rect``), each region
    filled with ``value(item)`` on a background of 1 (nothing found to differ)."""
    h, w = pred.shape[-2:]
    maps = [region_map(h, w, [x.rect for x in r], [value(x) for x in r], 1.0) for r in results]
    return torch.stack(maps).to(pred.device)


def column(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """``(B,)`` float32 tensor of per-image values on ``like``'s device."""
    return torch.tensor(values, dtype=torch.float32, device=like.device)


def levenshtein(a: str, b: str) -> int:
    """Edit distance: fewest single-character insertions, deletions and substitutions."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalise_text(text: str, case_sensitive: bool) -> str:
    """Collapse runs of whitespace (EasyOCR emits variable spacing); casefold unless asked."""
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()
