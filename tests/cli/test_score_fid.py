"""semfid-score with the set-level ``fid``: one value over the run's predictions vs references,
in the summary, the card and --table; equal to :class:`FID` fed the same pairs with the same
(random, full-size) Inception weights; after --resume; with excluded pairs; with too few pairs.
Few images: each FID costs ~10 s of 2048x2048 eigenvalues on 2 cores."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch
from imgs import write_pairs
from torchvision.models import inception_v3

from semfidelity.cli.score import main
from semfidelity.metrics.fid import FID
from semfidelity.scoring.card import card_path


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """Random full-size weights in the layout of pt_inception-2015-12-05, as a file."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=True)
    path = tmp_path_factory.mktemp("fidw") / "inception.pth"
    torch.save(net.state_dict(), path)
    return str(path)


def _args(ref, pred, out, weights, metrics="psnr,fid"):
    return [str(ref), str(pred), "--metrics", metrics, "--out", str(out)] + [
        "--opt",
        f"fid.weights={weights}",
    ]


def _direct(weights, pred, ref, keys) -> float:
    """FID of the given pairs, fed straight to :class:`FID` (the library reference)."""
    direct = FID(weights=weights, device="cpu")
    for key in keys:
        direct.update(str(pred / f"{key}.png"), real=False)
        direct.update(str(ref / f"{key}.png"), real=True)
    return direct.compute()


def test_fid_in_summary_card_table_and_after_resume(tmp_path, weights, capsys):
    ref, pred = write_pairs(tmp_path, n=4, sizes=((32, 32),))
    out = tmp_path / "s.csv"
    assert main([*_args(ref, pred, out, weights), "--table", "md"]) == 0
    text = capsys.readouterr().out
    want = _direct(weights, pred, ref, ("sub/img00", "img01", "img02", "sub/img03"))
    card = json.loads(card_path(out).read_text())
    fid = card["set_metrics"]["fid"]
    assert fid["value"] == pytest.approx(want, rel=1e-6) and want > 0
    assert fid["images"] == {"prediction": 4, "reference": 4} and fid["excluded"] == []
    assert fid["features"] == 2048 and fid["lower_better"] is True
    (w,) = fid["weights"]
    assert w["id"] == "inception-v3-fid" and w["filename"].endswith("6726825d.pth")
    assert fid["options"]["weights"] == weights
    assert fid["weights_file"]["sha256"] == hashlib.sha256(open(weights, "rb").read()).hexdigest()
    assert card["metric_order"] == ["psnr", "fid"] and "fid" not in card["means"]
    header = out.read_text().splitlines()[0]
    assert "fid" not in header.split(",")  # a set-level metric is not a column
    assert f"fid  {fid['value']:.6g}  (4 predictions vs 4 references, 0 pairs excluded)" in text
    assert "| run | psnr ↑ | fid ↓ |" in text
    assert f"| {fid['value']:.4f} |" in text
    # --resume: FID is over every pair of the run, also those scored before the interruption
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]))  # an interrupted run: one row written
    assert main([*_args(ref, pred, out, weights), "--resume"]) == 0
    card = json.loads(card_path(out).read_text())
    assert card["rows"] == 4 and card["set_metrics"]["fid"]["images"]["prediction"] == 4
    assert card["set_metrics"]["fid"]["value"] == pytest.approx(fid["value"], rel=1e-9)


def test_failed_and_unpaired_files_are_excluded_and_named(tmp_path, weights, capsys):
    """Stdout mode (summary on stderr); a broken prediction and an unpaired reference."""
    ref, pred = write_pairs(tmp_path, n=4, sizes=((32, 32),), seed=2)
    (pred / "img01.png").write_bytes(b"not a png")
    shutil.copy(ref / "img02.png", ref / "extra.png")  # unpaired: in neither set
    args = [str(ref), str(pred), "--metrics", "fid", "--opt", f"fid.weights={weights}"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "key,ref,pred,height,width,error"
    want = _direct(weights, pred, ref, ("sub/img00", "img02", "sub/img03"))
    assert f"fid  {want:.6g}  (3 predictions vs 3 references, 1 pairs excluded)" in captured.err
    assert "excluded img01: decode" in captured.err
    assert "unmatched_ref: 1" in captured.err


def test_fid_with_one_pair_is_a_clear_failure(tmp_path, weights, capsys):
    ref, pred = write_pairs(tmp_path, n=1, sizes=((32, 32),))
    out = tmp_path / "s.csv"
    assert main([*_args(ref, pred, out, weights), "--table", "latex"]) == 1
    captured = capsys.readouterr()
    assert "fid needs at least 2 image pairs" in captured.out and "got 1 of 1" in captured.out
    assert "Traceback" not in captured.err
    fid = json.loads(card_path(out).read_text())["set_metrics"]["fid"]
    assert fid["value"] is None and "at least 2" in fid["error"]
    assert "& - \\\\" in captured.out  # the table shows no number for fid


def test_fid_needs_a_reference_and_valid_options(tmp_path, weights, capsys):
    ref, pred = write_pairs(tmp_path, n=2, sizes=((32, 32),))
    assert main([str(pred), "--metrics", "fid"]) == 2
    assert "REF is required: fid" in capsys.readouterr().err
    args = [str(ref), str(pred), "--metrics", "fid", "--opt", "fid.size=3"]
    assert main(args) == 2
    assert "fid has no option(s) ['size']" in capsys.readouterr().err
