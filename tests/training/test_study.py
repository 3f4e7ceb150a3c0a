"""MOS from yes/no votes with trap filtering."""

from __future__ import annotations

import pytest

from semfidelity.training import read_pairs
from semfidelity.training.study import mos_from_votes


def test_mos_and_trap_filtering(tmp_path, shared_dir):
    ref, a, b = shared_dir / "bird.png", shared_dir / "head.png", shared_dir / "woman.png"
    votes = [
        "rater,reference,distorted,vote,trap",
        f"r1,{ref},{a},yes,",
        f"r2,{ref},{a},yes,",
        f"r3,{ref},{a},no,",
        f"r1,{ref},{b},no,",
        f"r2,{ref},{b},1,",
        f"r3,{ref},{b},no,",
        f"bad,{ref},{a},no,",
        f"bad,{ref},{b},yes,",
        f"r1,{ref},{ref},no,no",  # trap: identical images
        f"r2,{ref},{ref},no,no",
        f"bad,{ref},{ref},yes,no",  # careless rater fails the trap
    ]
    (tmp_path / "votes.csv").write_text("\n".join(votes) + "\n")
    summary = mos_from_votes(tmp_path / "votes.csv", tmp_path / "pairs.csv")
    assert summary.raters_dropped == ("bad",) and summary.raters_kept == ("r1", "r2", "r3")
    assert summary.trap_accuracy == {"r1": 1.0, "r2": 1.0, "bad": 0.0}
    recs = read_pairs(tmp_path / "pairs.csv")
    assert [r.label for r in recs] == pytest.approx([2 / 3, 1 / 3])
    assert [r.extra["n_votes"] for r in recs] == ["3", "3"]
    kept_all = mos_from_votes(tmp_path / "votes.csv", tmp_path / "p2.csv", min_trap_accuracy=0)
    assert [r.label for r in read_pairs(kept_all.pairs_csv)] == pytest.approx([0.5, 0.5])
    assert mos_from_votes(tmp_path / "votes.csv", tmp_path / "p3.csv", min_votes=4).n_pairs == 0


def test_bad_votes_are_reported(tmp_path):
    (tmp_path / "v.csv").write_text("rater,reference,distorted,vote\nr1,a.png,b.png,maybe\n")
    with pytest.raises(ValueError, match=r"row 1 \(line 2\): vote must be yes/no.*'maybe'"):
        mos_from_votes(tmp_path / "v.csv", tmp_path / "p.csv")
    (tmp_path / "w.csv").write_text("rater,ref,distorted,vote\n")
    with pytest.raises(ValueError, match="missing column"):
        mos_from_votes(tmp_path / "w.csv", tmp_path / "p.csv")
