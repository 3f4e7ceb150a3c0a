"""make_sr_pairs / semfid-make-sr-pairs: layout, manifest, window, methods (callable, command,
bicubic), failures recorded, resume without redoing work, odd file names."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from repo_data import DATA

import semfidelity
from semfidelity.cli.make_sr_pairs import main
from semfidelity.io import load_image
from semfidelity.training.bsrgan import degrade_bsrgan
from semfidelity.training.sr_methods import SRMethod, bicubic_sr, parse_method
from semfidelity.training.sr_pairs import COLUMNS, item_seed, make_sr_pairs

ODD = ["baby crop.png", "bird 'quoted' $HOME é.png"]

# A command-line SR method: nearest-neighbour x{scale} with PIL; argv[3] == "fail" exits 3.
NEAREST = """
import sys
from PIL import Image
src, dst, scale = sys.argv[1], sys.argv[2], int(sys.argv[3])
if "fail" in sys.argv[4:]:
    sys.exit("deliberate failure")
with Image.open(src) as im:
    im.resize((im.width * scale, im.height * scale), Image.NEAREST).save(dst)
"""


@pytest.fixture
def hr_dir(tmp_path) -> Path:
    """Two 96x100 crops of Set5 under odd names, and one undecodable file."""
    d = tmp_path / "hr"
    d.mkdir()
    for name, src in zip(ODD, ("baby", "bird")):
        with Image.open(DATA / "set5_swinir" / "HR" / f"{src}.png") as im:
            im.convert("RGB").crop((60, 60, 160, 156)).save(d / name)
    (d / "broken.png").write_bytes(b"not a png")
    return d


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_bicubic_run_layout_scores_and_window(hr_dir, tmp_path):
    out = tmp_path / "out"
    res = make_sr_pairs(hr_dir, out, ["bicubic"], measures=["ssim"], window=(0.5, 0.9))
    rows = _rows(res.manifest)
    assert list(rows[0]) == COLUMNS and len(rows) == 3 * 3 and res.rows == 9
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 6 and res.failed == 3
    assert all("cannot decode" in r["error"] for r in rows if r["image"] == "broken.png")
    ssim = semfidelity.create_metric("ssim")
    for r in ok:
        hr, lq, sr = (load_image(out / r[c]) for c in ("reference", "lq", "distorted"))
        assert hr.shape == sr.shape == (1, 3, 96, 100) and lq.shape == (1, 3, 24, 25)
        assert float(r["ssim"]) == pytest.approx(float(ssim(sr, hr)[0]), abs=1e-5)
        assert r["kept"] == str(int(0.5 <= float(r["ssim"]) <= 0.9))
        # The LQ is BSRGAN's degradation with the recorded seed, shared by the levels.
        assert int(r["seed"]) == item_seed(0, r["image"])
        want, _ = degrade_bsrgan(load_image(hr_dir / r["image"]), float(r["level"]), int(r["seed"]))
        assert torch.allclose(lq[0], want, atol=0.5 / 255)
    kept = _rows(res.kept_csv)
    assert [r["distorted"] for r in kept] == [r["distorted"] for r in ok if r["kept"] == "1"]
    assert 0 < len(kept) < len(ok)  # this window splits these pairs
    # Levels share one chain: SSIM falls with the level for each image.
    for name in ODD:
        s = [float(r["ssim"]) for r in ok if r["image"] == name]
        assert s[0] > s[1] > s[2], (name, s)


def test_command_method_odd_names_failures_and_resume(hr_dir, tmp_path, capsys):
    script = tmp_path / "nearest sr.py"
    script.write_text(NEAREST)
    out = tmp_path / "out dir"
    good = f"near={sys.executable} '{script}' {{in}} {{out}} {{scale}}"
    bad = f"bad={sys.executable} '{script}' {{in}} {{out}} {{scale}} fail"
    argv = [str(hr_dir), str(out), "-m", good, "-m", bad, "--measures", "ssim,lpips"]
    argv += ["-o", "lpips.weights=random", "--levels", "0.3", "1.0", "--filter", "none"]
    assert main(argv) == 1  # some items failed, the rest is written
    rows = _rows(out / "manifest.csv")
    assert len(rows) == 3 * 2 * 2
    near = [r for r in rows if r["method"] == "near" and r["image"] != "broken.png"]
    assert all(r["status"] == "ok" and r["kept"] == "1" for r in near)
    assert all(float(r["lpips"]) >= 0 for r in near)
    for r in near:  # nearest x4 of the LQ, under the odd name
        assert Path(r["distorted"]).name == Path(r["image"]).name
        sr, lq = load_image(out / r["distorted"]), load_image(out / r["lq"])
        assert torch.equal(sr, lq.repeat_interleave(4, -2).repeat_interleave(4, -1))
    failed = [r for r in rows if r["method"] == "bad" and r["image"] != "broken.png"]
    assert all(r["status"] == "failed" and "deliberate failure" in r["error"] for r in failed)
    assert "12 pairs, 4 kept" in capsys.readouterr().out  # --filter none keeps every ok pair

    # Rerun: finished items are reused (files untouched), failed ones are tried again.
    stamp = {r["distorted"]: (out / r["distorted"]).stat().st_mtime_ns for r in near}
    res = make_sr_pairs(
        hr_dir, out, [good, bad.replace(" fail", "")], levels=[0.3, 1.0],
        measures=["ssim", "lpips"], metric_options={"lpips": {"weights": "random"}},
        filter_on="lpips", window=(0.0, 10.0),
    )  # fmt: skip
    assert res.reused == len(near) and res.failed == 4  # broken.png x 2 levels x 2 methods
    assert all((out / d).stat().st_mtime_ns == t for d, t in stamp.items())
    again = _rows(out / "manifest.csv")
    assert sum(r["status"] == "ok" for r in again) == 8


def test_callable_with_wrong_output_size_is_a_failed_row(hr_dir, tmp_path):
    def shrink(lq, scale):
        return bicubic_sr(lq, scale)[..., :-1]

    methods = [SRMethod("shrink", "shrink", "python", func=shrink), "ok=bicubic"]
    res = make_sr_pairs(hr_dir, tmp_path / "o", methods, levels=[0.7], measures=["ssim"])
    rows = _rows(res.manifest)
    bad = [r for r in rows if r["method"] == "shrink" and r["image"] != "broken.png"]
    assert all("output shape (1, 3, 96, 99), expected (1, 3, 96, 100)" in r["error"] for r in bad)
    assert all(r["status"] == "ok" for r in rows if r["method"] == "ok" and r["ssim"])


def test_parse_method_forms_and_errors():
    assert parse_method("bicubic").name == "bicubic"
    m = parse_method("semfidelity.training.sr_methods:bicubic_sr")
    assert m.kind == "python" and m.func is bicubic_sr and m.name == "bicubic_sr"
    c = parse_method("esr=realesrgan -i {in} -o {out} --outscale={scale}")
    assert c.kind == "command" and c.name == "esr" and c.argv[-1] == "--outscale={scale}"
    assert parse_method("python infer.py --x=1 {in} {out}").name == "python"
    for bad, msg in [
        ("run {in}", "both"),
        ("nosuchmodule_xyz:f", "cannot import"),
        ("semfidelity:nope", "no attribute"),
        ("what is this", "expected 'bicubic'"),
        ("cmd '{in} {out}", "cannot split"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_method(bad)


@pytest.mark.parametrize(
    ("extra", "msg"),
    [
        (["--window", "0.8", "0.6"], "window"),
        (["--levels", "1.5"], "intensity"),
        (["--filter", "lpips", "--measures", "ssim"], "filter"),
        (["-m", "bicubic"], "distinct names"),
    ],
)
def test_usage_errors_exit_2_before_writing(hr_dir, tmp_path, capsys, extra, msg):
    out = tmp_path / "o"
    assert main([str(hr_dir), str(out), "-m", "bicubic", *extra]) == 2
    assert msg in capsys.readouterr().err and not out.exists()


def test_missing_folder_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path / "o"), "-m", "bicubic"]) == 2
    assert "nope" in capsys.readouterr().err


def test_item_seed_depends_on_name_and_base_seed_only():
    assert item_seed(0, "a.png") == item_seed(0, "a.png") != item_seed(1, "a.png")
    assert item_seed(0, "a.png") != item_seed(0, "b.png")
    assert all(0 <= item_seed(s, "x") < 2**63 for s in range(5))
    assert np.unique([item_seed(0, f"{i}.png") for i in range(50)]).size == 50
