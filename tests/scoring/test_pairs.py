"""Pair discovery: relative folder + stem, never sort order; unmatched and duplicates by name."""

from __future__ import annotations

import pytest

from semfidelity.scoring.pairs import discover_pairs


def touch(root, *names):
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def test_pairs_by_relative_folder_and_stem_not_sort_order(tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    # Sorted lists would pair a<->b wrongly: pred has an extra file that sorts first.
    touch(ref, "b.png", "c.png", "sub/a.png", "sub/deeper/z.bmp", "notes.txt", ".hidden.png")
    touch(pred, "aaa_extra.png", "b.JPG", "c.webp", "sub/a.tif", "sub/deeper/z.png")
    res = discover_pairs(ref, pred)
    assert [(p.key, p.ref.name, p.pred.name) for p in res.pairs] == [
        ("b", "b.png", "b.JPG"),
        ("c", "c.png", "c.webp"),
        ("sub/a", "a.png", "a.tif"),
        ("sub/deeper/z", "z.bmp", "z.png"),
    ]
    assert res.unmatched_pred == ["aaa_extra.png"]
    assert res.unmatched_ref == []
    # Same stem in another folder is not a match.
    touch(pred, "other/b.png")
    assert discover_pairs(ref, pred).unmatched_pred == ["aaa_extra.png", "other/b.png"]


def test_pred_suffixes_and_exact_match_wins(tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    touch(ref, "baby.png", "bird.png", "head_x4.png")
    touch(pred, "baby_x4.png", "bird_SR.png", "head_x4.png")
    res = discover_pairs(ref, pred, pred_suffixes=["_x4", "_SR"])
    assert [(p.key, p.pred.name) for p in res.pairs] == [
        ("baby", "baby_x4.png"),
        ("bird", "bird_SR.png"),
        ("head_x4", "head_x4.png"),
    ]
    assert not discover_pairs(ref, pred).pairs[:-1]  # without suffixes only head_x4 pairs


def test_duplicates_are_reported_and_skipped(tmp_path):
    ref, pred = tmp_path / "ref", tmp_path / "pred"
    touch(ref, "a.png", "b.png", "b.jpg", "c.png")
    touch(pred, "a.png", "b.png", "c.png", "c_x4.png")
    res = discover_pairs(ref, pred, pred_suffixes=["_x4"])
    assert [p.key for p in res.pairs] == ["a"]
    assert res.duplicates == {"b": ["REF/b.jpg", "REF/b.png"], "c": ["PRED/c.png", "PRED/c_x4.png"]}
    reasons = {(r, k) for r, k, _ in res.problems}
    assert reasons == {("duplicate", "b"), ("duplicate", "c")}


def test_files_and_errors(tmp_path):
    touch(tmp_path, "x.png", "y.png", "d/z.png")
    res = discover_pairs(tmp_path / "x.png", tmp_path / "y.png")
    assert [(p.key, p.pred.name) for p in res.pairs] == [("x", "y.png")]
    with pytest.raises(ValueError, match="both be files or both be folders"):
        discover_pairs(tmp_path / "x.png", tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="PRED: no such file"):
        discover_pairs(tmp_path / "x.png", tmp_path / "missing.png")


def test_suffixes_on_both_sides_pair_and_no_pairs_says_why(tmp_path):
    from semfidelity.cli.score import main

    ref, pred = write_pairs(tmp_path, n=2, sizes=((16, 16),))
    for folder, suffix in ((ref, "_BSRGAN"), (pred, "_ESRGAN")):
        (folder / "img01.png").rename(folder / f"Lincoln{suffix}.png")
    result = discover_pairs(ref, pred, ["_ESRGAN"], ["_BSRGAN"])
    assert [p.key for p in result.pairs] == ["Lincoln", "sub/img00"]
    assert result.unmatched_ref == [] and result.unmatched_pred == []
    (ref / "sub" / "img00.png").rename(ref / "sub" / "img00_HR.png")
    out = tmp_path / "s.csv"
    args = [str(ref / "sub"), str(pred / "sub"), "--metrics", "psnr", "--out", str(out)]
    assert main(args) == 2
    assert main([*args, "--ref-suffix", "_HR"]) == 0


def test_no_pairs_message_shows_names_and_suggests_the_options(tmp_path, capsys):
    from semfidelity.cli.score import main

    ref, pred = write_pairs(tmp_path, n=1, sizes=((16, 16),))
    (ref / "sub" / "img00.png").rename(ref / "sub" / "Lincoln_BSRGAN.png")
    (pred / "sub" / "img00.png").rename(pred / "sub" / "Lincoln_ESRGAN.png")
    assert main([str(ref), str(pred), "--metrics", "psnr", "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert "sub/Lincoln_BSRGAN.png" in err and "sub/Lincoln_ESRGAN.png" in err
    assert "--ref-suffix" in err and "--pred-suffix" in err


def write_pairs(root, n, sizes):
    """``root/ref`` and ``root/pred``: ``img01.png`` on top, ``sub/img00.png`` (as tests/cli)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    ref, pred = root / "ref", root / "pred"
    for i in range(n):
        sub = "" if i % 3 else "sub/"
        img = rng.integers(0, 256, (*sizes[0], 3), dtype=np.uint8)
        for folder, arr in ((ref, img), (pred, 255 - img)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(folder / f"{sub}img{i:02d}.png")
    return ref, pred


def test_symlink_cycles_dangling_links_and_unreadable_folders(tmp_path, monkeypatch):
    import os

    ref, pred = write_pairs(tmp_path, n=2, sizes=((8, 8),))
    for folder in (ref, pred):
        os.symlink(".", folder / "loop")
        os.symlink("..", folder / "sub" / "up")
    os.symlink("gone.png", ref / "dangling.png")
    (pred / "locked").mkdir()
    scandir = os.scandir

    def refuse_locked(path="."):  # as chmod 000 would (the tests may run as root)
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    result = discover_pairs(ref, pred)
    assert [p.key for p in result.pairs] == ["img01", "sub/img00"]  # each file once
    reasons = {(r, n) for r, n, _ in result.problems}
    assert ("broken_link", "REF/dangling.png") in reasons
    assert ("unreadable", "PRED/locked") in reasons
