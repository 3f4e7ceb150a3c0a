"""The osediff and ntire-perceptual presets: refused without --allow-missing-metrics (they need
MUSIQ and MANIQA), with it the available metrics run, the card lists the omission, and the
NTIRE combined score is never computed from a partial set of terms."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from PIL import Image
from tiny_clip import make_tiny_rn

from semfidelity.cli.score import build_parser
from semfidelity.cli.score import main as score_main
from semfidelity.scoring.card import card_path
from semfidelity.scoring.protocols import PROTOCOLS, formula_result

ALL = {"lpips": 0.2, "dists": 0.15, "clipiqa": 0.7, "maniqa": 0.6, "musiq": 65.0, "niqe": 4.0}


def test_ntire_formula_with_every_term():
    got = formula_result("ntire-perceptual", ALL)
    want = (1 - 0.2) + (1 - 0.15) + 0.7 + 0.6 + 0.65 + (10 - 4.0) / 10
    assert got["score"] == pytest.approx(want, rel=1e-12) and got["reason"] is None
    high_niqe = formula_result("ntire-perceptual", {**ALL, "niqe": 12.5})  # max(0, ...) clamps
    assert high_niqe["terms"]["niqe"] == 0.0
    assert high_niqe["score"] == pytest.approx(want - 0.6, rel=1e-12)
    assert formula_result("basicsr", ALL) is None  # no formula


@pytest.mark.parametrize("absent", [("maniqa", "musiq"), ("niqe",)])
def test_ntire_formula_refuses_a_partial_score(absent):
    means = {k: (None if k in absent else v) for k, v in ALL.items()}
    got = formula_result("ntire-perceptual", means)
    assert got["score"] is None and all(got["terms"][m] is None for m in absent)
    assert all(m in got["reason"] for m in absent)
    assert got["terms"]["lpips"] == pytest.approx(0.8)
    nan = formula_result("ntire-perceptual", {**ALL, "dists": math.nan})
    assert nan["score"] is None and "dists" in nan["reason"]


def test_presets_without_the_flag_are_refused(tmp_path, capsys):
    for name in ("osediff", "ntire-perceptual"):
        assert score_main([str(tmp_path), str(tmp_path), "--protocol", name]) == 2
        err = capsys.readouterr().err
        assert "musiq, maniqa" in err and "--allow-missing-metrics" in err


def test_osediff_metrics_and_options():
    from semfidelity.cli.score import _metric_options

    args = build_parser().parse_args(
        ["r", "p", "--protocol", "osediff", "--allow-missing-metrics", "--scale", "4"]
    )
    names, opts = _metric_options(args)
    assert names == ["psnr", "ssim", "lpips", "dists", "fid", "niqe", "clipiqa"]
    for n in ("psnr", "ssim"):  # pyiqa test_y_channel=True, no crop whatever the scale
        assert opts[n] == {"y_channel": True, "crop_border": 0}
    assert opts["lpips"]["net"] == "alex"
    assert PROTOCOLS["osediff"].missing == ("musiq", "maniqa")


def _pairs(tmp_path, shared_data):
    rng = np.random.default_rng(0)
    for sub in ("ref", "pred"):
        (tmp_path / sub).mkdir()
    for name in ("bird", "woman"):
        with Image.open(shared_data / "set5_swinir" / "HR" / f"{name}.png") as im:
            hr = np.asarray(im.convert("RGB"))
        noisy = np.clip(hr + rng.normal(0, 8, hr.shape), 0, 255).astype(np.uint8)
        Image.fromarray(hr).save(tmp_path / "ref" / f"{name}.png")
        Image.fromarray(noisy).save(tmp_path / "pred" / f"{name}.png")
    return tmp_path / "ref", tmp_path / "pred"


def test_ntire_perceptual_run_reports_terms_not_a_score(tmp_path, shared_data, capsys):
    tiny = make_tiny_rn()
    ref, pred = _pairs(tmp_path, shared_data)
    out = tmp_path / "s.csv"
    args = [str(ref), str(pred), "--protocol", "ntire-perceptual", "--allow-missing-metrics"]
    args += ["--out", str(out), "--opt", "lpips.weights=random", "--opt", "dists.weights=random"]
    args += ["--opt", f"clipiqa.clip_model={tiny}", "--opt", "clipiqa.clip_weights=random"]
    assert score_main(args) == 0
    text = capsys.readouterr().out
    card = json.loads(card_path(out).read_text())
    p = card["protocol"]
    assert list(card["metrics"]) == ["lpips", "dists", "clipiqa", "niqe"]
    assert p["missing_metrics"] == ["musiq", "maniqa"] and "MUSIQ" in p["missing_reason"]
    combined = p["combined_score"]
    assert combined["score"] is None and "maniqa, musiq" in combined["reason"]
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    mean = {m: sum(float(r[m]) for r in rows) / len(rows) for m in card["metrics"]}
    assert combined["terms"]["lpips"] == pytest.approx(1 - mean["lpips"], rel=1e-9)
    assert combined["terms"]["dists"] == pytest.approx(1 - mean["dists"], rel=1e-9)
    assert combined["terms"]["clipiqa"] == pytest.approx(mean["clipiqa"], rel=1e-9)
    niqe_term = max(0.0, (10 - mean["niqe"]) / 10)
    assert combined["terms"]["niqe"] == pytest.approx(niqe_term, rel=1e-9, abs=1e-12)
    assert combined["terms"]["musiq"] is None and combined["terms"]["maniqa"] is None
    assert "protocol ntire-perceptual: not computed (not implemented): musiq, maniqa" in text
    assert "score = (1 - LPIPS)" in text and "not computed: the formula needs" in text
