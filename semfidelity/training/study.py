"""User studies -> pair labels: the share of raters who saw a semantic error, rater screening.

Votes CSV, one row per (rater, pair) answer, header required::

    rater,reference,distorted,semantic_error[,trap]

* the answer column declares its orientation (:mod:`semfidelity.training.labels`):
  ``semantic_error`` (``yes`` = the rater saw a semantic error) or ``faithful`` (``yes`` =
  faithful; flipped when read). Answers are ``yes``/``no`` (also ``1``/``0``,
  ``true``/``false``). A column named ``vote`` is ambiguous and refused;
* ``trap`` (optional): the known answer of a planted trap (attention-check) item, in the same
  orientation as the answer column, empty otherwise. Planted trap rows never become labels.

Raters are screened twice, in this order:

1. **planted traps**: raters whose share of correct planted-trap answers is below
   ``min_trap_accuracy`` are dropped with all their votes (raters who saw none are kept);
2. **consensus traps** (the thesis' traps, :mod:`semfidelity.training.traps`): the pairs on
   which the *other* kept raters agree at ``>= consensus`` (leave-one-out, at least
   ``consensus_min_votes`` of their votes); raters below ``min_consensus_accuracy`` on them are
   dropped. Consensus-trap pairs stay in the labels (they are real study pairs).

The label of a pair is the share of kept raters who answered "semantic error" (1 = semantic
error, the library's orientation), written to the ``semantic_error`` column with ``n_votes``
and ``agreement`` (share giving the majority answer). Pairs with fewer than ``min_votes`` kept
votes are left out with a logged warning; if no pair has enough, a ``ValueError`` says how many
the best pair has. Paths are copied as written (relative to the votes CSV, like the pair CSV
that is written next to it).
"""

from __future__ import annotations

import csv
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from semfidelity.training.labels import ERROR_COLUMN, label_column
from semfidelity.training.traps import screen_raters

__all__ = ["MIN_VOTES", "StudySummary", "mos_from_votes"]

logger = logging.getLogger(__name__)

#: Default fewest kept votes per pair: the thesis collected 15-30 votes per image.
MIN_VOTES = 15

_YES = {"yes", "y", "1", "true"}
_NO = {"no", "n", "0", "false"}


@dataclass(frozen=True)
class StudySummary:
    """What :func:`mos_from_votes` kept and wrote.

    ``trap_accuracy``: per rater, share right on planted traps; ``consensus_accuracy``: share
    right on consensus traps (raters who met none are absent); ``n_below_min_votes``: pairs left
    out for too few votes.
    """

    pairs_csv: Path
    n_pairs: int
    raters_kept: tuple[str, ...]
    raters_dropped: tuple[str, ...]
    trap_accuracy: dict[str, float]
    consensus_accuracy: dict[str, float] = field(default_factory=dict)
    n_below_min_votes: int = 0


def _vote(value: str, where: str, column: str) -> bool:
    v = (value or "").strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(f"{where}: {column} must be yes/no (or 1/0, true/false), got {value!r}")


def _read_votes(path: Path) -> tuple[list, dict[str, list[bool]]]:
    """``(votes, planted)``: ``(rater, pair, error?)`` of non-trap rows; per rater trap hits."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in reader.fieldnames or []]
        missing = {"rater", "reference", "distorted"} - set(header)
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {sorted(missing)}; expected "
                f"rater,reference,distorted,{ERROR_COLUMN}[,trap]"
            )
        column, flip = label_column(header, path, what="vote")
        rows = [{(k or "").strip(): v for k, v in r.items()} for r in reader]
    planted: dict[str, list[bool]] = defaultdict(list)
    votes = []
    for i, row in enumerate(rows, start=1):
        where = f"{path}: row {i} (line {i + 1})"
        rater, answer = row["rater"].strip(), _vote(row[column], where, column)
        pair = (row["reference"].strip(), row["distorted"].strip())
        expected = (row.get("trap") or "").strip()
        if expected:
            planted[rater].append(answer == _vote(expected, where, "trap"))
        else:
            votes.append((rater, pair, answer != flip))
    return votes, planted


def _check_share(name: str, value: float | None, low_open: bool = False) -> None:
    ok = value is not None and (0.5 < value <= 1.0 if low_open else 0.0 <= value <= 1.0)
    if not ok or isinstance(value, bool):
        want = "(0.5, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name}: expected a value in {want}, got {value!r}")


def mos_from_votes(
    votes_csv: str | os.PathLike,
    out_csv: str | os.PathLike,
    *,
    min_trap_accuracy: float = 1.0,
    min_votes: int = MIN_VOTES,
    consensus: float | None = 0.9,
    consensus_min_votes: int = 10,
    min_consensus_accuracy: float = 0.8,
) -> StudySummary:
    """Write a pair CSV (``reference,distorted,semantic_error,n_votes,agreement``).

    Args:
        votes_csv: the votes (see the module docstring).
        out_csv: the pair CSV to write; put it in the votes CSV's folder to keep relative paths.
        min_trap_accuracy: raters below this share of correct planted-trap answers are dropped.
        min_votes: pairs with fewer kept votes are left out (default 15: the thesis had 15-30
            votes per image).
        consensus: agreement that makes a pair a consensus trap (the thesis: 0.9); ``None``
            turns consensus screening off.
        consensus_min_votes: fewest votes of the other raters a consensus trap needs.
        min_consensus_accuracy: raters below this share right on consensus traps are dropped.

    Raises:
        FileNotFoundError: ``votes_csv`` is missing.
        ValueError: missing columns, an answer column that does not declare its orientation,
            an answer that is not yes/no (row named), no pair with ``min_votes`` kept votes.
    """
    path = Path(votes_csv)
    if not path.is_file():
        raise FileNotFoundError(f"votes CSV not found: {str(path)!r}")
    _check_share("min_trap_accuracy", min_trap_accuracy)
    _check_share("min_consensus_accuracy", min_consensus_accuracy)
    if consensus is not None:
        _check_share("consensus", consensus, low_open=True)
    if isinstance(min_votes, bool) or not isinstance(min_votes, int) or min_votes < 1:
        raise ValueError(f"min_votes: expected an int >= 1, got {min_votes!r}")
    votes, planted = _read_votes(path)
    accuracy = {r: sum(ok) / len(ok) for r, ok in planted.items()}
    raters = sorted({r for r, _, _ in votes} | set(planted))
    dropped = {r for r in raters if accuracy.get(r, 1.0) < min_trap_accuracy}
    agree: dict[str, float] = {}
    if consensus is not None:
        screened = screen_raters(
            (v for v in votes if v[0] not in dropped),
            agreement=consensus,
            min_votes=consensus_min_votes,
        )
        agree = {r: c / t for r, (c, t) in screened.items() if t}
        dropped |= {r for r, a in agree.items() if a < min_consensus_accuracy}
    kept = tuple(r for r in raters if r not in dropped)
    per_pair: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for rater, pair, vote in votes:
        if rater not in dropped:
            per_pair[pair].append(vote)
    enough = {p: vs for p, vs in per_pair.items() if len(vs) >= min_votes}
    below = len(per_pair) - len(enough)
    if per_pair and not enough:
        most = max(len(vs) for vs in per_pair.values())
        raise ValueError(
            f"{path}: no pair has min_votes={min_votes} kept votes (the most: {most}, over "
            f"{len(per_pair)} pairs and {len(kept)} kept raters); the thesis had 15-30 per image. "
            f"Collect more votes, or accept fewer with min_votes={most} "
            f"(semfid-study export --min-votes {most})"
        )
    if below:
        fewest = min(len(vs) for vs in per_pair.values())
        logger.warning(
            "%s: %d of %d pairs have fewer than min_votes=%d kept votes (fewest: %d) and are "
            "left out",
            path,
            below,
            len(per_pair),
            min_votes,
            fewest,
        )
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["reference", "distorted", ERROR_COLUMN, "n_votes", "agreement"])
        for (ref, dist), vs in enough.items():
            share = sum(vs) / len(vs)
            writer.writerow([ref, dist, f"{share:.6g}", len(vs), f"{max(share, 1 - share):.6g}"])
    logger.info(
        "%d pairs, %d raters kept, %d dropped by traps", len(enough), len(kept), len(dropped)
    )
    return StudySummary(
        out, len(enough), kept, tuple(r for r in raters if r in dropped), accuracy, agree, below
    )
