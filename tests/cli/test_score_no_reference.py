"""semfid-score with no-reference metrics: PRED alone, and NR metrics mixed into a REF PRED run."""

from __future__ import annotations

import csv
import shutil

import pytest

import semfidelity
from semfidelity.cli.score import main
from semfidelity.functional.resize import imresize_matlab
from semfidelity.io import load_image, to_pil

SET5 = ("baby", "bird", "woman")


def _folder(tmp_path, shared_data, name):
    d = tmp_path / name
    d.mkdir()
    for n in SET5:
        shutil.copy(shared_data / "set5_swinir" / "HR" / f"{n}.png", d / f"{n}.png")
    return d


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_pred_alone_with_no_reference_metrics(tmp_path, shared_data, capsys):
    pred = _folder(tmp_path, shared_data, "pred")
    out = tmp_path / "s.csv"
    assert main([str(pred), "--metrics", "niqe", "--out", str(out)]) == 0
    rows = _rows(out)
    niqe = semfidelity.create_metric("niqe", device="cpu")
    assert [r["key"] for r in rows] == sorted(SET5)
    for r in rows:
        assert r["ref"] == "" and r["error"] == ""
        assert float(r["niqe"]) == pytest.approx(niqe(load_image(r["pred"])).item(), rel=1e-6)
    assert "3 pairs, 3 scored without error" in capsys.readouterr().out


def test_full_reference_metric_without_ref_is_a_usage_error(tmp_path, shared_data, capsys):
    pred = _folder(tmp_path, shared_data, "pred")
    assert main([str(pred), "--metrics", "niqe,psnr"]) == 2
    err = capsys.readouterr().err
    assert "REF is required: psnr" in err


def test_mixed_run_scores_nr_metrics_on_pred_only(tmp_path, shared_data):
    ref = _folder(tmp_path, shared_data, "ref")
    pred = tmp_path / "pred"
    pred.mkdir()
    for n in SET5:  # predictions: the bicubic x4 upsamplings, so pred != ref
        img = load_image(shared_data / "set5_swinir" / "LR_bicubic" / "X4" / f"{n}x4.png")
        up = imresize_matlab(img, 4.0).clamp(0, 1)
        to_pil(up[0]).save(pred / f"{n}.png")
    out = tmp_path / "s.csv"
    assert main([str(ref), str(pred), "--metrics", "psnr,niqe", "--out", str(out)]) == 0
    niqe = semfidelity.create_metric("niqe", device="cpu")
    for r in _rows(out):
        p = load_image(r["pred"])
        assert r["ref"].endswith(f"{r['key']}.png") and r["error"] == ""
        assert float(r["niqe"]) == pytest.approx(niqe(p).item(), rel=1e-6)
        assert float(r["niqe"]) != pytest.approx(niqe(load_image(r["ref"])).item(), rel=1e-3)
