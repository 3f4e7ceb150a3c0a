"""Tie-aware ranking shared by calibration, selection and the training statistics."""

from __future__ import annotations

import numpy as np

__all__ = ["average_ranks"]


def average_ranks(x) -> np.ndarray:
    """1-based ranks in ascending order along axis 0; ties share the mean of their ranks.

    The same values as ``scipy.stats.rankdata(x, axis=0)`` (method ``"average"``) for a 1-D or
    2-D input (each column ranked on its own); returns float64 of the input's shape.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        return average_ranks(a[:, None])[:, 0]
    n = a.shape[0]
    order = np.argsort(a, axis=0, kind="mergesort")
    sorted_a = np.take_along_axis(a, order, axis=0)
    ranks = np.empty_like(a)
    for j in range(a.shape[1]):
        col = sorted_a[:, j]
        starts = np.r_[0, np.flatnonzero(col[1:] != col[:-1]) + 1]
        ends = np.r_[starts[1:], n]
        ranks[order[:, j], j] = np.repeat((starts + ends - 1) / 2.0 + 1.0, ends - starts)
    return ranks
