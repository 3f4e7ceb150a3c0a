"""Agreement statistics between scores and labels.

``srcc`` / ``plcc`` / ``krcc`` equal ``scipy.stats.spearmanr`` / ``pearsonr`` / ``kendalltau``
(tau-b, ties handled; KRCC *is* SciPy's O(n log n) implementation). Undefined correlations (a
constant input) are NaN, as in SciPy. A NaN in either input propagates (the result is NaN, as
SciPy's default ``nan_policy="propagate"``) or raises with ``nan_policy="raise"``.

``plcc(..., fit="logistic4" | "logistic5")`` first maps the scores through the monotone logistic
of the VQEG / IQA protocol, fitted to the labels by least squares, and reports the Pearson
correlation of the fitted values with the labels (see :func:`logistic_fit`).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.optimize
import scipy.stats

from semfidelity._ranks import average_ranks

__all__ = [
    "plcc",
    "srcc",
    "krcc",
    "mse",
    "mse_bin",
    "auroc",
    "iou",
    "rankdata",
    "logistic_fit",
    "FITS",
    "NAN_POLICIES",
]

logger = logging.getLogger(__name__)

FITS = ("none", "logistic4", "logistic5")
NAN_POLICIES = ("propagate", "raise")


def _pair(x, y, nan_policy: str = "propagate") -> tuple[np.ndarray, np.ndarray, bool]:
    """Both inputs as float64 vectors and whether either holds a NaN."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"scores and labels must have one length, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"need at least 2 samples, got {a.size}")
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy: expected one of {NAN_POLICIES}, got {nan_policy!r}")
    nan = bool(np.isnan(a).any() or np.isnan(b).any())
    if nan and nan_policy == "raise":
        where = np.flatnonzero(np.isnan(a) | np.isnan(b))
        raise ValueError(f"scores/labels: NaN at position(s) {where[:10].tolist()} (of {a.size})")
    return a, b, nan


def rankdata(x) -> np.ndarray:
    """Average ranks (1-based) of the flattened input, ties share the mean rank
    (``scipy.stats.rankdata``)."""
    return average_ranks(np.asarray(x, dtype=np.float64).ravel())


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def _logistic4(x, b1, b2, b3, b4):
    # VQEG FR-TV Phase II: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2
    return (b1 - b2) / (1.0 + np.exp(-(x - b3) / (np.abs(b4) + 1e-12))) + b2


def _logistic5(x, b1, b2, b3, b4, b5):
    # Sheikh, Sabir, Bovik 2006 (LIVE): b1 (1/2 - 1/(1 + exp(b2 (x - b3)))) + b4 x + b5
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(b2 * (x - b3)))) + b4 * x + b5


def logistic_fit(x, y, kind: str = "logistic5") -> np.ndarray:
    """Scores ``x`` mapped through a logistic fitted to ``y`` by least squares (SciPy
    ``curve_fit``). ``kind``: ``"logistic4"`` (VQEG FR-TV Phase II) or ``"logistic5"``
    (Sheikh et al. 2006, the form most IQA papers use). The start point follows the direction
    of the data (sign of Spearman's rho), so the fit is monotone the same way.

    Raises ``RuntimeError`` when the least-squares fit does not converge.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if kind not in FITS[1:]:
        raise ValueError(f"kind: expected one of {FITS[1:]}, got {kind!r}")
    sign = 1.0 if _pearson(rankdata(a), rankdata(b)) >= 0 else -1.0
    scale = float(np.std(a)) or 1.0
    if kind == "logistic4":
        lo, hi = (b.min(), b.max()) if sign > 0 else (b.max(), b.min())
        func, p0 = _logistic4, [hi, lo, float(np.mean(a)), scale]
    else:
        func, p0 = _logistic5, [sign * np.ptp(b), 1.0 / scale, float(np.mean(a)), 0.0, b.mean()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in exp while exploring is harmless
        params, _ = scipy.optimize.curve_fit(func, a, b, p0=p0, maxfev=20000)
    return func(a, *params)


def plcc(x, y, *, fit: str = "none", nan_policy: str = "propagate") -> float:
    """Pearson linear correlation coefficient, optionally after a logistic fit (``fit``:
    ``"none"``, ``"logistic4"``, ``"logistic5"``; a fit that does not converge gives NaN and
    a warning in the log)."""
    a, b, nan = _pair(x, y, nan_policy)
    if fit not in FITS:
        raise ValueError(f"fit: expected one of {FITS}, got {fit!r}")
    if nan:
        return float("nan")
    if fit != "none" and np.ptp(a) > 0 and np.ptp(b) > 0:
        try:
            a = logistic_fit(a, b, fit)
        except RuntimeError as exc:
            logger.warning("plcc: %s fit did not converge (%s); PLCC is NaN", fit, exc)
            return float("nan")
    return _pearson(a, b)


def srcc(x, y, *, nan_policy: str = "propagate") -> float:
    """Spearman rank correlation (Pearson on average ranks)."""
    a, b, nan = _pair(x, y, nan_policy)
    return float("nan") if nan else _pearson(rankdata(a), rankdata(b))


def krcc(x, y, *, nan_policy: str = "propagate") -> float:
    """Kendall tau-b (``scipy.stats.kendalltau``: O(n log n), ties handled)."""
    a, b, nan = _pair(x, y, nan_policy)
    if nan or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(scipy.stats.kendalltau(a, b).statistic)


def mse(pred, labels) -> float:
    """Mean squared error (NaN propagates)."""
    a, b, _ = _pair(pred, labels)
    return float(np.mean((a - b) ** 2))


def mse_bin(pred, labels, threshold: float = 0.5) -> float:
    """MSE against the labels binarised at ``threshold`` (label >= threshold -> 1)."""
    a, b, nan = _pair(pred, labels)
    return float("nan") if nan else float(np.mean((a - (b >= threshold)) ** 2))


def auroc(scores, targets) -> float:
    """Area under the ROC curve of ``scores`` for binary ``targets`` (ties count one half)."""
    s, t, nan = _pair(scores, targets)
    pos = t >= 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if nan or n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def iou(pred, target, threshold: float = 0.5) -> float:
    """IoU of ``pred >= threshold`` and ``target >= 0.5`` (1 when both are empty)."""
    p = np.asarray(pred, dtype=np.float64).ravel() >= threshold
    t = np.asarray(target, dtype=np.float64).ravel() >= 0.5
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have one size, got {p.size} and {t.size}")
    union = (p | t).sum()
    return float((p & t).sum() / union) if union else 1.0
