"""What one scoring run is asked to do (:class:`ScoreConfig`) and how it refuses (UsageError)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoreConfig", "UsageError", "BASE_COLUMNS"]

#: Columns of every row before the metric columns (then ``error`` last).
BASE_COLUMNS = ("key", "ref", "pred", "height", "width")


class UsageError(Exception):
    """Bad arguments or environment detected before scoring starts (``semfid-score`` exit 2).

    Messages name the ``semfid-score`` flag the problem comes from (``--resume``, ``--out``...).
    """


@dataclass
class ScoreConfig:
    """One scoring run: the flags of ``semfid-score`` (docs/cli.md), already parsed.

    Attributes:
        ref, pred: reference and prediction image or folder; ``ref=None`` is a no-reference
            run (every metric must have ``requires_reference=False``; rows have ``ref`` "").
        metrics: registry names, lower case, in column order.
        options: per-metric options for :func:`semfidelity.create_metric`
            (``{"ssim": {"y_channel": True}}``).
        out: ``.csv``/``.jsonl``/``.ndjson`` file, or ``None`` for CSV on stdout.
        device: ``cpu``, ``cuda``, ``cuda:1``; ``None`` picks CUDA when available.
        batch_size, max_batch_pixels: batching limits (pairs, and H*W*batch).
        max_pixels: larger images (W*H) become ``too_large`` error rows, never decoded.
        workers: DataLoader decoding processes.
        resume, overwrite: continue ``out`` (skipping rows present) or replace it.
        resize_pred_to_ref: resize predictions to the reference size instead of failing.
        pred_suffixes: stem suffixes of prediction files ignored when pairing.
        ref_suffixes: stem suffixes of reference files ignored when pairing.
        amp: autocast the metrics declared amp-safe.
        maps: folder for heatmap PNGs of the metrics with maps, or ``None``.
        cmap: heatmap colour map.
        components: add the components of composite metrics as columns.
        report: write the HTML report of the run here (``.html``), or ``None``.
        report_worst: gallery pairs per metric in the report.
    """

    ref: str | None
    pred: str
    metrics: list[str]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: str | None = None
    device: str | None = None
    batch_size: int = 8
    max_batch_pixels: int = 8_000_000
    max_pixels: int = 50_000_000
    workers: int = 0
    resume: bool = False
    overwrite: bool = False
    resize_pred_to_ref: bool = False
    pred_suffixes: list[str] = field(default_factory=list)
    ref_suffixes: list[str] = field(default_factory=list)
    amp: bool = False
    maps: str | None = None
    cmap: str = "viridis"
    components: bool = False
    report: str | None = None
    report_worst: int = 8
