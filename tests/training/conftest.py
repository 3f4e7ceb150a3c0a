"""Fixtures for the training tests: folders of real images (skimage.data and tests/data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

# Colour photographs of skimage.data with distinct content (chelsea == cat, so only one).
SKIMAGE_NAMES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
)


@pytest.fixture(scope="session")
def skimage_dir(tmp_path_factory) -> Path:
    """skimage.data colour images written as PNG files."""
    root = tmp_path_factory.mktemp("skimage_src")
    for name in SKIMAGE_NAMES:
        arr = np.asarray(getattr(skdata, name)())[..., :3]
        Image.fromarray(arr).save(root / f"{name}.png")
    return root


@pytest.fixture(scope="session")
def shared_dir(shared_data, tmp_path_factory) -> Path:
    """Set5 HR and Set14 baboon ground truth (real images nobody on the team made)."""
    root = tmp_path_factory.mktemp("shared_src")
    for p in sorted((shared_data / "set5_swinir" / "HR").glob("*.png")):
        shutil.copy(p, root / p.name)
    shutil.copy(shared_data / "baboon_x4_esrgan" / "gt" / "baboon_492x480.png", root / "baboon.png")
    return root


@pytest.fixture(scope="session")
def train_csv(skimage_dir, tmp_path_factory) -> Path:
    """96 pairs (64x64) made by semfid-make-pairs from skimage.data photographs."""
    from semfidelity.cli.make_pairs import main

    out = tmp_path_factory.mktemp("train_pairs")
    assert main([str(skimage_dir), str(out), "--n", "96", "--size", "64", "--seed", "1"]) == 0
    return out / "pairs.csv"


@pytest.fixture(scope="session")
def val_csv(shared_dir, tmp_path_factory) -> Path:
    """48 pairs (64x64) made by semfid-make-pairs from Set5 HR + baboon (unseen images)."""
    from semfidelity.cli.make_pairs import main

    out = tmp_path_factory.mktemp("val_pairs")
    assert main([str(shared_dir), str(out), "--n", "48", "--size", "64", "--seed", "2"]) == 0
    return out / "pairs.csv"
