"""Evaluation cards beside the scores, and semfid-score --table."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from semfidelity.cli.score import main
from semfidelity.scoring.card import card_path

NAMES = ("baby", "bird", "woman")


def _folders(tmp_path, shared_data, names=NAMES):
    for sub in ("ref", "pred"):
        (tmp_path / sub).mkdir(exist_ok=True)
    for n in names:
        shutil.copy(shared_data / "set5_swinir" / "HR" / f"{n}.png", tmp_path / "ref" / f"{n}.png")
        lr = shared_data / "set5_swinir" / "LR_bicubic" / "X4" / f"{n}x4.png"
        from PIL import Image

        with Image.open(lr) as im:
            im.convert("RGB").resize((im.width * 4, im.height * 4), Image.BICUBIC).save(
                tmp_path / "pred" / f"{n}.png"
            )
    return tmp_path / "ref", tmp_path / "pred"


def _run(ref, pred, out, *extra):
    args = [str(ref), str(pred), "--metrics", "psnr,niqe", "--out", str(out)]
    args += ["--opt", "psnr.y_channel=true", "--opt", "niqe.crop_border=4", *extra]
    return main(args)


def test_card_records_the_run(tmp_path, shared_data):
    ref, pred = _folders(tmp_path, shared_data)
    out = tmp_path / "s.csv"
    assert _run(ref, pred, out) == 0
    card = json.loads(card_path(out).read_text())
    assert card["pairs"] == card["rows"] == 3 and card["rows_with_errors"] == 0
    assert card["device"] == "cpu" and card["dtype"] == "float32"
    assert card["packages"]["torch"] and card["semfidelity"]
    assert card["metrics"]["psnr"]["options"]["y_channel"] is True
    assert card["metrics"]["niqe"]["options"]["crop_border"] == 4
    (w,) = card["metrics"]["niqe"]["weights"]
    assert w["id"] == "niqe-pris-params" and len(w["sha256"]) == 64
    assert card["checks"]["min_size"]["niqe"] == 96 + 8
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for name in ("psnr", "niqe"):
        want = sum(float(r[name]) for r in rows) / len(rows)
        assert card["means"][name]["mean"] == pytest.approx(want, rel=1e-9)
        assert card["means"][name]["count"] == 3
    first = card["file_list_sha256"]
    assert _run(ref, pred, out, "--overwrite") == 0
    assert json.loads(card_path(out).read_text())["file_list_sha256"] == first
    shutil.copy(ref / "bird.png", ref / "bird2.png")
    shutil.copy(pred / "bird.png", pred / "bird2.png")
    assert _run(ref, pred, out, "--overwrite") == 0
    assert json.loads(card_path(out).read_text())["file_list_sha256"] != first


@pytest.mark.parametrize("fmt", ["md", "latex"])
def test_table_row(tmp_path, shared_data, capsys, fmt):
    ref, pred = _folders(tmp_path, shared_data, NAMES[:2])
    out = tmp_path / "s.csv"
    assert _run(ref, pred, out, "--table", fmt) == 0
    card = json.loads(card_path(out).read_text())
    text = capsys.readouterr().out
    psnr = f"{card['means']['psnr']['mean']:.4f}"
    niqe = f"{card['means']['niqe']['mean']:.4f}"
    if fmt == "md":
        assert "| run | psnr ↑ | niqe ↓ |" in text
        assert f"| pred | {psnr} | {niqe} |" in text
    else:
        assert f"pred & {psnr} & {niqe} \\\\" in text


def test_table_needs_out(tmp_path, shared_data, capsys):
    ref, pred = _folders(tmp_path, shared_data, NAMES[:1])
    assert main([str(ref), str(pred), "--metrics", "psnr", "--table", "md"]) == 2
    assert "--table needs --out" in capsys.readouterr().err


def test_basicsr_protocol(tmp_path, shared_data, capsys):
    ref, pred = _folders(tmp_path, shared_data, NAMES[:2])
    out = tmp_path / "s.csv"
    args = [str(ref), str(pred), "--protocol", "basicsr", "--scale", "4", "--out", str(out)]
    assert main([*args, "--opt", "niqe.crop_border=0"]) == 0
    card = json.loads(card_path(out).read_text())
    assert list(card["metrics"]) == ["psnr", "ssim", "niqe"]
    assert card["protocol"]["name"] == "basicsr" and "BasicSR" in card["protocol"]["source"]
    for name in ("psnr", "ssim"):
        assert card["metrics"][name]["options"]["y_channel"] is True
        assert card["metrics"][name]["options"]["crop_border"] == 4
    assert card["metrics"]["niqe"]["options"]["crop_border"] == 0  # --opt overrides
    assert main([*args, "--scale", "0"]) == 2
    assert "--scale" in capsys.readouterr().err
