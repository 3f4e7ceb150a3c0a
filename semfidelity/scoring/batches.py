"""Scoring the pairs of a :class:`~semfidelity.scoring.job.Job`, batch by batch, into rows.

A batch holds pairs of one size (:class:`~semfidelity.scoring.decoding.SizeBatcher`). When a
metric fails on a batch it is retried item by item, so one bad image costs one error row, not a
batch. Rows are appended to the output as each batch finishes (crash-safe, see
:mod:`semfidelity.scoring.scorefile`).
"""

from __future__ import annotations

import logging
import math
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

import torch

from semfidelity.metric import Metric
from semfidelity.scoring.decoding import PairDataset, SizeBatcher, make_loader, to_float
from semfidelity.scoring.heatmap import save_heatmap
from semfidelity.scoring.job import Job
from semfidelity.scoring.scorefile import append_rows

__all__ = ["score_all", "score_batch"]

logger = logging.getLogger(__name__)


def _autocast(job: Job, metric: Metric):
    if job.config.amp and metric.amp_safe:
        return torch.autocast(device_type=job.device.type)
    return nullcontext()


def _run_metric(job: Job, name: str, pred: torch.Tensor, ref: torch.Tensor):
    """Scores (B,), components {col: (B,)} and maps {folder: (B,1,H,W)} or None for one batch."""
    metric = job.metrics[name]
    if not metric.requires_reference:
        ref = None  # no-reference metrics score the prediction alone
    want_map = bool(job.config.maps) and metric.has_map
    term_maps = want_map and hasattr(metric, "components_map")  # tws: total + one map per term
    with torch.no_grad(), _autocast(job, metric):
        comps: dict[str, torch.Tensor] = {}
        maps = None
        if job.components[name]:
            parts = metric.components(pred, ref)
            comps = {f"{name}.{k}": v.float() for k, v in parts.items() if k != name}
            scores = parts[name].float() if name in parts else metric(pred, ref)
        elif want_map and not term_maps:  # one forward pass for both (Metric.score_and_map)
            scores, single = metric.score_and_map(pred, ref)
            maps = {name: single}
        else:
            scores = metric(pred, ref)
        if term_maps:
            parts = metric.components_map(pred, ref)
            maps = {(name if k == name else f"{name}.{k}"): v for k, v in parts.items()}
        elif want_map and maps is None:
            maps = {name: metric.map(pred, ref)}
    return scores, comps, maps


def _save_maps(job: Job, name: str, keys: list[str], maps: dict[str, torch.Tensor]) -> None:
    # A fixed scale for every map of a metric: its score range (e.g. [0, 1] for tws), so that
    # colours compare across images; the colour bar in each PNG labels it.
    lo, hi = job.metrics[name].score_range
    vmin = lo if math.isfinite(lo) else None
    vmax = hi if math.isfinite(hi) else None
    for folder, values in maps.items():
        for key, m in zip(keys, values.float().cpu()):
            path = Path(job.config.maps) / folder / f"{key}.png"
            save_heatmap(m, path, job.config.cmap, vmin, vmax)


def _score_metric(
    job: Job, name: str, pred: torch.Tensor, ref: torch.Tensor, keys: list[str], rows: list[dict]
) -> None:
    """Fill ``rows`` with metric ``name`` for one same-size batch; on failure retry per item."""
    min_size = job.metrics[name].min_size  # the instance's: options may raise it
    h, w = pred.shape[-2:]
    if min(h, w) < min_size:
        for row in rows:
            row["_errors"].append(
                f"too_small: {name} needs at least {min_size}x{min_size} pixels, got {h}x{w}"
            )
        return
    groups = [list(range(len(rows)))]
    while groups:
        idx = groups.pop()
        sel = slice(idx[0], idx[-1] + 1)  # groups are contiguous: the batch or one item
        try:
            scores, comps, maps = _run_metric(job, name, pred[sel], ref[sel])
        except Exception as exc:
            if len(idx) > 1:
                groups.extend([i] for i in reversed(idx))
                continue
            logger.debug("metric %s failed on %s", name, keys[idx[0]], exc_info=True)
            rows[idx[0]]["_errors"].append(f"metric_error: {name}: {type(exc).__name__}: {exc}")
            continue
        values = scores.detach().float().cpu().tolist()
        comp_values = {c: v.detach().float().cpu().tolist() for c, v in comps.items()}
        for j, i in enumerate(idx):
            rows[i][name] = values[j]
            if not math.isfinite(values[j]):
                rows[i]["_errors"].append(f"nonfinite: {name} gave {values[j]}")
            for c, vals in comp_values.items():
                rows[i][c] = vals[j]
        if maps is not None:
            _save_maps(job, name, [keys[i] for i in idx], maps)


def score_batch(job: Job, batch: list[dict]) -> list[dict]:
    """Rows for one batch: every item failed decoding alone, or all items share one size."""
    rows = []
    for item in batch:
        pair = job.todo[item["index"]]
        ref = str(pair.ref) if job.config.ref is not None else ""
        row: dict[str, Any] = {"key": pair.key, "ref": ref, "pred": str(pair.pred)}
        row.update({c: None for c in job.columns[3:]})
        row["_errors"] = []
        if item["reason"]:
            row["_errors"].append(f"{item['reason']}: {item['error']}")
        else:
            row["height"], row["width"] = (int(s) for s in item["ref"].shape[-2:])
        rows.append(row)
    if not batch[0]["reason"]:
        dev = job.device
        # Items arrive from (pinned) CPU memory: copy asynchronously, convert on the device.
        pred = to_float(torch.stack([it["pred"].to(dev, non_blocking=True) for it in batch]))
        ref = to_float(torch.stack([it["ref"].to(dev, non_blocking=True) for it in batch]))
        keys = [it["key"] for it in batch]
        for it in batch:  # drop the decoded copies before the metrics run (4K: 50 MB a pair)
            it["ref"] = it["pred"] = None
        for name in job.metrics:
            _score_metric(job, name, pred, ref, keys, rows)
    for row in rows:
        row["error"] = " | ".join(row.pop("_errors")) or None
    return rows


def score_all(job: Job, sink: TextIO, keep: list[dict] | None = None) -> int:
    """Score ``job.todo``, appending rows to ``sink`` per batch (and to ``keep`` if given)."""
    from tqdm.auto import tqdm

    if not job.todo:
        return 0
    config = job.config
    dataset = PairDataset(
        job.todo, resize_pred_to_ref=config.resize_pred_to_ref, max_pixels=config.max_pixels
    )
    loader = make_loader(dataset, config.workers, pin_memory=job.device.type == "cuda")
    batcher = SizeBatcher(config.batch_size, config.max_batch_pixels)
    written = 0
    with tqdm(total=len(job.todo), file=sys.stderr, unit="pair", disable=None) as bar:

        def emit(batch: list[dict]) -> None:
            nonlocal written
            rows = score_batch(job, batch)
            append_rows(sink, rows, job.columns, job.fmt)
            written += len(rows)
            if keep is not None:
                keep.extend(rows)
            bar.update(len(rows))

        for item in loader:
            for batch in batcher.add(item):
                emit(batch)
        for batch in batcher.flush():
            emit(batch)
    return written
