"""Score registered metrics on a pair CSV and measure their agreement with the labels.

The protocol of the semantic-fidelity tables: for each metric, SRCC, PLCC and KRCC between
its scores and the labels, and MSE / MSE-bin between its normalised scores and the labels
(MSE-bin: labels binarised at 0.5).

Orientation. Labels say "1 = semantic error", i.e. higher = worse. Every metric's score is
first turned into an *error score* that is also higher = worse:

* lower-better metrics (LPIPS, CLIP-LPIPS, ...) are kept as they are;
* higher-better metrics (PSNR, SSIM, TWS, CLIP similarity, ...) are negated.

So a metric that agrees with the raters has positive correlations, whatever its orientation.
For MSE the error score is mapped to [0, 1]: by the metric's declared ``score_range`` when it
is finite (``(s - lo) / (hi - lo)``, or ``(hi - s) / (hi - lo)`` for higher-better), otherwise
(e.g. PSNR's open upper end) by min-max over the evaluated pairs; the rule used is reported
as ``normalisation`` (``"range"`` or ``"minmax"``). ``normalise="none"`` skips the mapping
for lower-better metrics trained to predict the labels themselves (e.g. CLIP-LPIPS with heads
from ``semfid-train``): MSE is then taken on the raw scores (``"raw"``), as during training.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from semfidelity.factory import create_metric
from semfidelity.metric import Metric
from semfidelity.training import stats
from semfidelity.training.dataset import PairDataset, make_loader

__all__ = [
    "error_scores",
    "agreement",
    "evaluate_metrics",
    "score_pairs",
    "format_table",
    "TABLE_STYLES",
]

logger = logging.getLogger(__name__)

COLUMNS = ("srcc", "plcc", "krcc", "mse", "mse_bin")
#: table style -> (result key, column title)
TABLE_STYLES = {
    "default": tuple((c, c.upper().replace("_", "-")) for c in COLUMNS),
    "thesis": (("mse", "MSE"), ("mse_bin", "MSE-bin"), ("srcc_signed", "SRCC")),
}


def error_scores(
    scores: np.ndarray,
    *,
    lower_better: bool,
    score_range: tuple[float, float],
    normalise: str = "auto",
) -> tuple[np.ndarray, np.ndarray, str]:
    """``(oriented, normalised, rule)``: higher-is-worse scores and their [0, 1] version.

    ``normalise="none"`` keeps the raw scores of a lower-better metric (rule ``"raw"``).
    """
    if normalise not in ("auto", "none"):
        raise ValueError(f"normalise: expected 'auto' or 'none', got {normalise!r}")
    s = np.asarray(scores, dtype=np.float64)
    oriented = s if lower_better else -s
    lo, hi = score_range
    if normalise == "none":
        if not lower_better:
            raise ValueError(
                "normalise: 'none' needs lower-better scores in label units; higher-better "
                "metrics are always normalised"
            )
        return oriented, s, "raw"
    if math.isfinite(lo) and math.isfinite(hi):
        norm = (s - lo) / (hi - lo) if lower_better else (hi - s) / (hi - lo)
        rule = "range"
    else:
        span = oriented.max() - oriented.min()
        norm = (oriented - oriented.min()) / span if span > 0 else np.zeros_like(oriented)
        rule = "minmax"
    return oriented, np.clip(norm, 0.0, 1.0), rule


def agreement(
    errors: np.ndarray, normalised: np.ndarray, labels: np.ndarray, *, plcc_fit: str = "none"
) -> dict[str, float]:
    """SRCC, PLCC, KRCC of oriented scores and MSE, MSE-bin of normalised scores vs labels.

    ``plcc_fit``: ``"none"`` (Pearson on the scores) or the VQEG logistic fitted first
    (``"logistic4"``, ``"logistic5"``; see :func:`semfidelity.training.stats.logistic_fit`).
    """
    return {
        "srcc": stats.srcc(errors, labels),
        "plcc": stats.plcc(errors, labels, fit=plcc_fit),
        "krcc": stats.krcc(errors, labels),
        "mse": stats.mse(normalised, labels),
        "mse_bin": stats.mse_bin(normalised, labels),
    }


@torch.no_grad()
def score_pairs(
    metric: Metric,
    dataset: PairDataset,
    *,
    batch_size: int = 1,
    num_workers: int = 0,
    progress: bool = True,
) -> np.ndarray:
    """Scores of ``metric(distorted, reference)`` for every pair, in CSV order."""
    loader = make_loader(dataset, batch_size=batch_size, num_workers=num_workers)
    out = []
    for batch in tqdm(loader, desc=metric.name, disable=not progress, leave=False):
        out.append(metric(batch["distorted"], batch["reference"]).float().cpu())
    return torch.cat(out).numpy().astype(np.float64)


def evaluate_metrics(
    metrics: Sequence[str | Metric],
    pairs_csv: str | os.PathLike,
    *,
    device: str | torch.device | None = "cpu",
    size: int | None = None,
    fit: str = "mask",
    batch_size: int = 1,
    num_workers: int = 0,
    options: dict[str, dict[str, Any]] | None = None,
    raw: tuple[str, ...] = (),
    plcc_fit: str = "none",
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Evaluate metrics (names or built instances) against the labels of ``pairs_csv``.

    Args:
        metrics: registry names (built with ``create_metric``) or :class:`Metric` instances.
        pairs_csv: a pair CSV (see :mod:`semfidelity.training.dataset`).
        size: bring every pair to ``size x size`` (needed for batches > 1 when sizes differ);
            ``None`` scores native sizes, as the metrics run on user images.
        fit: how pairs reach ``size``: ``"mask"`` (as ``semfid-train``: the window holds the
            change mask), ``"resize"`` or ``"centre"`` (see :class:`PairDataset`).
        options: per-metric-name options for ``create_metric``, e.g.
            ``{"clip_lpips": {"heads": "runs/heads"}}``.
        raw: metric names whose MSE is taken on raw scores (``normalise="none"``).
        plcc_fit: ``"none"``, ``"logistic4"`` or ``"logistic5"`` (logistic fit before PLCC).

    Returns:
        name -> ``{"srcc", "plcc", "krcc", "mse", "mse_bin", "srcc_signed", "n",
        "lower_better", "normalisation", "plcc_fit"}``; ``srcc_signed`` is the SRCC of the raw
        scores (not oriented) with the labels, as the thesis' tables print it.
    """
    if plcc_fit not in stats.FITS:
        raise ValueError(f"plcc_fit: expected one of {stats.FITS}, got {plcc_fit!r}")
    options = options or {}
    unknown = set(options) - {m if isinstance(m, str) else m.name for m in metrics}
    if unknown:
        raise ValueError(f"options: given for metrics not evaluated: {sorted(unknown)}")
    dataset = PairDataset(pairs_csv, size=size, fit=fit)
    labels = dataset.labels.numpy().astype(np.float64)
    results: dict[str, dict[str, Any]] = {}
    for m in metrics:
        metric = create_metric(m, device=device, **options.get(m, {})) if isinstance(m, str) else m
        scores = score_pairs(
            metric, dataset, batch_size=batch_size, num_workers=num_workers, progress=progress
        )
        errors, norm, rule = error_scores(
            scores,
            lower_better=metric.lower_better,
            score_range=metric.score_range,
            normalise="none" if metric.name in raw else "auto",
        )
        row = agreement(errors, norm, labels, plcc_fit=plcc_fit)
        row.update(
            srcc_signed=stats.srcc(scores, labels),
            n=int(labels.size),
            lower_better=metric.lower_better,
            normalisation=rule,
            plcc_fit=plcc_fit,
        )
        results[metric.name] = row
        logger.info("%s: %s", metric.name, {k: round(row[k], 4) for k in COLUMNS})
    return results


def format_table(results: dict[str, dict[str, Any]], style: str = "default") -> str:
    """A Markdown table of :func:`evaluate_metrics` results.

    ``style="default"``: SRCC, PLCC, KRCC (oriented: positive = agrees with the labels), MSE,
    MSE-bin. ``style="thesis"``: the semantic-fidelity thesis' columns MSE, MSE-bin and SRCC of
    the raw scores with its sign (negative for a higher-better metric that agrees).
    """
    if style not in TABLE_STYLES:
        raise ValueError(f"style: expected one of {tuple(TABLE_STYLES)}, got {style!r}")
    columns = TABLE_STYLES[style]
    head = "| metric | " + " | ".join(title for _, title in columns) + " | n |"
    lines = [head, "|" + "---|" * (len(columns) + 2)]
    for name, row in results.items():
        vals = " | ".join(
            f"{row[key]:+.4f}" if key == "srcc_signed" else f"{row[key]:.4f}" for key, _ in columns
        )
        lines.append(f"| {name} | {vals} | {row['n']} |")
    return "\n".join(lines)
