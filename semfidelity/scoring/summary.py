"""The text ``semfid-score`` prints: the end-of-run summary and the ``--list`` metric table."""

from __future__ import annotations

import math
from typing import TextIO

import torch

from semfidelity.factory import list_metrics
from semfidelity.registry import get_spec
from semfidelity.scoring.config import BASE_COLUMNS
from semfidelity.scoring.pairs import PairingResult

__all__ = ["write_summary", "metric_table"]


def _out(text: str, stream: TextIO) -> None:
    stream.write(text + "\n")


def _reason(error: str) -> str:
    return error.split(":", 1)[0].strip()


def write_summary(
    columns: list[str], pairing: PairingResult, rows: list[dict], stream: TextIO
) -> int:
    """Print the summary; returns the number of failed items (rows with errors + pairing)."""
    failed = [r for r in rows if r.get("error")]
    problems = pairing.problems
    _out(
        f"semfid-score: {len(rows)} pairs, {len(rows) - len(failed)} scored without error, "
        f"{len(failed)} with errors, {len(problems)} files unpaired",
        stream,
    )
    stat_cols = [c for c in columns if c not in BASE_COLUMNS and c != "error"]
    width = max(len("metric"), *(len(c) for c in stat_cols))
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
    return len(failed) + len(problems)


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
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return lines
