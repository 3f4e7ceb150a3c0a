"""Fixtures for the training tests: folders of real images (skimage.data and tests/data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file
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


@pytest.fixture(scope="session")
def backbone_file(tmp_path_factory):
    """A seeded random ResNet-50 (2 stages) saved once: later builds load it instead of
    re-initialising (that is the slow part on CPU)."""
    from semfidelity.training.train import TrainConfig, build_backbone

    cfg = TrainConfig("clip_lpips", "", "", "", depth=2, backbone_weights="random", seed=0)
    path = tmp_path_factory.mktemp("backbone") / "resnet50_depth2_random.safetensors"
    save_file({k: v.contiguous() for k, v in build_backbone(cfg).state_dict().items()}, path)
    return path


@pytest.fixture(scope="session")
def small_csvs(train_csv, val_csv, tmp_path_factory):
    """First 24 training / 12 validation rows (paths made absolute)."""
    out = tmp_path_factory.mktemp("small")
    paths = []
    for name, src, n in (("train", train_csv, 24), ("val", val_csv, 12)):
        lines = src.read_text().splitlines()
        rows = [",".join(lines[0].split(",")[:4])]
        for line in lines[1 : n + 1]:
            ref, dist, label, mask = line.split(",")[:4]
            absolute = [str(src.parent / p) if p else "" for p in (ref, dist)]
            rows.append(",".join([*absolute, label, str(src.parent / mask) if mask else ""]))
        (out / f"{name}.csv").write_text("\n".join(rows) + "\n")
        paths.append(out / f"{name}.csv")
    return paths
