"""rank(): scorer resolution, rank arithmetic, errors, consensus and VLM scorers."""

from __future__ import annotations

import pytest
import torch

from semfidelity.selection import (
    ConsensusScorer,
    Ranking,
    ScorerResult,
    TWSScorer,
    VLMScorer,
    rank,
)
from semfidelity.selection.rank import resolve_scorers


def smooth_set(n: int = 5, seed: int = 0) -> torch.Tensor:
    """``n`` noisy versions of one smooth image (distinct noise levels)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(48, 40))
    levels = torch.linspace(0.01, 0.08, n)[:, None, None, None]
    return (base + levels * torch.randn(n, 3, 48, 40, generator=g)).clamp(0, 1)


class FixedJudge:
    def __init__(self, order):
        self.order = order

    def rank(self, images):
        return list(self.order)


def names(scorers):
    return [s.name for s in scorers]


def test_auto_resolution():
    kw = dict(has_reference=False, has_lr=False, has_judge=False)
    assert names(resolve_scorers(("auto",), **kw)) == ["consensus"]
    with_lr = {**kw, "has_lr": True}
    assert names(resolve_scorers("auto", **with_lr)) == ["faithful_realism"]
    assert names(resolve_scorers(("auto",), **{**with_lr, "has_reference": True})) == ["tws"]
    assert names(resolve_scorers(("auto",), **{**kw, "has_judge": True})) == ["consensus", "vlm"]
    # reference + judge: the judge selects and the reference only validates, unless asked
    both = {**with_lr, "has_reference": True, "has_judge": True}
    assert names(resolve_scorers("auto", **both)) == ["faithful_realism", "vlm"]
    assert names(resolve_scorers("auto", **both, reference_role="select")) == ["tws", "vlm"]
    with pytest.raises(ValueError, match="reference_role: 'validate'.*'tws'"):
        resolve_scorers(("tws", "vlm"), **both)
    with pytest.raises(ValueError, match="reference_role: expected one of"):
        resolve_scorers("auto", **both, reference_role="judge")
    assert names(resolve_scorers(("consensus", VLMScorer()), **kw)) == ["consensus", "vlm"]
    with pytest.raises(ValueError, match="unknown scorer 'psnr'.*lr_consistency"):
        resolve_scorers(("psnr",), **kw)
    with pytest.raises(ValueError, match="given twice"):
        resolve_scorers(("consensus", "consensus"), **kw)
    with pytest.raises(TypeError, match="scorers"):
        resolve_scorers((3,), **kw)


def test_combined_rank_is_mean_of_ranks_with_ties():
    c = smooth_set(4)
    r = rank(c, scorers=("consensus", "vlm"), judge=FixedJudge([3, 1, 0, 2]))
    assert isinstance(r, Ranking)
    assert r.ranks["vlm"] == [3.0, 2.0, 4.0, 1.0]
    assert r.scores["vlm"] == pytest.approx([1 / 3, 2 / 3, 0.0, 1.0])
    for i in range(4):
        assert r.combined[i] == pytest.approx((r.ranks["consensus"][i] + r.ranks["vlm"][i]) / 2)
    assert sorted(r.order, key=lambda i: r.combined[i]) == r.order
    assert r.best == r.order[0] and r.top(2) == r.order[:2]

    class Tied:
        name = "tied"

        def __call__(self, candidates, context):
            return ScorerResult(torch.tensor([1.0, 2.0, 2.0, 0.5]))

    t = rank(c, scorers=(Tied(),), names=list("abcd"))
    assert t.ranks["tied"] == [3.0, 1.5, 1.5, 4.0]
    assert t.order == [1, 2, 0, 3]  # ties broken by index, but reported
    assert t.ties == [[1, 2]]
    assert [row["tie"] for row in t.to_rows()] == [1, 1, 0, 0]
    assert any(w.startswith("tie: b, c share combined rank 1.5") for w in t.warnings)
    assert r.ties == [] or all(len(g) > 1 for g in r.ties)


def test_to_rows_columns():
    r = rank(smooth_set(3), scorers=("consensus",), names=["a", "b", "c"])
    rows = r.to_rows()
    assert [row["position"] for row in rows] == [1, 2, 3]
    assert [row["index"] for row in rows] == r.order
    assert rows[0]["name"] == "abc"[r.order[0]]
    assert set(rows[0]) == {
        "position", "index", "name", "combined_rank", "tie", "consensus_score", "consensus_rank",
        "consensus_mae", "consensus_worst",
    }  # fmt: skip


def test_consensus_detects_a_local_outlier_and_is_permutation_equivariant():
    c = smooth_set(6, seed=3)
    c[2, :, 10:22, 8:20] = 1.0 - c[2, :, 10:22, 8:20]  # foreign content in one candidate
    r = rank(c, scorers=("consensus",))
    assert r.order[-1] == 2
    perm = torch.tensor([5, 2, 0, 4, 1, 3])
    rp = rank(c[perm], scorers=("consensus",))
    assert rp.scores["consensus"] == pytest.approx([r.scores["consensus"][i] for i in perm])
    same = rank(c[:1].expand(3, -1, -1, -1), scorers=("consensus",))
    assert same.scores["consensus"] == [1.0, 1.0, 1.0]


def test_tws_scorer_with_prebuilt_metric():
    c = smooth_set(3)
    ref = c[:1]
    calls = []

    def fake_tws(pred, target):
        calls.append((pred.shape, target.shape))
        return -((pred - target) ** 2).mean(dim=(1, 2, 3))

    r = rank(c, reference=ref, scorers=(TWSScorer(metric=fake_tws),))
    assert calls == [((3, 3, 48, 40), (1, 3, 48, 40))]
    assert r.order[0] == 0
    with pytest.raises(TypeError, match="not both"):
        TWSScorer(metric=fake_tws, clip_model="x")


def test_errors_name_the_argument():
    c = smooth_set(3)
    with pytest.raises(ValueError, match="at least 2 candidates"):
        rank(c[:1])
    with pytest.raises(ValueError, match=r"candidates: expected shape \(N, 3, H, W\)"):
        rank(c[:, :1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rank(c * 3)
    with pytest.raises(ValueError, match="reference: scorer 'tws' needs"):
        rank(c, scorers=("tws",))
    with pytest.raises(ValueError, match=r"reference: expected shape \(1, 3, 48, 40\)"):
        rank(c, reference=torch.rand(1, 3, 40, 40))
    with pytest.raises(ValueError, match="lr: scorer 'lr_consistency' needs"):
        rank(c, scorers=("lr_consistency",))
    with pytest.raises(ValueError, match="scale: required together with lr.*scale=4"):
        rank(c, lr=torch.rand(1, 3, 12, 10))
    with pytest.raises(ValueError, match="need an LR image of size 24x20, got 12x10"):
        rank(c, lr=torch.rand(1, 3, 12, 10), scale=2)
    with pytest.raises(ValueError, match="scale: given"):
        rank(c, scale=4)
    with pytest.raises(ValueError, match="judge: scorer 'vlm' needs a judge"):
        rank(c, scorers=("vlm",))
    with pytest.raises(ValueError, match="permutation of range"):
        rank(c, scorers=("vlm",), judge=FixedJudge([0, 0, 1]))
    with pytest.raises(ValueError, match="names: expected 3"):
        rank(c, scorers=("consensus",), names=["a"])
    with pytest.raises(ValueError, match="window"):
        ConsensusScorer(window=0)


def test_lr_consistency_prefers_the_candidate_that_downscales_to_the_input():
    c = smooth_set(4, seed=5)
    lr = torch.nn.functional.interpolate(c[1:2], size=(24, 20), mode="bicubic", antialias=True)
    lr = lr.clamp(0, 1)
    r = rank(c, lr=lr, scale=2, scorers=("lr_consistency",))
    assert r.order[0] == 1
    assert r.details["lr_psnr"][1] > 60 and r.details["lr_ssim"][1] == pytest.approx(1, abs=1e-4)
    assert all(0 <= s <= 1 for s in r.scores["lr_consistency"])
    # a brighter copy keeps the structure (SSIM) but not the intensities (PSNR)
    shifted = rank(torch.stack([c[1], (c[1] + 0.2).clamp(0, 1)]), lr=lr, scale=2)  # auto
    assert shifted.order == [0, 1] and shifted.details["lr_psnr"][1] < 20
    small = torch.nn.functional.interpolate(c[:1], size=(6, 5), mode="area")
    with pytest.raises(ValueError, match="lr: the LR image .6x5. is smaller"):
        rank(c, lr=small, scale=8, scorers=("lr_consistency",))


def test_tws_scorer_with_a_tiny_clip_ranks_the_reference_first():
    from tiny_clip import TINY_CLIP_OPTIONS, make_tiny_clip

    from semfidelity import create_metric

    make_tiny_clip()
    c = smooth_set(4, seed=6)
    reference = c[2:3].clone()
    r = rank(c, reference=reference, scorers=(TWSScorer(**TINY_CLIP_OPTIONS),))
    assert r.order[0] == 2 and r.scores["tws"][2] == pytest.approx(1.0, abs=1e-4)
    assert all(0 <= s <= 1 for s in r.scores["tws"])
    metric = create_metric("tws", device="cpu", **TINY_CLIP_OPTIONS)
    prebuilt = rank(c, reference=reference, scorers=(TWSScorer(metric=metric),))
    assert prebuilt.scores["tws"] == pytest.approx(r.scores["tws"], abs=1e-5)


def test_reference_validates_and_the_judge_selects_by_default():
    c = smooth_set(4, seed=7)
    reference = c[3:4].clone()
    judge = FixedJudge([0, 1, 2, 3])
    fake = TWSScorer(metric=lambda p, t: 1 - ((p - t) ** 2).mean(dim=(1, 2, 3)))
    r = rank(c, reference=reference, judge=judge, scorers=("vlm",), validator=fake)
    assert r.order == [0, 1, 2, 3] and set(r.scores) == {"vlm"}  # TWS did not select
    assert max(range(4), key=lambda i: r.validation["tws"][i]) == 3
    assert r.to_rows()[0]["tws_validation"] == r.validation["tws"][0]
    mixed = rank(
        c, reference=reference, judge=judge, scorers=(fake, "vlm"), reference_role="select",
        names=list("abcd"),
    )  # fmt: skip
    assert set(mixed.scores) == {"tws", "vlm"} and mixed.validation == {}
    assert mixed.combined == [(mixed.ranks["tws"][i] + mixed.ranks["vlm"][i]) / 2 for i in range(4)]
    assert mixed.ranks["tws"][3] == 1.0
    with pytest.raises(ValueError, match="reference_role"):
        rank(c, reference=reference, judge=judge, scorers=(fake, "vlm"))
