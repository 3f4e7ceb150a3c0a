"""ensemble(): top-k fusion and the uncertainty map."""

from __future__ import annotations

import pytest
import torch

from semfidelity.selection import ensemble, rank


class FixedJudge:
    def __init__(self, order):
        self.order = order

    def rank(self, images):
        return list(self.order)


def test_mean_and_median_of_the_top_k():
    c = torch.rand(5, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    r = rank(c, scorers=("vlm",), judge=FixedJudge([4, 1, 3, 0, 2]))
    image, unc = ensemble(c, r, k=3)
    torch.testing.assert_close(image, c[[4, 1, 3]].mean(0))
    assert unc.shape == (6, 7)
    torch.testing.assert_close(unc, c.std(0, correction=0).mean(0))
    med, _ = ensemble(c, r, k=3, reducer="median")
    torch.testing.assert_close(med, c[[4, 1, 3]].median(0).values)
    one, _ = ensemble(c, r, k=1)
    torch.testing.assert_close(one, c[4])


def test_identical_candidates_have_zero_uncertainty():
    c = torch.rand(1, 3, 5, 5).expand(4, -1, -1, -1)
    r = rank(c, scorers=("consensus",))
    image, unc = ensemble(c, r, k=4)
    torch.testing.assert_close(image, c[0])
    assert float(unc.abs().max()) == 0.0


def test_errors():
    c = torch.rand(3, 3, 5, 5)
    r = rank(c, scorers=("consensus",))
    for k in (0, 4, 2.0):
        with pytest.raises(ValueError, match=r"k: expected an int in \[1, 3\]"):
            ensemble(c, r, k=k)
    with pytest.raises(ValueError, match="reducer"):
        ensemble(c, r, k=2, reducer="max")
    with pytest.raises(ValueError, match="ranking"):
        ensemble(c[:2], r, k=2)


def test_uncertainty_over_all_or_top_k():
    g = torch.Generator().manual_seed(1)
    base = torch.rand(1, 3, 6, 7, generator=g)
    # the two best are close copies, the two worst far off: the spread of the top 2 is small
    c = torch.cat([base, base + 0.01, base + 0.3, base - 0.3]).clamp(0, 1)
    r = rank(c, scorers=("vlm",), judge=FixedJudge([0, 1, 2, 3]))
    _, default = ensemble(c, r, k=2)
    _, over_all = ensemble(c, r, k=2, uncertainty_over="all")
    _, over_top = ensemble(c, r, k=2, uncertainty_over="top_k")
    torch.testing.assert_close(default, over_all)
    torch.testing.assert_close(over_top, c[[0, 1]].std(0, correction=0).mean(0))
    assert float(over_top.mean()) < float(over_all.mean())
    _, single = ensemble(c, r, k=1, uncertainty_over="top_k")
    assert float(single.abs().max()) == 0.0
    with pytest.raises(ValueError, match="uncertainty_over: expected one of"):
        ensemble(c, r, k=2, uncertainty_over="top")
