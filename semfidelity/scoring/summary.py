"""The text ``semfid-score`` prints: the end-of-run summary and the ``--list`` metric table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TextIO

import torch

from semfidelity.factory import list_metrics
from semfidelity.registry import get_spec
from semfidelity.scoring.config import BASE_COLUMNS
from semfidelity.scoring.pairs import PairingResult
from semfidelity.scoring.setlevel import SET_METRICS, SetResult

__all__ = ["write_summary", "metric_table"]


def _out(text: str, stream: TextIO) -> None:
    stream.write(text + "\n")


def _reason(error: str) -> str:
    return error.split(":", 1)[0].strip()


def write_summary(
    columns: list[str],
    pairing: PairingResult,
    rows: list[dict],
    stream: TextIO,
    sets: Sequence[SetResult] = (),
) -> int:
    """Print the summary; returns the number of failed items (rows with errors + pairing + set
    metrics that could not be computed)."""
    failed = [r for r in rows if r.get("error")]
    problems = pairing.problems
    _out(
        f"semfid-score: {len(rows)} pairs, {len(rows) - len(failed)} scored without error, "
        f"{len(failed)} with errors, {len(problems)} files unpaired",
        stream,
    )
    stat_cols = [c for c in columns if c not in BASE_COLUMNS and c != "error"]
    width = max(len("metric"), *(len(c) for c in stat_cols)) if stat_cols else 0
    if stat_cols:  # none when every metric is set-level (fid alone)
        _out(f"{'metric'.ljust(width)}  {'mean':>12}  {'std':>12}  {'count':>7}", stream)
    for col in stat_cols:
        vals = []
        for r in rows:
            v = r.get(col)
            if v not in (None, ""):
                vals.append(float(v))
        t = torch.tensor(vals, dtype=torch.float64)
        mean = f"{t.mean().item():.6g}" if vals else "-"
        std = f"{t.std(unbiased=False).item():.6g}" if vals else "-"
        _out(f"{col.ljust(width)}  {mean:>12}  {std:>12}  {len(vals):>7}", stream)
    _set_summary(sets, stream)
    by_reason: dict[str, list[str]] = {}
    for r in failed:
        for part in str(r["error"]).split(" | "):
            by_reason.setdefault(_reason(part), []).append(f"{r['key']}: {part}")
    for reason, key, detail in problems:
        by_reason.setdefault(reason, []).append(f"{key}: {detail}")
    if by_reason:
        _out("failures by reason:", stream)
        for reason in sorted(by_reason):
            _out(f"  {reason}: {len(by_reason[reason])}", stream)
            for line in by_reason[reason]:
                _out(f"    {line}", stream)
    return len(failed) + len(problems) + sum(1 for r in sets if r.error)


def _set_summary(sets: Sequence[SetResult], stream: TextIO) -> None:
    """The set-level metrics: value (or why none), image counts, the pairs left out."""
    if not sets:
        return
    _out("set-level metrics (one value over the whole run):", stream)
    for r in sets:
        value = "not computed" if r.value is None else f"{r.value:.6g}"
        _out(
            f"  {r.name}  {value}  ({r.predictions} predictions vs {r.references} references, "
            f"{len(r.excluded)} pairs excluded)",
            stream,
        )
        if r.error:
            _out(f"    {r.error}", stream)
        for key, reason in r.excluded:
            _out(f"    excluded {key}: {reason}", stream)


def metric_table() -> list[str]:
    """Lines of the ``semfid-score --list`` table: every registered metric and its metadata."""
    cols = ("name", "range", "better", "ref", "diff", "min", "map", "parts", "amp", "weights")
    rows = []
    for name in list_metrics():
        s = get_spec(name)
        lo, hi = s.score_range
        rng = f"[{lo:g}, {'inf' if math.isinf(hi) else f'{hi:g}'}]"
        yes = {True: "yes", False: "no"}
        rows.append(
            (
                name,
                rng,
                "lower" if s.lower_better else "higher",
                yes[s.requires_reference],
                yes[s.differentiable],
                str(s.min_size),
                yes[s.has_map],
                yes[s.has_components],
                yes[s.amp_safe],
                ",".join(s.weights) or "-",
            )
        )
    for name, cls in SET_METRICS.items():
        lo, hi = cls.score_range
        rng = f"[{lo:g}, {'inf' if math.isinf(hi) else f'{hi:g}'}]"
        better = "lower" if cls.lower_better else "higher"
        rows.append(
            (name, rng, better, "set", "no", "1", "no", "no", "no", ",".join(cls.weight_ids))
        )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("ref 'set': a set-level metric, one value per run over every pair (not a column)")
    return lines
