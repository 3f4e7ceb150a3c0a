"""semfid-select: outputs, ranking of a folder, judge wiring, exit codes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from chatserver import ChatServer
from PIL import Image
from skimage import data as skdata

from semfidelity.cli.select import main

REPO = Path(__file__).resolve().parents[2]


def _save(t: torch.Tensor, path: Path) -> None:
    arr = (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(np.ascontiguousarray(arr)).save(path)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Five SR samples of a real photo (astronaut): four noisy, one with pasted coffee."""
    root = tmp_path_factory.mktemp("scene")
    gt = torch.from_numpy(skdata.astronaut()[40:136:2, 180:276:2].copy()).permute(2, 0, 1) / 255.0
    other = torch.from_numpy(skdata.coffee()[100:112, 200:212].copy()).permute(2, 0, 1) / 255.0
    g = torch.Generator().manual_seed(0)
    folder = root / "samples"
    folder.mkdir()
    for i in range(5):
        x = (gt + 0.03 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
        if i == 3:
            x[:, 18:30, 18:30] = other
        _save(x, folder / f"s{i}.png")
    _save(gt, root / "gt.png")
    lr = TF.interpolate(gt[None], scale_factor=0.25, mode="bicubic", antialias=True)[0]
    _save(lr, root / "lr.png")
    (folder / "notes.txt").write_text("not an image")
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_select_without_reference(scene, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(scene / "samples"), "--out", str(out), "--k", "3"]) == 0
    rows = read_csv(out / "ranking.csv")
    assert len(rows) == 5
    assert {"position", "name", "combined_rank", "consensus_score", "consensus_rank"} <= set(
        rows[0]
    )
    assert rows[-1]["name"] == "s3.png"  # the sample with pasted foreign content is last
    ens = np.asarray(Image.open(out / "ensemble.png"))
    unc = np.asarray(Image.open(out / "uncertainty.png"))
    assert unc.shape[0] == 48 and unc.shape[1] > 48  # the map, then its colour bar
    unc = unc[:, :48]
    assert ens.shape == unc.shape == (48, 48, 3)
    assert unc.std() > 0 and (unc[18:30, 18:30].mean() != unc[:10, :10].mean())
    assert (unc.reshape(-1, 3) == (253, 231, 37)).all(axis=1).any()  # viridis top = max std
    text = capsys.readouterr().out
    assert "ranked 5 samples with consensus" in text
    assert f"best: {rows[0]['name']}" in text and "top 3" in text


def test_select_with_lr(scene, tmp_path, capsys):
    args = [str(scene / "samples"), "--out", str(tmp_path), "--lr", str(scene / "lr.png")]
    assert main([*args, "--scale", "4", "--reducer", "median", "--cmap", "magma"]) == 0
    rows = read_csv(tmp_path / "ranking.csv")
    cols = {"faithful_realism_score", "lr_psnr", "lr_worst_psnr", "faithful", "detail", "tie"}
    assert cols <= set(rows[0])
    assert rows[-1]["name"] == "s3.png" and rows[-1]["faithful"] == "0"
    assert "median of top 5" in capsys.readouterr().out
    assert main([*args, "--scale", "2"]) == 2
    assert "need an LR image of size 24x24" in capsys.readouterr().err


def test_select_with_reference_uses_tws(scene, tmp_path, capsys):
    from tiny_clip import make_tiny_clip

    args = [str(scene / "samples"), "--out", str(tmp_path), "--reference", str(scene / "gt.png")]
    tws = ["--tws-option", f"clip_model={make_tiny_clip()}", "--tws-option", "clip_weights=random"]
    assert main([*args, *tws, "--k", "2"]) == 0
    rows = read_csv(tmp_path / "ranking.csv")
    assert {"tws_score", "tws_rank"} <= set(rows[0]) and "consensus_score" not in rows[0]
    assert "tws vs reference: ensemble" in capsys.readouterr().out
    # with a judge the reference only validates (the paper's protocol) unless asked to select
    with ChatServer() as srv:
        env = {"OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "k"}
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            assert main([*args, *tws, "--judge", "openai", "--uncertainty-over", "top_k"]) == 0
            rows = read_csv(tmp_path / "ranking.csv")
            assert "tws_validation" in rows[0] and "tws_score" not in rows[0]
            assert "(validation only)" in capsys.readouterr().out
            role = ["--reference-role", "select"]
            assert main([*args, *tws, "--judge", "openai", *role]) == 0
            assert {"tws_score", "vlm_score"} <= set(read_csv(tmp_path / "ranking.csv")[0])


def test_select_marks_ties_and_warns_about_mixed_methods(scene, tmp_path, capsys):
    folder = tmp_path / "samples"
    folder.mkdir()
    s0 = np.asarray(Image.open(scene / "samples" / "s0.png"))
    for name in ("a.png", "b.png"):  # two identical samples tie
        Image.fromarray(s0).save(folder / name)
    blurred = Image.fromarray(s0).resize((12, 12), Image.BICUBIC).resize((48, 48), Image.BICUBIC)
    blurred.save(folder / "c.png")
    args = ["--lr", str(scene / "lr.png"), "--scale", "4"]
    assert main([str(folder), "--out", str(tmp_path / "o"), *args]) == 0
    out = capsys.readouterr().out
    assert "1=  a.png" in out and "1=  b.png" in out and "tie: a.png, b.png" in out
    assert "warning: faithful_realism: the candidates look like outputs of different" in out
    rows = read_csv(tmp_path / "o" / "ranking.csv")
    assert [r["tie"] for r in rows] == ["1", "1", "0"] and rows[-1]["name"] == "c.png"


def test_select_with_openai_judge(scene, tmp_path, monkeypatch, capsys):
    with ChatServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        code = main([str(scene / "samples"), "--out", str(tmp_path), "--judge", "openai"])
        assert code == 0
        assert len(srv.requests) == 1 and srv.requests[0][2]["model"] == "gpt-4o"
    rows = read_csv(tmp_path / "ranking.csv")
    assert {"vlm_score", "vlm_rank", "consensus_score"} <= set(rows[0])


def test_select_usage_errors(scene, tmp_path, capsys):
    samples = str(scene / "samples")
    one = tmp_path / "one"
    one.mkdir()
    _save(torch.rand(3, 8, 8), one / "a.png")
    assert main([str(one), "--out", str(tmp_path / "o")]) == 2
    _save(torch.rand(3, 8, 9), one / "b.png")
    assert main([str(one), "--out", str(tmp_path / "o")]) == 2
    assert "one size" in capsys.readouterr().err
    assert main([samples, "--out", str(tmp_path), "--lr", str(scene / "lr.png")]) == 2
    assert "scale: required" in capsys.readouterr().err
    assert main([samples, "--out", str(tmp_path), "--judge-model", "x"]) == 2
    assert main([samples, "--out", str(tmp_path), "--reference", str(tmp_path / "no.png")]) == 2
    assert main([samples, "--out", str(tmp_path), "--scorers", "consensus,psnr"]) == 2
    assert main([samples, "--out", str(tmp_path), "--tws-option", "clip_model"]) == 2
    assert main([samples, "--out", str(tmp_path), "--k", "0"]) == 2
    assert main([samples, "--out", str(tmp_path), "--reference-role", "select"]) == 2
    assert "--reference-role: given without --reference" in capsys.readouterr().err
    assert not (tmp_path / "ranking.csv").exists()


def test_console_script_is_declared(capsys):
    text = (REPO / "pyproject.toml").read_text()
    assert 'semfid-select = "semfidelity.cli.select:main"' in text
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "--reference" in capsys.readouterr().out
