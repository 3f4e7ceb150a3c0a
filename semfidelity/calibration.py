"""Fit the TWS mix (the weights of its components) to human judgements.

:func:`fit_tws_mix` searches the probability simplex (non-negative weights summing to 1) for
the weights ``(w_sem, w_edge, w_wav)`` whose TWS best agrees with people: Spearman rank
correlation (SRCC) with mean opinion scores, or accuracy on pairwise preferences. Both
objectives are piecewise constant in the weights, so the search is a grid on the simplex
followed by a shrinking pattern search, not gradient descent.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semfidelity._ranks import average_ranks

__all__ = [
    "COMPONENT_NAMES",
    "fit_tws_mix",
    "fit_tws_weights",
    "pairwise_accuracy",
    "spearman",
]

logger = logging.getLogger(__name__)

#: Order of the TWS components (and of the fitted weights).
COMPONENT_NAMES = ("semantic", "edge", "wavelet")


def spearman(scores: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each column of ``scores`` (N,) or (N, G) with ``human`` (N,).

    A constant column has no defined correlation and gets ``-inf`` (never selected).
    """
    scores = np.asarray(scores, dtype=np.float64)
    squeeze = scores.ndim == 1
    rs = average_ranks(scores if not squeeze else scores[:, None])
    rh = average_ranks(human)
    rs = rs - rs.mean(axis=0)
    rh = rh - rh.mean()
    denom = np.sqrt((rs**2).sum(axis=0) * (rh**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(denom > 0, (rs * rh[:, None]).sum(axis=0) / denom, -np.inf)
    return rho[0] if squeeze else rho


def pairwise_accuracy(scores: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Share of human preferences that ``scores`` (higher = better) agree with.

    ``pairs`` is ``(M, 3)``: ``(i, j, p)`` with ``p`` the fraction of people preferring image
    ``i`` over ``j``. A tie in the scores counts one half. ``scores`` (N,) or (N, G).
    """
    scores = np.asarray(scores, dtype=np.float64)
    squeeze = scores.ndim == 1
    s = scores[:, None] if squeeze else scores
    i, j, p = pairs[:, 0].astype(int), pairs[:, 1].astype(int), pairs[:, 2:3]
    d = s[i] - s[j]
    agree = p * (d > 0) + (1.0 - p) * (d < 0) + 0.5 * (d == 0)
    acc = agree.mean(axis=0)
    return acc[0] if squeeze else acc


def _components_matrix(components: Any) -> np.ndarray:
    if isinstance(components, Mapping):
        missing = [k for k in COMPONENT_NAMES if k not in components]
        if missing:
            raise ValueError(
                f"components: expected keys {COMPONENT_NAMES}, missing {missing} "
                f"(got {sorted(components)})"
            )
        cols = [
            np.asarray(_to_numpy(components[k]), dtype=np.float64).reshape(-1)
            for k in COMPONENT_NAMES
        ]
        if len({c.shape[0] for c in cols}) != 1:
            raise ValueError(
                f"components: all components need the same length, got "
                f"{ {k: c.shape[0] for k, c in zip(COMPONENT_NAMES, cols)} }"
            )
        mat = np.stack(cols, axis=1)
    else:
        mat = np.asarray(_to_numpy(components), dtype=np.float64)
        if mat.ndim != 2 or mat.shape[1] != 3:
            raise ValueError(
                f"components: expected a dict of {COMPONENT_NAMES} or an (N, 3) array, "
                f"got shape {mat.shape}"
            )
    if mat.shape[0] < 2:
        raise ValueError(f"components: need at least 2 images, got {mat.shape[0]}")
    if not np.isfinite(mat).all():
        raise ValueError("components: contains NaN or Inf values")
    return mat


def _to_numpy(x: Any) -> Any:
    # torch tensors (possibly on GPU / with grad) without importing torch here
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    return x


def _pairs_matrix(human: Any, n: int) -> np.ndarray:
    pairs = np.asarray(_to_numpy(human), dtype=np.float64)
    if pairs.ndim != 2 or pairs.shape[1] not in (2, 3) or pairs.shape[0] == 0:
        raise ValueError(
            "human: for kind='pairwise' expected an (M, 2) array of (preferred, other) image "
            f"indices or (M, 3) of (i, j, fraction preferring i), got shape {pairs.shape}"
        )
    if pairs.shape[1] == 2:
        pairs = np.concatenate([pairs, np.ones((pairs.shape[0], 1))], axis=1)
    idx = pairs[:, :2]
    if (idx != np.round(idx)).any() or idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"human: pair indices must be integers in [0, {n - 1}]")
    if pairs[:, 2].min() < 0 or pairs[:, 2].max() > 1:
        raise ValueError("human: preference fractions (third column) must lie in [0, 1]")
    return pairs


def _simplex_grid(step: float) -> np.ndarray:
    k = int(round(1.0 / step))
    pts = [(a, b, k - a - b) for a in range(k + 1) for b in range(k + 1 - a)]
    return np.asarray(pts, dtype=np.float64) / k


def _refine(
    objective, w: np.ndarray, best: float, step: float, min_step: float
) -> tuple[np.ndarray, float, int]:
    """Pattern search on the simplex: move weight between pairs of components, halve on failure."""
    moves = [(a, b) for a in range(3) for b in range(3) if a != b]
    evals = 0
    while step >= min_step:
        cands = []
        for a, b in moves:
            c = w.copy()
            delta = min(step, c[b])
            if delta <= 0:
                continue
            c[a] += delta
            c[b] -= delta
            cands.append(c)
        vals = objective(np.stack(cands, axis=1))
        evals += len(cands)
        k = int(np.argmax(vals))
        if vals[k] > best + 1e-12:
            w, best = cands[k], float(vals[k])
        else:
            step /= 2.0
    return w, best, evals


def fit_tws_mix(
    components: Mapping[str, Any] | Any,
    human: Sequence[float] | Sequence[Sequence[float]] | Any,
    kind: str = "mos",
    *,
    step: float = 0.02,
) -> tuple[tuple[float, float, float], dict[str, Any]]:
    """Fit the TWS mix, non-negative weights summing to 1, to human judgements.

    Args:
        components: per-image component scores, a dict with ``semantic``, ``edge``, ``wavelet``
            (each length N; e.g. ``tws.components(pred, target)`` concatenated over a dataset)
            or an ``(N, 3)`` array in that order.
        human: ``kind="labels"``: N labels in the library's orientation (1 = semantic error,
            0 = faithful; a pair CSV's ``PairRecord.label``, ``mos_from_votes`` output).
            ``kind="mos"``: N quality opinion scores, higher = better (e.g. an IQA dataset's
            MOS). ``kind="pairwise"``: ``(M, 2)`` index pairs ``(preferred, other)``, or
            ``(M, 3)`` rows ``(i, j, p)`` with ``p`` the fraction of raters preferring ``i``.
        kind: names the orientation of ``human`` (arrays carry no declaration): ``"labels"``
            (maximise SRCC with ``-label``), ``"mos"`` (maximise SRCC with the MOS) or
            ``"pairwise"`` (maximise preference accuracy). TWS is higher = better, so the
            objective is positive when the mix agrees with people in every kind.
        step: grid spacing on the simplex before the local refinement (0.02 -> 1326 points).

    Returns:
        ``(mix, report)``: ``mix = (w_sem, w_edge, w_wav)``, the ``mix`` option of ``tws``;
        ``report`` holds the objective name and value, the same for uniform weights and for
        each component alone, the size of the optimal plateau on the grid and the number of
        evaluations.

    The objective is flat on regions of the simplex; the returned weights are the centroid of
    the best grid points when that centroid is itself optimal (a stable, central choice), then
    refined by pattern search.
    """
    if kind not in ("labels", "mos", "pairwise"):
        raise ValueError(f"kind: expected 'labels', 'mos' or 'pairwise', got {kind!r}")
    if not (isinstance(step, float | int) and 0 < step <= 0.5):
        raise ValueError(f"step: expected a number in (0, 0.5], got {step!r}")
    comps = _components_matrix(components)
    n = comps.shape[0]
    if kind in ("labels", "mos"):
        target = np.asarray(_to_numpy(human), dtype=np.float64).reshape(-1)
        if target.shape[0] != n:
            raise ValueError(f"human: expected {n} scores (one per image), got {target.shape[0]}")
        if not np.isfinite(target).all():
            raise ValueError("human: contains NaN or Inf values")
        if kind == "labels":
            if target.min() < 0 or target.max() > 1:
                raise ValueError(
                    "human: kind='labels' expects labels in [0, 1] (1 = semantic error), got "
                    f"values in [{target.min():g}, {target.max():g}]; quality scores "
                    "(higher = better) go with kind='mos'"
                )
            target = -target  # higher = better, like TWS

        def objective(w: np.ndarray) -> np.ndarray:
            return spearman(comps @ w, target)

        name = "srcc"
    else:
        pairs = _pairs_matrix(human, n)

        def objective(w: np.ndarray) -> np.ndarray:
            return pairwise_accuracy(comps @ w, pairs)

        name = "pairwise_accuracy"

    grid = _simplex_grid(float(step))
    values = objective(grid.T)
    best = float(values.max())
    plateau = grid[values >= best - 1e-12]
    w = plateau.mean(axis=0)
    centroid_value = float(objective(w[:, None])[0])
    if centroid_value < best - 1e-12:
        w = grid[int(np.argmax(values))]
    else:
        best = centroid_value
    w, best, evals = _refine(objective, w, best, float(step) / 2.0, 1e-4)
    w = np.clip(w, 0.0, None)
    w = w / w.sum()
    eye = np.eye(3)
    report = {
        "kind": kind,
        "objective": name,
        "value": best,
        "uniform": float(objective(np.full((3, 1), 1.0 / 3.0))[0]),
        "single_component": {
            k: float(v) for k, v in zip(COMPONENT_NAMES, objective(eye), strict=True)
        },
        "mix": dict(zip(COMPONENT_NAMES, (float(x) for x in w), strict=True)),
        "n_images": n,
        "n_pairs": int(pairs.shape[0]) if kind == "pairwise" else None,
        "grid_step": float(step),
        "plateau_size": int(plateau.shape[0]),
        "evaluations": int(grid.shape[0] + 1 + evals),
    }
    logger.info("fit_tws_mix: %s=%.4f with mix %s", name, best, report["mix"])
    return (float(w[0]), float(w[1]), float(w[2])), report


def fit_tws_weights(*args: Any, **kwargs: Any) -> tuple[tuple[float, float, float], dict[str, Any]]:
    """Deprecated name of :func:`fit_tws_mix` (its report also holds the mix as ``"weights"``)."""
    warnings.warn("fit_tws_weights is deprecated; use fit_tws_mix", DeprecationWarning, 2)
    mix, report = fit_tws_mix(*args, **kwargs)
    report["weights"] = report["mix"]
    return mix, report
