"""Consensus traps from the votes themselves (the thesis' >= 90 % agreement), leave-one-out."""

from __future__ import annotations

import csv
import random

import pytest

from semfidelity.training.study import mos_from_votes
from semfidelity.training.traps import consensus_traps, screen_raters


def _item_votes(item, yes, n, first=0):
    """``n`` raters r{first}.. on ``item``: the first ``yes`` answer True."""
    return [(f"r{first + k}", item, k < yes) for k in range(n)]


def test_consensus_traps_on_known_agreement():
    votes = (
        _item_votes("a", 9, 10)  # 90 % yes -> trap, answer yes
        + _item_votes("b", 1, 10)  # 90 % no -> trap, answer no
        + _item_votes("c", 8, 10)  # 80 % -> not a trap
        + _item_votes("d", 18, 20)  # 90 % with more votes
        + _item_votes("e", 9, 9)  # 100 % but only 9 votes
    )
    traps = consensus_traps(votes, agreement=0.9, min_votes=10)
    assert sorted(traps) == ["a", "b", "d"]
    assert traps["a"].answer is True and traps["b"].answer is False
    assert traps["a"].agreement == pytest.approx(0.9) and traps["d"].n_votes == 20
    assert sorted(consensus_traps(votes, agreement=0.8, min_votes=9)) == list("abcde")
    # without r0 (a "yes" everywhere): a 8/9, b 9/9 no, c 7/9, d 17/19, e only 8 votes
    assert sorted(consensus_traps(votes, min_votes=9, exclude_rater="r0")) == ["b"]
    for bad in (0.5, 1.1, True):
        with pytest.raises(ValueError, match="agreement: expected a share in"):
            consensus_traps(votes, agreement=bad)


def test_screening_is_leave_one_out():
    """A rater's own vote never makes the trap it is judged on."""
    votes = _item_votes("a", 10, 11)  # r0..r9 yes, r10 no: 10/11 = 91 % yes
    got = screen_raters(votes, agreement=0.9, min_votes=10)
    # r10 (no): the others are 10/10 yes -> a trap, r10 is wrong.
    # r0 (yes): the others are 9 yes of 10 = 90 % -> a trap, r0 is right.
    assert got["r10"] == (0, 1) and got["r0"] == (1, 1)
    votes = _item_votes("a", 9, 10)  # r9 (no): others 9/9 but only 9 votes < min_votes
    assert screen_raters(votes, agreement=0.9, min_votes=10)["r9"] == (0, 0)
    # against the brute force: consensus_traps(exclude_rater=r) for every rater
    rng = random.Random(0)
    votes = [
        (f"r{k}", i, rng.random() < p)
        for i, p in enumerate(rng.choice((0.02, 0.5, 0.97)) for _ in range(40))
        for k in range(rng.randint(8, 16))
    ]
    fast = screen_raters(votes, agreement=0.9, min_votes=8)
    for r in {v[0] for v in votes}:
        traps = consensus_traps(votes, agreement=0.9, min_votes=8, exclude_rater=r)
        mine = [(i, a) for rr, i, a in votes if rr == r and i in traps]
        assert fast[r] == (sum(a == traps[i].answer for i, a in mine), len(mine))


def test_careless_raters_are_dropped_by_consensus(tmp_path):
    """20 careful raters (5 % slips) and 4 who click at random on 60 pairs; no planted traps."""
    rng = random.Random(1)
    truth = [rng.random() < 0.5 for _ in range(60)]
    rows = [["rater", "reference", "distorted", "semantic_error", "trap"]]
    for k in range(24):
        careless = k >= 20
        for i, t in enumerate(truth):
            ans = rng.random() < 0.5 if careless else (t if rng.random() > 0.05 else not t)
            name = f"{'c' if careless else 'r'}{k}"
            rows.append([name, "g.png", f"s{i}.png", "yes" if ans else "no", ""])
    with open(tmp_path / "v.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    s = mos_from_votes(tmp_path / "v.csv", tmp_path / "p.csv")
    assert s.raters_dropped == ("c20", "c21", "c22", "c23")
    assert s.raters_kept == tuple(sorted(f"r{k}" for k in range(20)))
    careful = [s.consensus_accuracy[r] for r in s.raters_kept]
    assert sum(careful) / len(careful) > 0.9  # 95 % expected: the traps are the clear pairs
    assert max(s.consensus_accuracy[r] for r in s.raters_dropped) < 0.7  # 50 % expected
    off = mos_from_votes(tmp_path / "v.csv", tmp_path / "p2.csv", consensus=None)
    assert off.raters_dropped == () and off.consensus_accuracy == {}
