"""semfid-score end to end (in-process main(argv)): rows, summary, exit codes, resume, options."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import toy_metrics
from imgs import write_pairs
from PIL import Image

import semfidelity
from semfidelity.cli.score import main
from semfidelity.io import load_image
from semfidelity.scoring.scorefile import read_rows

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _toys():
    with toy_metrics.registered():
        yield


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_rows_match_the_python_api_and_summary(tmp_path, capsys):
    ref, pred = write_pairs(tmp_path, n=5)
    out = tmp_path / "s.csv"
    assert main([str(ref), str(pred), "--metrics", "psnr,toy_absdiff", "--out", str(out)]) == 0
    rows = read_csv(out)
    assert [r["key"] for r in rows] == ["img01", "img02", "img04", "sub/img00", "sub/img03"]
    psnr = semfidelity.create_metric("psnr", device="cpu")
    for r in rows:
        want = psnr(load_image(r["pred"]), load_image(r["ref"])).item()
        assert float(r["psnr"]) == pytest.approx(want, rel=1e-6) and r["error"] == ""
        assert (int(r["height"]), int(r["width"])) == tuple(load_image(r["ref"]).shape[-2:])
    text = capsys.readouterr().out
    assert "5 pairs, 5 scored without error" in text
    vals = np.array([float(r["psnr"]) for r in rows])
    line = next(ln for ln in text.splitlines() if ln.startswith("psnr"))
    assert line.split()[1:] == [f"{vals.mean():.6g}", f"{vals.std():.6g}", "5"]


def test_jsonl_batch_invariance_and_workers(tmp_path):
    ref, pred = write_pairs(tmp_path, n=6)
    outs = []
    for i, extra in enumerate((["--batch-size", "1"], ["--batch-size", "4", "--workers", "2"])):
        out = tmp_path / f"s{i}.jsonl"
        assert main([str(ref), str(pred), "--metrics", "psnr", "--out", str(out), *extra]) == 0
        outs.append([json.loads(line) for line in out.read_text().splitlines()])
    assert len(outs[0]) == 6 and outs[0] == outs[1]
    assert all(r["error"] is None and isinstance(r["psnr"], float) for r in outs[0])


def test_stdout_mode_and_list(tmp_path, capsys):
    ref, pred = write_pairs(tmp_path, n=2)
    assert main([str(ref), str(pred), "--metrics", "psnr"]) == 0
    cap = capsys.readouterr()
    assert cap.out.splitlines()[0] == "key,ref,pred,height,width,psnr,error"
    assert len(cap.out.splitlines()) == 3 and "2 pairs" in cap.err
    assert main(["--list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["NAME", "RANGE", "BETTER"]
    psnr_row = next(r for r in table if r.startswith("psnr "))
    assert psnr_row.split()[1:4] == ["[0,", "inf]", "higher"]
    assert any(r.startswith("toy_absdiff ") and " yes " in r for r in table)


def test_failures_are_rows_and_exit_1(tmp_path, capsys):
    ref, pred = write_pairs(tmp_path, n=4, sizes=((32, 32),))
    (pred / "img01.png").write_bytes(b"garbage")
    Image.fromarray(np.full((32, 32, 3), 255, np.uint8)).save(pred / "img02.png")  # toy_fail
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(ref / "small.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(pred / "small.png")
    (pred / "extra.png").write_bytes(b"")
    out = tmp_path / "s.csv"
    args = [str(ref), str(pred), "--metrics", "psnr,toy_fail,toy_big", "--out", str(out)]
    assert main(args) == 1
    rows = {r["key"]: r for r in read_csv(out)}
    assert rows["img01"]["error"].startswith("decode: not an image") and rows["img01"]["psnr"] == ""
    assert rows["img02"]["error"].startswith("metric_error: toy_fail: RuntimeError: toy failure")
    assert rows["img02"]["psnr"] != "" and rows["img02"]["toy_big"] != ""  # others still scored
    assert rows["small"]["error"] == "too_small: toy_big needs at least 24x24 pixels, got 8x8"
    assert rows["small"]["psnr"] != "" and rows["small"]["toy_fail"] != ""
    assert rows["sub/img03"]["error"] == "" and rows["sub/img00"]["error"] == ""
    text = capsys.readouterr().out
    for fragment in (
        "decode: 1",
        "metric_error: 1",
        "too_small: 1",
        "unmatched_pred: 1",
        "extra.png",
        "img01: decode",
    ):
        assert fragment in text


def test_maps_components_amp_and_options(tmp_path):
    ref, pred = write_pairs(tmp_path, n=3)
    out, maps = tmp_path / "s.csv", tmp_path / "maps"
    args = [
        str(ref),
        str(pred),
        "--metrics",
        "toy_absdiff,toy_parts,toy_amp,psnr",
        "--out",
        str(out),
        "--maps",
        str(maps),
        "--components",
        "--amp",
        "--opt",
        "psnr.data_range=2",
    ]
    assert main(args) == 0
    rows = read_csv(out)
    assert list(rows[0]) == [
        "key",
        "ref",
        "pred",
        "height",
        "width",
        "toy_absdiff",
        "toy_parts",
        "toy_parts.red",
        "toy_parts.blue",
        "toy_amp",
        "psnr",
        "error",
    ]
    for r in rows:
        p, t = load_image(r["pred"]), load_image(r["ref"])
        red = 1 - (p[:, 0] - t[:, 0]).abs().mean().item()
        assert abs(float(r["toy_parts.red"]) - red) < 1e-6
        assert float(r["toy_amp"]) == 1.0  # ran under autocast
        want = semfidelity.create_metric("psnr", data_range=2.0)(p, t).item()
        assert float(r["psnr"]) == pytest.approx(want, rel=1e-6)
        png = maps / "toy_absdiff" / f"{r['key']}.png"
        with Image.open(png) as im:
            # the map, then its colour bar (legend) on the right
            assert im.mode == "RGB" and im.size[1] == int(r["height"])
            assert im.size[0] > int(r["width"])
    assert not (maps / "psnr").exists()


def test_resume_skips_present_rows_and_repairs_a_cut_line(tmp_path, capsys):
    ref, pred = write_pairs(tmp_path, n=6)
    full, out = tmp_path / "full.csv", tmp_path / "s.csv"
    base = [str(ref), str(pred), "--metrics", "psnr,toy_absdiff"]
    assert main([*base, "--out", str(full)]) == 0
    lines = full.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:15])  # 2 rows and half of a third
    assert main([*base, "--out", str(out)]) == 2  # exists, no --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*base, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == full.read_bytes()
    assert main([*base, "--out", str(out), "--resume"]) == 0  # finished: nothing to do
    assert out.read_bytes() == full.read_bytes()
    assert main([str(ref), str(pred), "--metrics", "psnr", "--out", str(out), "--resume"]) == 2
    assert "has columns" in capsys.readouterr().err
    assert main([*base, "--out", str(out), "--overwrite"]) == 0
    assert out.read_bytes() == full.read_bytes()


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    ref, pred = write_pairs(tmp_path, n=10, sizes=((8, 8),))
    full, out = tmp_path / "full.jsonl", tmp_path / "s.jsonl"
    base = [str(ref), str(pred), "--metrics", "toy_slow,psnr", "--batch-size", "1"]
    assert main([*base, "--out", str(full)]) == 0
    env = {
        **os.environ,
        "SEMFID_TOY_SLEEP": "0.3",
        "PYTHONPATH": f"{REPO}{os.pathsep}{Path(__file__).parent}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "semfidelity.cli.score",
            *base,
            "--out",
            str(out),
            "--plugin",
            "toy_plugin",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = out.read_text().count("\n")
    assert 3 <= done < 10, proc.stderr.read()
    with open(out, "a") as fh:  # as if killed in the middle of a write
        fh.write('{"key": "img0')
    assert main([*base, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == full.read_bytes()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len({r["key"] for r in rows}) == len(rows) == 10
    assert torch.tensor([r["toy_slow"] for r in rows]).gt(0).all()


def test_resume_merges_part_files_of_an_interrupted_torchrun(tmp_path):
    ref, pred = write_pairs(tmp_path, n=6)
    full, out = tmp_path / "full.csv", tmp_path / "s.csv"
    base = [str(ref), str(pred), "--metrics", "psnr"]
    assert main([*base, "--out", str(full)]) == 0
    header, *rows = full.read_text().splitlines(keepends=True)
    (tmp_path / "s.csv.rank0.part").write_text(header + rows[0] + rows[2] + rows[4][:9])
    (tmp_path / "s.csv.rank1.part").write_text(header + rows[1])
    assert main([*base, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == full.read_bytes()
    assert not list(tmp_path.glob("s.csv.rank*"))


def test_resize_pred_to_ref_and_pred_suffix(tmp_path):
    ref, pred = write_pairs(tmp_path, n=2, sizes=((16, 16),))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(pred / "img01_x4.png")
    (pred / "img01.png").unlink()
    out = tmp_path / "s.csv"
    args = [str(ref), str(pred), "--metrics", "psnr", "--pred-suffix", "_x4", "--out", str(out)]
    assert main(args) == 1
    assert "size_mismatch: size mismatch: ref 16x16" in read_csv(out)[0]["error"]
    assert main([*args, "--overwrite", "--resize-pred-to-ref"]) == 0
    row = read_csv(out)[0]
    assert row["key"] == "img01" and row["pred"].endswith("img01_x4.png") and row["error"] == ""
    assert (row["height"], row["width"]) == ("16", "16")


def test_too_small_uses_the_instance_minimum_raised_by_options(tmp_path):
    """db4 needs 56 px, crop_border=24 makes psnr need 49: too_small, not metric_error."""
    ref, pred = write_pairs(tmp_path, n=2, sizes=((48, 48),))
    out = tmp_path / "s.csv"
    args = [str(ref), str(pred), "--metrics", "wavelet,psnr,ssim", "--out", str(out)]
    opts = ["--opt", "wavelet.wavelet=db4", "--opt", "psnr.crop_border=24"]
    assert main([*args, *opts]) == 1
    for row in read_csv(out):
        assert row["wavelet"] == "" and row["psnr"] == "" and row["ssim"] != ""
        assert row["error"] == (
            "too_small: wavelet needs at least 56x56 pixels, got 48x48 | "
            "too_small: psnr needs at least 49x49 pixels, got 48x48"
        )


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_hostile_file_names_survive_a_run_and_a_resume(tmp_path, ext):
    ref, pred = write_pairs(tmp_path, n=3, sizes=((16, 16),))
    for folder in (ref, pred):
        (folder / "img01.png").rename(folder / "a\rb\u2028c\x85.png")
        (folder / "img02.png").rename(folder / "=cmd.png")
    out = tmp_path / f"s.{ext}"
    base = [str(ref), str(pred), "--metrics", "psnr", "--out", str(out)]
    assert main(base) == 0
    first = out.read_bytes()
    assert main([*base, "--resume"]) == 0  # nothing left to do, and no parse error
    assert out.read_bytes() == first
    keys = sorted(r["key"] for r in read_rows(out, ext)[1])
    assert keys == sorted(["a\rb\u2028c\x85", "=cmd", "sub/img00"])
