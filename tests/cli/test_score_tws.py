"""semfid-score with the real TWS metric (tiny random CLIP): components, --tws-mix, --maps."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from imgs import write_pairs
from PIL import Image
from tiny_clip import TINY_CLIP_OPTIONS, make_tiny_clip

import semfidelity
from semfidelity.cli.score import main
from semfidelity.io import load_image


def test_tws_components_and_mix(tmp_path):
    make_tiny_clip()
    ref, pred = write_pairs(tmp_path, n=3, sizes=((32, 32), (40, 48)))
    out = tmp_path / "s.csv"
    opts = [f"--opt=tws.{k}={v}" for k, v in TINY_CLIP_OPTIONS.items()]
    args = [str(ref), str(pred), "--metrics", "tws", "--components", "--tws-mix", "2,1,1"]
    assert main([*args, *opts, "--out", str(out)]) == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[5:] == ["tws", "tws.semantic", "tws.edge", "tws.wavelet", "error"]
    metric = semfidelity.create_metric("tws", mix=(2, 1, 1), **TINY_CLIP_OPTIONS)
    for r in rows:
        parts = metric.components(load_image(r["pred"]), load_image(r["ref"]))
        for name in ("semantic", "edge", "wavelet"):
            assert float(r[f"tws.{name}"]) == pytest.approx(parts[name].item(), abs=1e-5)
        want = 0.5 * parts["semantic"] + 0.25 * parts["edge"] + 0.25 * parts["wavelet"]
        assert float(r["tws"]) == pytest.approx(want.item(), abs=1e-5)
    assert main([*args[:-1], "1,2", *opts, "--out", str(out), "--overwrite"]) == 2
    old_flag = [*args[:-2], "--tws-weights", "2,1,1"]  # the deprecated name of --tws-mix
    assert main([*old_flag, *opts, "--out", str(tmp_path / "old.csv")]) == 0
    assert (tmp_path / "old.csv").read_text() == out.read_text()


def test_maps_writes_the_trust_map_and_one_map_per_term_on_a_fixed_scale(tmp_path):
    make_tiny_clip()
    ref, pred = write_pairs(tmp_path, n=2, sizes=((40, 48),))
    maps = tmp_path / "maps"
    opts = [f"--opt=tws.{k}={v}" for k, v in TINY_CLIP_OPTIONS.items()]
    args = [str(ref), str(pred), "--metrics", "tws", "--maps", str(maps), *opts]
    assert main([*args, "--out", str(tmp_path / "s.csv"), "--cmap", "gray"]) == 0
    assert sorted(p.name for p in maps.iterdir()) == [
        "tws", "tws.edge", "tws.semantic", "tws.wavelet",
    ]  # fmt: skip
    metric = semfidelity.create_metric("tws", **TINY_CLIP_OPTIONS)
    pngs = sorted((maps / "tws").rglob("*.png"))
    assert len(pngs) == 2
    for png in pngs:
        name = png.relative_to(maps / "tws")  # keys keep sub-folders
        with Image.open(png) as im:
            rgb = np.asarray(im.convert("RGB"))
        assert rgb.shape[0] == 40 and rgb.shape[1] > 48  # the map, then its colour bar
        want = metric.map(load_image(pred / name), load_image(ref / name))[0, 0].numpy()
        # fixed scale: grey level = 255 * value (0 black, 1 white), not the map's own range
        got = rgb[:, :48, 0].astype(np.float64) / 255.0
        assert np.abs(got - want).max() <= 1.0 / 255.0 + 1e-6
