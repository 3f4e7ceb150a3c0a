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
