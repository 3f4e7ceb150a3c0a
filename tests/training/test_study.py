"""MOS from yes/no votes: orientation, planted and consensus traps, min_votes."""

from __future__ import annotations

import logging

import pytest

from semfidelity.training import read_pairs
from semfidelity.training.study import MIN_VOTES, mos_from_votes

HEAD = "rater,reference,distorted,semantic_error,trap"


def _votes(ref, a, b, head=HEAD):
    return [
        head,
        f"r1,{ref},{a},yes,",
        f"r2,{ref},{a},yes,",
        f"r3,{ref},{a},no,",
        f"r1,{ref},{b},no,",
        f"r2,{ref},{b},1,",
        f"r3,{ref},{b},no,",
        f"bad,{ref},{a},no,",
        f"bad,{ref},{b},yes,",
        f"r1,{ref},{ref},no,no",  # planted trap: identical images
        f"r2,{ref},{ref},no,no",
        f"bad,{ref},{ref},yes,no",  # careless rater fails the trap
    ]


def test_mos_and_trap_filtering(tmp_path, shared_dir):
    ref, a, b = shared_dir / "bird.png", shared_dir / "head.png", shared_dir / "woman.png"
    (tmp_path / "votes.csv").write_text("\n".join(_votes(ref, a, b)) + "\n")
    summary = mos_from_votes(tmp_path / "votes.csv", tmp_path / "pairs.csv", min_votes=1)
    assert summary.raters_dropped == ("bad",) and summary.raters_kept == ("r1", "r2", "r3")
    assert summary.trap_accuracy == {"r1": 1.0, "r2": 1.0, "bad": 0.0}
    assert summary.consensus_accuracy == {}  # 3 votes per pair: below consensus_min_votes
    recs = read_pairs(tmp_path / "pairs.csv")
    assert [r.label for r in recs] == pytest.approx([2 / 3, 1 / 3])
    assert [r.extra["n_votes"] for r in recs] == ["3", "3"]
    assert [float(r.extra["agreement"]) for r in recs] == pytest.approx([2 / 3, 2 / 3])
    kept_all = mos_from_votes(
        tmp_path / "votes.csv", tmp_path / "p2.csv", min_trap_accuracy=0, min_votes=1
    )
    assert [r.label for r in read_pairs(kept_all.pairs_csv)] == pytest.approx([0.5, 0.5])
    # the same answers declared the other way round ("yes" = faithful) give the same labels
    flipped = [
        ",".join(
            [
                *ln.split(",")[:3],
                *({"yes": "no", "no": "yes", "1": "0"}.get(v, v) for v in ln.split(",")[3:]),
            ]
        )  # fmt: skip
        for ln in _votes(ref, a, b, head=HEAD.replace("semantic_error", "faithful"))
    ]
    (tmp_path / "faithful.csv").write_text("\n".join(flipped) + "\n")
    s = mos_from_votes(tmp_path / "faithful.csv", tmp_path / "p4.csv", min_votes=1)
    assert s.raters_dropped == ("bad",)
    assert [r.label for r in read_pairs(s.pairs_csv)] == pytest.approx([2 / 3, 1 / 3])


def test_min_votes_default_warns_and_errors(tmp_path, caplog):
    assert MIN_VOTES == 15
    rows = [HEAD] + [f"r{k},g.png,s1.png,{'yes' if k < 12 else 'no'}," for k in range(16)]
    rows += [f"r{k},g.png,s2.png,no," for k in range(3)]
    (tmp_path / "v.csv").write_text("\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING, logger="semfidelity.training.study"):
        s = mos_from_votes(tmp_path / "v.csv", tmp_path / "p.csv")
    assert s.n_pairs == 1 and s.n_below_min_votes == 1
    assert "1 of 2 pairs have fewer than min_votes=15 kept votes (fewest: 3)" in caplog.text
    text = (tmp_path / "p.csv").read_text().splitlines()
    assert text == [
        "reference,distorted,semantic_error,n_votes,agreement",
        "g.png,s1.png,0.75,16,0.75",
    ]
    (tmp_path / "few.csv").write_text("\n".join(rows[:1] + rows[-3:]) + "\n")
    with pytest.raises(ValueError, match=r"few.csv: no pair has min_votes=15 kept votes \(the "
                       r"most: 3.*thesis had 15-30.*min_votes=3 \(semfid-study export "
                       r"--min-votes 3\)"):  # fmt: skip
        mos_from_votes(tmp_path / "few.csv", tmp_path / "p.csv")
    with pytest.raises(ValueError, match="min_votes: expected an int >= 1, got 0"):
        mos_from_votes(tmp_path / "few.csv", tmp_path / "p.csv", min_votes=0)


def test_bad_votes_are_reported(tmp_path):
    (tmp_path / "v.csv").write_text(
        "rater,reference,distorted,semantic_error\nr1,a.png,b.png,maybe\n"
    )
    with pytest.raises(
        ValueError, match=r"row 1 \(line 2\): semantic_error must be yes/no.*'maybe'"
    ):
        mos_from_votes(tmp_path / "v.csv", tmp_path / "p.csv")
    (tmp_path / "w.csv").write_text("rater,ref,distorted,semantic_error\n")
    with pytest.raises(ValueError, match="missing column"):
        mos_from_votes(tmp_path / "w.csv", tmp_path / "p.csv")
    # the former `vote` column does not say whether "yes" is an error or faithful
    (tmp_path / "old.csv").write_text("rater,reference,distorted,vote\nr1,a.png,b.png,yes\n")
    with pytest.raises(ValueError, match=r"old.csv: the vote column 'vote' does not declare its "
                       r"orientation.*'semantic_error' \(yes = semantic error"):  # fmt: skip
        mos_from_votes(tmp_path / "old.csv", tmp_path / "p.csv")
    with pytest.raises(ValueError, match=r"consensus: expected a value in \(0.5, 1\], got 0.4"):
        mos_from_votes(tmp_path / "v.csv", tmp_path / "p.csv", consensus=0.4)
