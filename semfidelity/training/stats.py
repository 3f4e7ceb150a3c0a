"""Agreement statistics between scores and labels (NumPy; no SciPy dependency).

``srcc`` / ``plcc`` / ``krcc`` match ``scipy.stats.spearmanr`` / ``pearsonr`` / ``kendalltau``
(tau-b, ties handled); undefined correlations (a constant input) are NaN, as in SciPy.
"""

from __future__ import annotations

import numpy as np

from semfidelity._ranks import average_ranks

__all__ = ["plcc", "srcc", "krcc", "mse", "mse_bin", "auroc", "iou", "rankdata"]


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"scores and labels must have one length, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"need at least 2 samples, got {a.size}")
    return a, b


def rankdata(x) -> np.ndarray:
    """Average ranks (1-based) of the flattened input, ties share the mean rank
    (``scipy.stats.rankdata``)."""
    return average_ranks(np.asarray(x, dtype=np.float64).ravel())


def plcc(x, y) -> float:
    """Pearson linear correlation coefficient."""
    a, b = _pair(x, y)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def srcc(x, y) -> float:
    """Spearman rank correlation (Pearson on average ranks)."""
    a, b = _pair(x, y)
    return plcc(rankdata(a), rankdata(b))


def krcc(x, y) -> float:
    """Kendall tau-b (ties in either input handled as in ``scipy.stats.kendalltau``)."""
    a, b = _pair(x, y)
    concordant = discordant = 0.0
    ties_a = ties_b = 0.0
    chunk = max(1, 4_000_000 // a.size)
    for s in range(0, a.size, chunk):
        da = np.sign(a[s : s + chunk, None] - a[None, :])
        db = np.sign(b[s : s + chunk, None] - b[None, :])
        prod = da * db
        concordant += (prod > 0).sum()
        discordant += (prod < 0).sum()
        ties_a += ((da == 0) & (db != 0)).sum()
        ties_b += ((db == 0) & (da != 0)).sum()
    # every unordered pair was counted twice
    den = np.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return float((concordant - discordant) / den) if den > 0 else float("nan")


def mse(pred, labels) -> float:
    """Mean squared error."""
    a, b = _pair(pred, labels)
    return float(np.mean((a - b) ** 2))


def mse_bin(pred, labels, threshold: float = 0.5) -> float:
    """MSE against the labels binarised at ``threshold`` (label >= threshold -> 1)."""
    a, b = _pair(pred, labels)
    return float(np.mean((a - (b >= threshold)) ** 2))


def auroc(scores, targets) -> float:
    """Area under the ROC curve of ``scores`` for binary ``targets`` (ties count one half)."""
    s, t = _pair(scores, targets)
    pos = t >= 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
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
