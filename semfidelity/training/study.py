"""User studies -> pair labels: MOS from yes/no "semantic error?" votes, trap-based filtering.

Votes CSV, one row per (rater, pair) answer, header required::

    rater,reference,distorted,vote[,trap]

* ``vote``: ``yes``/``no`` (also ``1``/``0``, ``true``/``false``), "yes" = the rater saw a
  semantic error;
* ``trap`` (optional): the known answer of a trap (attention-check) item, empty otherwise.
  Traps are pairs with an obvious answer (identical images, or a blatant object swap).

Raters whose share of correct trap answers is below ``min_trap_accuracy`` are dropped with all
their votes; trap rows never become labels. The label of a pair is its MOS in [0, 1]: the
share of kept raters who answered "yes". Paths are copied as written (relative to the votes
CSV, like the pair CSV that is written next to it).
"""

from __future__ import annotations

import csv
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StudySummary", "mos_from_votes"]

logger = logging.getLogger(__name__)

_YES = {"yes", "y", "1", "true"}
_NO = {"no", "n", "0", "false"}


@dataclass(frozen=True)
class StudySummary:
    """What :func:`mos_from_votes` kept and wrote."""

    pairs_csv: Path
    n_pairs: int
    raters_kept: tuple[str, ...]
    raters_dropped: tuple[str, ...]
    trap_accuracy: dict[str, float]


def _vote(value: str, where: str, column: str) -> bool:
    v = (value or "").strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(f"{where}: {column} must be yes/no (or 1/0, true/false), got {value!r}")


def mos_from_votes(
    votes_csv: str | os.PathLike,
    out_csv: str | os.PathLike,
    *,
    min_trap_accuracy: float = 1.0,
    min_votes: int = 1,
) -> StudySummary:
    """Write a pair CSV (``reference,distorted,label,n_votes``) with MOS labels.

    Args:
        votes_csv: the votes (see the module docstring).
        out_csv: the pair CSV to write; put it in the votes CSV's folder to keep relative paths.
        min_trap_accuracy: raters below this share of correct trap answers are dropped
            (raters who saw no trap are kept).
        min_votes: pairs with fewer kept votes are left out.

    Raises:
        FileNotFoundError: ``votes_csv`` is missing.
        ValueError: missing columns or a vote that is not yes/no (row named).
    """
    path = Path(votes_csv)
    if not path.is_file():
        raise FileNotFoundError(f"votes CSV not found: {str(path)!r}")
    if not 0.0 <= min_trap_accuracy <= 1.0:
        raise ValueError(f"min_trap_accuracy: expected a value in [0, 1], got {min_trap_accuracy}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"rater", "reference", "distorted", "vote"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {sorted(missing)}; expected "
                f"rater,reference,distorted,vote[,trap]"
            )
        rows = list(reader)
    traps: dict[str, list[bool]] = defaultdict(list)
    votes: list[tuple[str, tuple[str, str], bool]] = []
    for i, row in enumerate(rows, start=1):
        where = f"{path}: row {i} (line {i + 1})"
        rater, vote = row["rater"].strip(), _vote(row["vote"], where, "vote")
        pair = (row["reference"].strip(), row["distorted"].strip())
        expected = (row.get("trap") or "").strip()
        if expected:
            traps[rater].append(vote == _vote(expected, where, "trap"))
        else:
            votes.append((rater, pair, vote))
    accuracy = {r: sum(ok) / len(ok) for r, ok in traps.items()}
    raters = sorted({r for r, _, _ in votes} | set(traps))
    dropped = tuple(r for r in raters if accuracy.get(r, 1.0) < min_trap_accuracy)
    kept = tuple(r for r in raters if r not in dropped)
    per_pair: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for rater, pair, vote in votes:
        if rater not in dropped:
            per_pair[pair].append(vote)
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reference", "distorted", "label", "n_votes"])
        for (ref, dist), vs in per_pair.items():
            if len(vs) >= min_votes:
                writer.writerow([ref, dist, f"{sum(vs) / len(vs):.6g}", len(vs)])
                n += 1
    logger.info("%d pairs, %d raters kept, %d dropped by traps", n, len(kept), len(dropped))
    return StudySummary(out, n, kept, dropped, accuracy)
