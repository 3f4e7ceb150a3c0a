"""Training crops keep the labelled change (semfidelity.training.geometry, PairDataset(fit=))."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.training import PairDataset
from semfidelity.training.geometry import mask_box, window_range
from semfidelity.training.train import TrainConfig


def _write_pair(folder, h, w, box, *, label=1, mask=True, seed=0):
    """A reference photo-like image, a distorted copy changed inside ``box`` (t, b, l, r incl.)."""
    rng = np.random.default_rng(seed)
    ref = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    dist = ref.copy()
    top, bottom, left, right = box
    dist[top : bottom + 1, left : right + 1] = 255 - dist[top : bottom + 1, left : right + 1]
    Image.fromarray(ref).save(folder / "ref.png")
    Image.fromarray(dist).save(folder / "dist.png")
    row = f"ref.png,dist.png,{label},"
    if mask:
        m = np.zeros((h, w), np.uint8)
        m[top : bottom + 1, left : right + 1] = 255
        Image.fromarray(m).save(folder / "mask.png")
        row += "mask.png"
    (folder / "pairs.csv").write_text("reference,distorted,semantic_error,mask\n" + row + "\n")
    return folder / "pairs.csv"


def _changed(item) -> float:
    return float((item["distorted"] - item["reference"]).abs().sum())


def test_window_range_contains_the_span_or_lies_inside_it():
    rng = random.Random(0)
    for _ in range(2000):
        extent = rng.randint(8, 300)
        side = rng.randint(1, extent)
        first = rng.randint(0, extent - 1)
        last = rng.randint(first, extent - 1)
        lo, hi = window_range(first, last, extent, side)
        assert 0 <= lo <= hi <= extent - side
        for t in (lo, hi, (lo + hi) // 2):
            if last - first + 1 <= side:
                assert t <= first and last <= t + side - 1  # the whole span is in the window
            else:
                assert first <= t and t + side - 1 <= last  # the window is all change


def test_a_change_outside_the_centre_crop_stays_in_the_training_input(tmp_path):
    # 64 x 160 image; the change (rows 20..40, cols 130..150) lies right of the centre 64x64
    csv = _write_pair(tmp_path, 64, 160, (20, 40, 130, 150))
    item = PairDataset(csv, size=64)[0]  # default fit="mask"
    assert item["distorted"].shape == (3, 64, 64)
    assert item["mask"].sum() == 21 * 21  # the whole region, at native scale (h == size)
    diff = (item["distorted"] - item["reference"]).abs().sum(0)
    assert torch.equal(diff > 0, item["mask"][0] > 0.5)
    # what the former resize + centre crop did: the change is gone while the label stays 1
    old = PairDataset(csv, size=64, fit="centre")[0]
    assert _changed(old) == 0 and old["mask"].sum() == 0 and old["label"] == 1


def test_a_change_larger_than_the_window_fills_it(tmp_path):
    csv = _write_pair(tmp_path, 64, 200, (0, 63, 100, 199))  # 100 columns changed, window 64
    item = PairDataset(csv, size=64)[0]
    assert bool((item["mask"] > 0.5).all())


def test_a_small_change_survives_downscaling(tmp_path):
    # 3x3 changed pixels at the far right of a 256 x 512 image, brought to 32 (x8 smaller)
    csv = _write_pair(tmp_path, 256, 512, (100, 102, 500, 502))
    item = PairDataset(csv, size=32)[0]
    assert _changed(item) > 0 and float(item["mask"].max()) > 0
    assert _changed(PairDataset(csv, size=32, fit="centre")[0]) == 0


def test_labelled_pairs_without_a_mask_are_resized_whole(tmp_path):
    csv = _write_pair(tmp_path, 64, 160, (20, 40, 130, 150), mask=False)
    item = PairDataset(csv, size=64)[0]
    assert item["distorted"].shape == (3, 64, 64) and not item["has_mask"]
    diff = (item["distorted"] - item["reference"]).abs().sum(0)
    assert diff[:, 48:].sum() > 10 * diff[:, :40].sum()  # the change, squeezed to the right
    assert torch.equal(
        PairDataset(csv, size=64, crop=32, fit="resize")[0]["distorted"],
        PairDataset(csv, size=64, crop=32)[0]["distorted"],
    )  # with a crop: resized whole to the crop size


def test_unchanged_pairs_are_centre_cropped_as_before(tmp_path):
    csv = _write_pair(tmp_path, 64, 160, (20, 40, 130, 150), label=0, mask=False)
    new, old = (
        PairDataset(csv, size=48, crop=32)[0],
        PairDataset(csv, size=48, crop=32, fit="centre")[0],
    )
    assert torch.equal(new["reference"], old["reference"])


def test_seeded_crops_keep_the_change_and_still_move(tmp_path):
    csv = _write_pair(tmp_path, 96, 96, (10, 25, 60, 80))
    region = 16 * 21
    kept, corners, lost = [], set(), 0
    for seed in range(12):
        item = PairDataset(csv, size=96, crop=40, seed=seed)[0]
        kept.append(float(item["mask"].sum()))
        corners.add(float(item["reference"][:, 0, 0].sum()))
        lost += (
            float(PairDataset(csv, size=96, crop=40, seed=seed, fit="centre")[0]["mask"].sum())
            < region
        )
    assert kept == [region] * 12
    assert len(corners) > 3  # positions still vary among the windows that keep the change
    assert lost > 0  # the unconstrained crop does cut it


def test_resize_fit_keeps_everything(tmp_path):
    csv = _write_pair(tmp_path, 64, 160, (20, 40, 130, 150))
    item = PairDataset(csv, size=64, fit="resize")[0]
    assert item["mask"].shape == (1, 64, 64) and mask_box(item["mask"]) is not None


def test_bad_fit_values_are_refused(tmp_path):
    csv = _write_pair(tmp_path, 32, 32, (0, 3, 0, 3))
    with pytest.raises(ValueError, match="fit: expected one of .*'mask'.*got 'center'"):
        PairDataset(csv, size=32, fit="center")
    with pytest.raises(ValueError, match="fit: expected one of"):
        TrainConfig("clu", "", "", "", fit="crop").validate()


def test_native_scale_crops_batch_and_train(small_csvs, backbone_file, tmp_path):
    # size=None with a crop: crops at the images' own scale (the scale the metrics run at)
    from semfidelity.training.train import train

    cfg = TrainConfig(
        "clip_lpips",
        str(small_csvs[0]),
        str(small_csvs[1]),
        str(tmp_path),
        backbone_weights=str(backbone_file),
        size=None,
        crop=32,
        epochs=1,
        batch_size=4,
        lr=0.05,
    )
    res = train(cfg, progress=False)
    assert res.history[-1]["val_loss"] != res.history[0]["val_loss"]
    with pytest.raises(ValueError, match="batch_size: native-size training"):
        TrainConfig("clu", "", "", "", size=None, batch_size=4).validate()
