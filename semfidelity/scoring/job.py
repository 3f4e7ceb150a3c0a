"""Everything decided before the first pair is scored: metrics, columns, pairs, output rows.

:func:`prepare` turns a :class:`~semfidelity.scoring.config.ScoreConfig` into a :class:`Job`;
:func:`existing_rows` reads what an interrupted run left (``--resume``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from semfidelity.factory import create_metric
from semfidelity.metric import Metric, resolve_device
from semfidelity.registry import get_spec
from semfidelity.scoring.config import BASE_COLUMNS, ScoreConfig, UsageError
from semfidelity.scoring.outpath import check_output_path
from semfidelity.scoring.pairs import Pair, PairingResult, discover_pairs
from semfidelity.scoring.scorefile import OutputError, file_format, read_rows
from semfidelity.scoring.setlevel import SET_METRICS, build_set_metric

__all__ = ["Job", "prepare", "build_metrics", "existing_rows"]

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """Everything decided before scoring: metrics, columns, pairs to do, output."""

    config: ScoreConfig
    device: torch.device
    metrics: dict[str, Metric]
    components: dict[str, list[str]]
    columns: list[str]
    pairing: PairingResult
    fmt: str = "csv"
    todo: list[Pair] = field(default_factory=list)
    #: set-level metrics (``fid``): one value per run, computed by
    #: :mod:`semfidelity.scoring.setlevel` at the end, never a column
    set_metrics: dict[str, torch.nn.Module] = field(default_factory=dict)


def _metric_columns(name: str, metric: Metric, components: bool) -> list[str]:
    if not (components and metric.has_components):
        return []
    return [f"{name}.{c}" for c in metric.component_names if c != name]


def build_metrics(config: ScoreConfig, device: torch.device) -> dict[str, Metric]:
    """Build the per-row metrics of ``config.metrics`` (not the set-level ones, see
    :func:`build_set_metrics`) with their options; any failure is a :class:`UsageError`."""
    metrics = {}
    for n in config.metrics:
        if n in SET_METRICS:
            continue
        try:
            metrics[n] = create_metric(n, device=device, **config.options.get(n, {}))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"metric {n!r}: {exc}") from None
        except Exception as exc:  # weights missing offline, out of memory...
            raise UsageError(f"cannot build metric {n!r}: {type(exc).__name__}: {exc}") from None
    names = list(config.metrics)
    if config.maps and not any(m.has_map for m in metrics.values()):
        logger.warning("--maps: none of %s has a spatial map; no heatmaps will be written", names)
    if config.components and not any(m.has_components for m in metrics.values()):
        logger.warning("--components: none of %s has components", names)
    return metrics


def build_set_metrics(config: ScoreConfig, device: torch.device) -> dict[str, torch.nn.Module]:
    """Build the set-level metrics of ``config.metrics`` (``fid``) before scoring starts, so
    missing weights or a bad option stop the run early (:class:`UsageError`)."""
    out = {}
    for n in config.metrics:
        if n not in SET_METRICS:
            continue
        if config.ref is None:
            raise UsageError(f"{n} compares the prediction set with a reference set: give REF PRED")
        try:
            out[n] = build_set_metric(n, dict(config.options.get(n, {})), device)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"metric {n!r}: {exc}") from None
        except Exception as exc:  # weights missing offline...
            raise UsageError(f"cannot build metric {n!r}: {type(exc).__name__}: {exc}") from None
    return out


def existing_rows(out: Path, fmt: str, columns: list[str]) -> list[dict]:
    """Rows already in ``out`` and in part files of an interrupted multi-process run."""
    rows: list[dict] = []
    for path in [out, *sorted(out.parent.glob(out.name + ".rank*.part"))]:
        try:
            have, part = read_rows(path, fmt)
        except OutputError as exc:
            raise UsageError(f"--resume: {exc}") from None
        if have is not None and list(have) != columns:
            raise UsageError(
                f"--resume: {str(path)!r} has columns {have}, this run writes {columns}; use the "
                f"same --metrics/--components, or another --out"
            )
        rows.extend(part)
    seen: dict[str, dict] = {}
    for r in rows:
        seen.setdefault(str(r["key"]), r)
    return list(seen.values())


def prepare(config: ScoreConfig) -> Job:
    """Check the output, pair the folders and build the metrics (in that order)."""
    try:
        device = resolve_device(config.device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None
    fmt = "csv"
    if config.out:
        check_output_path(config.out, "--out")
        try:
            fmt = file_format(config.out)
        except OutputError as exc:
            raise UsageError(str(exc)) from None
    elif config.resume:
        raise UsageError("--resume needs --out")
    if config.report is not None and not config.report.lower().endswith((".html", ".htm")):
        raise UsageError(f"--report: expected a file ending in .html, got {config.report!r}")
    if config.report is not None:
        check_output_path(config.report, "--report")
    if config.report_worst < 0:
        raise UsageError(f"--report-worst: expected >= 0, got {config.report_worst}")
    if config.resume and config.overwrite:
        raise UsageError("give --resume or --overwrite, not both")
    if config.ref is None:
        needs = [n for n in config.metrics if n in SET_METRICS or get_spec(n).requires_reference]
        if needs:
            raise UsageError(
                f"REF is required: {', '.join(needs)} compare against a reference; give "
                f"REF PRED, or only no-reference metrics (e.g. niqe, clipiqa) with PRED alone"
            )
    try:
        # A no-reference run pairs every prediction with itself (decoded once).
        pairing = discover_pairs(
            config.ref or config.pred, config.pred, config.pred_suffixes, config.ref_suffixes
        )
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not pairing.pairs:
        raise UsageError(
            f"no pairs found between {config.ref!r} and {config.pred!r} "
            f"({len(pairing.unmatched_ref)} unmatched references, e.g. "
            f"{pairing.unmatched_ref[:3]}; {len(pairing.unmatched_pred)} unmatched predictions, "
            f"e.g. {pairing.unmatched_pred[:3]}). Files pair by relative folder and stem; if "
            "names differ by a suffix, strip it with --pred-suffix (e.g. _x4,_SR) and/or "
            "--ref-suffix (e.g. _HR,_BSRGAN)"
        )
    metrics = build_metrics(config, device)
    set_metrics = build_set_metrics(config, device)
    columns = list(BASE_COLUMNS)
    comps = {}
    for name, m in metrics.items():
        comps[name] = _metric_columns(name, m, config.components)
        columns += [name, *comps[name]]
    columns.append("error")
    return Job(config, device, metrics, comps, columns, pairing, fmt, set_metrics=set_metrics)
