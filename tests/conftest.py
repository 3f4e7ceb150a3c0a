"""Shared fixtures: real SR images from tests/data (copied from the project's shared data; see
tests/data/SOURCES.md for sources, licences and sha256)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SET5 = ("baby", "bird", "butterfly", "head", "woman")

# One intra-op thread: tests run small tensors, and on a loaded 2-core machine OpenMP threads
# spinning against each other made the suite 5-25x slower.
torch.set_num_threads(1)


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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.is_dir():
        raise FileNotFoundError(f"test data not found at {DATA} (it ships with the repository)")
    return DATA


@pytest.fixture(scope="session")
def set5_pairs(shared_data) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """name -> (pred = bicubic x4 upsampled LR, target = HR), float32 (1,3,H,W) in [0,1]."""
    return {n: set5_bicubic_pair(n) for n in SET5}


@pytest.fixture(scope="session")
def baboon(shared_data) -> dict[str, torch.Tensor]:
    """Set14 baboon GT and two real ESRGAN x4 outputs, all (1,3,480,492)."""
    d = shared_data / "baboon_x4_esrgan"
    gt = load_png(d / "gt" / "baboon_492x480.png")
    xinntao = load_png(d / "sr" / "baboon_ESRGAN_xinntao_500x480.png")[..., :492]
    lornatang = load_png(d / "sr" / "baboon_ESRGAN_lornatang_492x480.png")
    return {"gt": gt, "esrgan_xinntao": xinntao, "esrgan_lornatang": lornatang}


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A loopback Hub server (tests/hubserver.py) as ``HF_ENDPOINT``, every cache isolated."""
    from hubserver import HubServer, isolate_hub_env

    from semfidelity.weights import integrity

    isolate_hub_env(monkeypatch, tmp_path)
    integrity.forget_verified()
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server
    integrity.forget_verified()
