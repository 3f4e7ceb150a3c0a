"""semfid-make-pairs: labelled pairs from real images, masks where content changed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.cli.make_pairs import main
from semfidelity.io import load_image
from semfidelity.training import PairDataset, make_pairs
from semfidelity.training.synth import NO_CHANGE_KINDS, no_change


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_pairs_from_real_images_are_balanced_and_loadable(train_csv):
    rows = _rows(train_csv)
    assert len(rows) == 96
    labels = [float(r["semantic_error"]) for r in rows]
    assert labels.count(1.0) == 48 and labels.count(0.0) == 48
    kinds = {r["kind"] for r in rows if r["semantic_error"] == "0"}
    assert len(kinds) >= 5 and kinds <= set(NO_CHANGE_KINDS)
    ds = PairDataset(train_csv)
    assert ds[0]["reference"].shape == (3, 64, 64)


def test_semantic_pairs_change_inside_the_mask_only(train_csv):
    root = train_csv.parent
    checked = 0
    for r in _rows(train_csv):
        if r["kind"] != "semantic":
            continue
        ref, dist = load_image(root / r["reference"]), load_image(root / r["distorted"])
        mask = load_image(root / r["mask"])[0, 0] > 0.5
        diff = (ref - dist).abs().amax(dim=1)[0]
        assert 0.05 < float(mask.float().mean()) < 0.5
        grown = torch.nn.functional.max_pool2d(mask[None, None].float(), 19, 1, 9)[0, 0] > 0
        assert float(diff[~grown].max()) <= 2 / 255  # outside the feathered border: untouched
        assert float(diff[mask].mean()) > 0.05  # inside: new content
        checked += 1
    assert checked >= 10


def test_no_change_distortions_keep_content(shared_dir):
    ref = load_image(shared_dir / "butterfly.png")[..., :64, :64]
    rng = np.random.default_rng(0)
    for kind in NO_CHANGE_KINDS:
        out = no_change(ref, kind, rng)
        assert out.shape == ref.shape and not torch.equal(out, ref)
        assert float((out - ref).abs().mean()) < 0.15, kind
    with pytest.raises(ValueError, match="kind"):
        no_change(ref, "warp", rng)


def test_same_seed_same_files(shared_dir, tmp_path):
    a = make_pairs(shared_dir, tmp_path / "a", 6, seed=4, size=32)
    b = make_pairs(shared_dir, tmp_path / "b", 6, seed=4, size=32)
    assert a.read_text() == b.read_text()
    for r in _rows(a):
        pa, pb = a.parent / r["distorted"], b.parent / r["distorted"]
        assert np.array_equal(np.asarray(Image.open(pa)), np.asarray(Image.open(pb)))


def test_cli_errors(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "src" / "only.png")
    assert main([str(tmp_path / "src"), str(tmp_path / "o"), "--n", "4"]) == 1
    assert "at least 2 images" in capsys.readouterr().err
    assert main([str(tmp_path / "none"), str(tmp_path / "o"), "--n", "4"]) == 1
    with pytest.raises(SystemExit):
        main([str(tmp_path / "src"), str(tmp_path / "o")])  # --n is required


def test_chain_option_selects_bsrgan_degradation(tmp_path):
    import numpy as np
    import torch

    from semfidelity.training import degrade
    from semfidelity.training.synth import no_change

    ref = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    outs = {
        c: no_change(ref, "chain", np.random.default_rng(4), chain=c) for c in ("semfid", "bsrgan")
    }
    r = np.random.default_rng(4)
    t, s = float(r.choice([0.3, 0.7, 1.0])), int(r.integers(0, 2**31))
    assert torch.equal(outs["bsrgan"], degrade(ref, t, s, kind="bsrgan"))
    assert torch.equal(outs["semfid"], degrade(ref, t, s))
    with pytest.raises(ValueError, match="chain"):
        make_pairs(tmp_path, tmp_path / "o", 4, chain="realesrgan")
