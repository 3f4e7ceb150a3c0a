"""Shared fixtures: real SR images from tests/data (copied from the project's shared data; see
tests/data/SOURCES.md for sources, licences and sha256)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# REPO is re-exported only for tests still written as `from conftest import REPO`: import from
# repo_data instead (another folder's conftest.py can shadow this module's name).
from repo_data import DATA, REPO, SET5, load_png, set5_bicubic_pair  # noqa: F401

# One intra-op thread: tests run small tensors, and on a loaded 2-core machine OpenMP threads
# spinning against each other made the suite 5-25x slower.
torch.set_num_threads(1)


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
