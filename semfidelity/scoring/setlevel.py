"""Set-level metrics of a scoring run (``fid``): one value for the whole run, not one per row.

FID compares the *set* of predictions with the *set* of references, so ``semfid-score`` computes
it once, at the end of the run, over **every pair of the run** (the pairs of this invocation and,
with ``--resume``, the pairs already in ``--out``): the images are decoded again and their
Inception features recomputed (nothing is stored between runs, so a resumed run gives the number
a fresh run gives). A pair whose images do not decode (``missing``, ``decode``, ``too_large``) or
whose sizes differ without ``--resize-pred-to-ref`` (``size_mismatch``), or whose features fail,
is left out of both sets and listed, with its reason, in the summary and the card. Errors of
per-row metrics do not exclude a pair: its images are valid FID inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from semfidelity.backbones.inception_fid import FID_FEATURES
from semfidelity.metrics.fid import FID
from semfidelity.scoring.decoding import PairDataset, SizeBatcher, make_loader
from semfidelity.scoring.pairs import Pair

__all__ = ["SET_METRICS", "SetResult", "build_set_metric", "compute_set_metric"]

logger = logging.getLogger(__name__)

#: name -> (class, what it needs) of the set-level metrics ``semfid-score`` knows.
SET_METRICS: dict[str, type[FID]] = {"fid": FID}


@dataclass
class SetResult:
    """Outcome of one set-level metric: ``value`` or, when it could not be computed, ``error``."""

    name: str
    value: float | None
    predictions: int
    references: int
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (key, reason: message)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "images": {"prediction": self.predictions, "reference": self.references},
            "excluded": [{"key": k, "reason": r} for k, r in self.excluded],
            "error": self.error,
        }


def build_set_metric(name: str, options: dict[str, Any], device: torch.device) -> FID:
    """The metric object; ``options`` are its keyword arguments (``weights``).

    Raises:
        ValueError: an unknown name or option.
    """
    if name not in SET_METRICS:
        raise ValueError(f"expected one of {sorted(SET_METRICS)}, got {name!r}")
    unknown = sorted(set(options) - {"weights"})
    if unknown:
        raise ValueError(f"{name} has no option(s) {unknown}; it takes 'weights'")
    return SET_METRICS[name](device=device, **options)


def _add(fid: FID, batch: list[dict], device: torch.device) -> None:
    """Features of the predictions and references of one same-size batch, then both sets."""
    pred = torch.stack([it["pred"] for it in batch]).to(device)
    ref = torch.stack([it["ref"] for it in batch]).to(device)
    fp, fr = fid.features(pred), fid.features(ref)
    fid.update_features(fp, real=False)
    fid.update_features(fr, real=True)


def compute_set_metric(
    name: str,
    metric: FID,
    pairs: list[Pair],
    *,
    reference: bool,
    resize_pred_to_ref: bool,
    max_pixels: int,
    batch_size: int,
    max_batch_pixels: int,
    workers: int = 0,
) -> SetResult:
    """Feed every pair to ``metric`` (reset first) and compute it; never raises for data."""
    if not reference:
        return SetResult(name, None, 0, 0, error=f"{name} needs a reference folder (REF PRED)")
    metric.reset()
    dataset = PairDataset(pairs, resize_pred_to_ref=resize_pred_to_ref, max_pixels=max_pixels)
    batcher = SizeBatcher(batch_size, max_batch_pixels)
    excluded: list[tuple[str, str]] = []
    device = next(metric.parameters()).device

    def feed(batch: list[dict]) -> None:
        if batch[0]["reason"]:
            excluded.extend((it["key"], f"{it['reason']}: {it['error']}") for it in batch)
            return
        try:
            _add(metric, batch, device)
        except Exception:  # retried one pair at a time: one bad pair costs one exclusion
            for it in batch:
                try:
                    _add(metric, [it], device)
                except Exception as exc:
                    logger.debug("%s failed on %s", name, it["key"], exc_info=True)
                    excluded.append((it["key"], f"metric_error: {type(exc).__name__}: {exc}"))
        for it in batch:
            it["ref"] = it["pred"] = None

    for item in make_loader(dataset, workers):
        for batch in batcher.add(item):
            feed(batch)
    for batch in batcher.flush():
        feed(batch)
    n_pred, n_ref = metric.count(False), metric.count(True)
    result = SetResult(name, None, n_pred, n_ref, sorted(excluded))
    if min(n_pred, n_ref) < 2:
        result.error = (
            f"{name} needs at least 2 image pairs (a covariance of {FID_FEATURES}-d features), "
            f"got {min(n_pred, n_ref)} of {len(pairs)} pairs usable; not computed"
        )
        return result
    result.value = metric.compute()
    return result
