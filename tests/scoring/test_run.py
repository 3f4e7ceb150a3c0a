"""run_scoring: metadata from the metric instance, one forward for --maps, no needless rewrite."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

import semfidelity.metrics.clip_lpips as clip_lpips_module
from semfidelity.metrics.tws import TWS
from semfidelity.scoring import ScoreConfig, run, run_scoring
from semfidelity.scoring.job import prepare


def _pairs(root, sizes):
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        noisy = np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255)
        for folder, arr in (("ref", img), ("pred", noisy.astype(np.uint8))):
            (root / folder).mkdir(exist_ok=True)
            Image.fromarray(arr).save(root / folder / f"img{i:02d}.png")
    return str(root / "ref"), str(root / "pred")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_component_columns_come_from_the_instance_without_a_forward(tmp_path, monkeypatch):
    def no_forward(*args, **kwargs):
        raise AssertionError("the metric ran before scoring started")

    monkeypatch.setattr(TWS, "compute_components", no_forward)
    monkeypatch.setattr(TWS, "score", no_forward)
    ref, pred = _pairs(tmp_path, [(32, 32)])
    config = ScoreConfig(ref, pred, ["tws"], {"tws": {"mix": (0, 1, 1)}}, components=True)
    job = prepare(config)
    assert job.columns[5:] == ["tws", "tws.edge", "tws.wavelet", "error"]


def test_maps_come_from_the_scoring_forward(tmp_path, monkeypatch):
    calls = []
    features = clip_lpips_module.pair_features

    def counting(*args):
        calls.append(1)
        return features(*args)

    monkeypatch.setattr(clip_lpips_module, "pair_features", counting)
    ref, pred = _pairs(tmp_path, [(32, 32), (32, 32)])
    out = tmp_path / "s.csv"
    options = {"clip_lpips": {"weights": "random", "depth": 1}}
    config = ScoreConfig(ref, pred, ["clip_lpips"], options, out=str(out), maps=str(tmp_path / "m"))
    assert run_scoring(config) == 0
    assert len(calls) == 1  # one batch, one backbone pass for scores and maps together
    assert sorted(p.name for p in (tmp_path / "m" / "clip_lpips").iterdir()) == [
        "img00.png",
        "img01.png",
    ]
    assert all(float(r["clip_lpips"]) > 0 for r in _rows(out))


@pytest.mark.parametrize(
    "sizes, rewrites", [([(16, 16)] * 3, 0), ([(16, 16), (12, 20), (16, 16), (12, 20)], 1)]
)
def test_a_fresh_single_process_run_reads_nothing_back(tmp_path, monkeypatch, sizes, rewrites):
    def no_read(*args):
        raise AssertionError("a fresh single-process run read its output back")

    written = []
    write_sorted = run.write_sorted
    monkeypatch.setattr(run, "existing_rows", no_read)
    monkeypatch.setattr(run, "write_sorted", lambda *a: written.append(1) or write_sorted(*a))
    ref, pred = _pairs(tmp_path, sizes)
    out = tmp_path / "s.csv"
    config = ScoreConfig(ref, pred, ["psnr"], out=str(out), batch_size=2)
    assert run_scoring(config) == 0
    assert len(written) == rewrites  # only when batching by size wrote rows out of key order
    rows = _rows(out)
    assert [r["key"] for r in rows] == [f"img{i:02d}" for i in range(len(sizes))]
    assert all(float(r["psnr"]) > 20 for r in rows)
