"""Paths and image loaders of the repository's test data (tests/data; see SOURCES.md there).

Imported by module name (``from repo_data import DATA``), never as ``conftest``: every test folder
with its own conftest.py shadows that name on sys.path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SET5 = ("baby", "bird", "butterfly", "head", "woman")


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def load_png(path: Path) -> torch.Tensor:
    with Image.open(path) as img:
        return _to_tensor(img)


def set5_bicubic_pair(name: str, scale: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """(bicubic x``scale`` upsampling of the MATLAB-bicubic LR, HR), cropped to a common size."""
    hr_img = Image.open(DATA / "set5_swinir" / "HR" / f"{name}.png").convert("RGB")
    lr_img = Image.open(DATA / "set5_swinir" / "LR_bicubic" / f"X{scale}" / f"{name}x{scale}.png")
    up = lr_img.convert("RGB").resize((lr_img.width * scale, lr_img.height * scale), Image.BICUBIC)
    w, h = min(up.width, hr_img.width), min(up.height, hr_img.height)
    return _to_tensor(up.crop((0, 0, w, h))), _to_tensor(hr_img.crop((0, 0, w, h)))
