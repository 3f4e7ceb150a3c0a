"""Agreement statistics vs scipy.stats, orientation handling, and the semfid-eval CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from semfidelity.cli.eval import main
from semfidelity.training import evaluate_metrics, stats
from semfidelity.training.evaluate import error_scores

values = st.lists(st.integers(0, 6), min_size=3, max_size=40)


@settings(max_examples=60, deadline=None)
@given(values, st.data())
def test_correlations_match_scipy_with_ties(xs, data):
    ys = data.draw(st.lists(st.integers(0, 3), min_size=len(xs), max_size=len(xs)))
    x, y = np.array(xs, float), np.array(ys, float)
    pairs = [
        (stats.srcc, lambda a, b: scipy.stats.spearmanr(a, b)[0]),
        (stats.plcc, lambda a, b: scipy.stats.pearsonr(a, b)[0]),
        (stats.krcc, lambda a, b: scipy.stats.kendalltau(a, b)[0]),
    ]
    for ours, ref in pairs:
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            assert math.isnan(ours(x, y))
        else:
            assert ours(x, y) == pytest.approx(ref(x, y), abs=1e-10)


def test_nan_propagates_like_scipy_or_raises():
    x, y = np.array([1.0, 2.0, np.nan, 4.0, 5.0]), np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    assert math.isnan(scipy.stats.spearmanr(x, y)[0])
    for f in (stats.srcc, stats.plcc, stats.krcc, stats.mse, stats.mse_bin, stats.auroc):
        assert math.isnan(f(x, y)) and math.isnan(f(y, x)), f.__name__
    for f in (stats.srcc, stats.plcc, stats.krcc):
        with pytest.raises(ValueError, match=r"NaN at position\(s\) \[2\]"):
            f(x, y, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy"):
        stats.srcc(x, y, nan_policy="omit")


def test_krcc_is_scipy_tau_b_on_large_inputs_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, 20_000).astype(float)
    b = a + rng.integers(0, 30, 20_000)
    assert stats.krcc(a, b) == pytest.approx(scipy.stats.kendalltau(a, b)[0], abs=1e-12)


@pytest.mark.parametrize("fit", ["logistic4", "logistic5"])
def test_logistic_fit_recovers_a_monotone_nonlinear_relation(fit):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 400)
    truth = 1 / (1 + np.exp(-(x - 0.4) * 12))
    y = truth + rng.normal(0, 0.03, x.size)
    fitted = stats.logistic_fit(x, y, fit)
    assert np.abs(fitted - truth).max() < 0.05
    linear, logistic = stats.plcc(x, y), stats.plcc(x, y, fit=fit)
    assert logistic > linear + 0.02 and logistic > 0.98
    # the fit absorbs an affine change (and the direction) of the scores
    assert stats.plcc(-3 * x + 2, y, fit=fit) == pytest.approx(logistic, abs=1e-6)
    assert stats.plcc(x, y, fit="none") == stats.plcc(x, y)
    with pytest.raises(ValueError, match="fit"):
        stats.plcc(x, y, fit="cubic")


def test_auroc_iou_mse_against_references():
    rng = np.random.default_rng(0)
    s, t = rng.random(200), rng.random(200) > 0.6
    # AUROC equals the Mann-Whitney U statistic over n_pos * n_neg
    u = scipy.stats.mannwhitneyu(s[t], s[~t]).statistic
    assert stats.auroc(s, t) == pytest.approx(u / (t.sum() * (~t).sum()))
    assert stats.iou([0.9, 0.2, 0.7, 0.1], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert stats.mse([0.2, 0.8], [0.0, 1.0]) == pytest.approx(0.04)
    assert stats.mse_bin([0.2, 0.8], [0.4, 0.6]) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="one length"):
        stats.srcc([1, 2, 3], [1, 2])


def test_orientation_makes_agreement_positive_for_both_directions():
    labels = np.array([0, 0, 1, 1, 0.5])
    dist = np.array([0.1, 0.2, 0.9, 0.8, 0.5])  # lower-better, range [0, 1]
    sim = 1 - dist  # higher-better, range [0, 1]
    e1, n1, r1 = error_scores(dist, lower_better=True, score_range=(0.0, 1.0))
    e2, n2, r2 = error_scores(sim, lower_better=False, score_range=(0.0, 1.0))
    assert np.allclose(n1, n2) and r1 == r2 == "range"
    assert stats.srcc(e1, labels) == stats.srcc(e2, labels) > 0.9
    psnr = np.array([40.0, 35.0, 15.0, 20.0, 25.0])  # open range -> min-max
    e3, n3, r3 = error_scores(psnr, lower_better=False, score_range=(0.0, math.inf))
    assert r3 == "minmax" and n3.min() == 0 and n3.max() == 1 and n3[2] == 1
    raw = np.array([0.1, 1.3, 0.0])  # a trained regressor may leave [0, 1]
    e4, n4, r4 = error_scores(raw, lower_better=True, score_range=(0.0, math.inf), normalise="none")
    assert r4 == "raw" and np.array_equal(n4, raw) and np.array_equal(e4, raw)
    with pytest.raises(ValueError, match="higher-better"):
        error_scores(psnr, lower_better=False, score_range=(0.0, math.inf), normalise="none")


def test_eval_cli_table_and_json(val_csv, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert (
        main(["--metrics", "psnr", "--pairs", str(val_csv), "--json", str(out), "--no-progress"])
        == 0
    )
    table = capsys.readouterr().out
    assert table.startswith("| metric | SRCC | PLCC | KRCC | MSE | MSE-BIN | n |")
    res = json.loads(out.read_text())["metrics"]["psnr"]
    # PSNR is higher-better: after flipping it must agree with "1 = changed" labels
    assert res["srcc"] > 0.3 and res["normalisation"] == "minmax" and res["n"] == 48
    direct = evaluate_metrics(["psnr"], val_csv, progress=False)["psnr"]
    assert direct["srcc"] == pytest.approx(res["srcc"])
    # PSNR agrees with "1 = changed" labels by falling: its signed SRCC is the negative one
    assert res["srcc_signed"] == pytest.approx(-res["srcc"])


def test_eval_cli_thesis_table_and_logistic_plcc(val_csv, tmp_path, capsys):
    out = tmp_path / "r.json"
    args = ["--metrics", "psnr,ssim", "--pairs", str(val_csv), "--no-progress"]
    assert main([*args, "--table", "thesis", "--plcc-fit", "logistic5", "--json", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| metric | MSE | MSE-bin | SRCC | n |"
    res = json.loads(out.read_text())["metrics"]
    for name, line in zip(("psnr", "ssim"), lines[2:]):
        assert line.startswith(f"| {name} | ") and f"| {res[name]['srcc_signed']:+.4f} |" in line
        assert res[name]["srcc_signed"] < 0 and res[name]["plcc_fit"] == "logistic5"
        assert 0 < res[name]["plcc"] <= 1


def test_eval_cli_usage_errors(val_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--metrics", "psnrr", "--pairs", str(val_csv)])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["--metrics", "psnr", "--pairs", str(val_csv), "-o", "nodot=1"])
    assert main(["--metrics", "psnr", "--pairs", str(val_csv) + ".missing"]) == 1
    assert "not found" in capsys.readouterr().err
