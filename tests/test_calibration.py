"""fit_tws_mix: recovers a known mix from MOS and from pairwise preferences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import semfidelity
from semfidelity.calibration import fit_tws_mix, pairwise_accuracy, spearman

TRUE_W = np.array([0.47, 0.21, 0.32])  # off the 0.02 grid: the refinement has to find it


@pytest.fixture(scope="module")
def components() -> np.ndarray:
    return np.random.default_rng(0).random((400, 3))


def test_exported_from_package():
    assert semfidelity.fit_tws_mix is fit_tws_mix


def test_deprecated_name_warns_and_gives_the_same_fit(components):
    mos = components @ np.asarray(TRUE_W)
    want_mix, want = fit_tws_mix(components, mos)
    with pytest.warns(DeprecationWarning, match="fit_tws_mix"):
        mix, report = semfidelity.fit_tws_weights(components, mos)
    assert mix == want_mix and report["weights"] == report["mix"] == want["mix"]


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, size=(80, 4)).astype(float)
    y = rng.integers(0, 10, size=80).astype(float)
    want = [spearmanr(x[:, k], y)[0] for k in range(4)]
    np.testing.assert_allclose(spearman(x, y), want, atol=1e-12)
    assert spearman(np.ones(5), np.arange(5.0)) == -np.inf


def test_recovers_known_weights_from_mos(components):
    mos = 1.0 + 4.0 / (1.0 + np.exp(-8.0 * (components @ TRUE_W - 0.5)))  # monotone, like MOS
    weights, report = fit_tws_mix(
        {"semantic": components[:, 0], "edge": components[:, 1], "wavelet": components[:, 2]},
        mos,
    )
    assert report["objective"] == "srcc" and report["value"] > 0.9999
    np.testing.assert_allclose(weights, TRUE_W, atol=0.03)
    assert min(weights) >= 0 and sum(weights) == pytest.approx(1.0)
    assert report["value"] >= report["uniform"]
    assert report["value"] >= max(report["single_component"].values())
    assert report["single_component"]["semantic"] == pytest.approx(
        spearmanr(components[:, 0], mos)[0]
    )


def test_noisy_mos_still_beats_uniform_and_lands_near_truth(components):
    rng = np.random.default_rng(2)
    mos = components @ TRUE_W + rng.normal(0, 0.02, size=len(components))
    weights, report = fit_tws_mix(components, mos)
    assert report["value"] > report["uniform"]
    np.testing.assert_allclose(weights, TRUE_W, atol=0.08)


def test_recovers_known_weights_from_pairwise_preferences(components):
    rng = np.random.default_rng(3)
    truth = components @ TRUE_W
    i, j = rng.integers(0, len(truth), size=(2, 3000))
    keep = i != j
    i, j = i[keep], j[keep]
    pairs = np.stack([np.where(truth[i] > truth[j], i, j), np.where(truth[i] > truth[j], j, i)], 1)
    weights, report = fit_tws_mix(components, pairs, kind="pairwise")
    assert report["objective"] == "pairwise_accuracy" and report["value"] == 1.0
    assert report["n_pairs"] == len(pairs)
    np.testing.assert_allclose(weights, TRUE_W, atol=0.03)


def test_soft_pairwise_preferences_and_torch_inputs():
    comps = torch.tensor([[0.9, 0.1, 0.5], [0.1, 0.9, 0.5], [0.5, 0.5, 0.0]])
    # people always prefer image 0 (high semantic) over image 1, 2 over nothing in particular
    pairs = np.array([[0, 1, 1.0], [1, 0, 0.0], [0, 2, 0.8]])
    weights, report = fit_tws_mix(comps, pairs, kind="pairwise")
    assert report["value"] == pytest.approx(pairwise_accuracy(comps.numpy() @ weights, pairs))
    assert weights[0] > weights[1]


@pytest.mark.parametrize(
    "components, human, kind, match",
    [
        (np.zeros((5, 3)), np.zeros(5), "srcc", "kind"),
        (np.zeros((5, 2)), np.zeros(5), "mos", r"components.*\(N, 3\)"),
        ({"semantic": [1, 2], "edge": [1, 2]}, [1, 2], "mos", "missing.*wavelet"),
        (np.zeros((5, 3)), np.zeros(4), "mos", "human: expected 5"),
        (np.zeros((5, 3)), [[0, 7]], "pairwise", r"indices.*\[0, 4\]"),
        (np.zeros((5, 3)), [0, 1], "pairwise", r"human.*\(M, 2\)"),
        (np.full((5, 3), np.nan), np.zeros(5), "mos", "NaN"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(components, human, kind, match):
    with pytest.raises(ValueError, match=match):
        fit_tws_mix(components, human, kind=kind)
