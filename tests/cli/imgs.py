"""Tiny image folders for the semfid-score tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_pairs(root: Path, n: int = 6, sizes=((16, 16), (12, 20)), seed: int = 0):
    """``root/ref`` and ``root/pred`` with ``n`` pairs (noisy predictions), sizes cycling."""
    rng = np.random.default_rng(seed)
    ref, pred = root / "ref", root / "pred"
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        noisy = np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
        sub = "" if i % 3 else "sub/"
        for folder, arr in ((ref, img), (pred, noisy)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(folder / f"{sub}img{i:02d}.png")
    return ref, pred
