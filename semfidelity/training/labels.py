"""The library's one label orientation, and how files declare theirs.

**Convention.** Inside semfidelity a label is the probability (or share of raters) that the
distorted image contains a **semantic error**: ``1`` = semantic error, ``0`` = faithful, higher
= worse. It is what the semantic-fidelity thesis' study asked ("does the SR image contain a
semantic error?"), what CLIP-LPIPS and CLU are trained to output (``lower_better`` metrics:
0 = same meaning), what synthetic pairs use (a pasted object = 1) and what ``semfid-eval``
correlates error scores with. :attr:`PairRecord.label <semfidelity.training.PairRecord>`,
``PairDataset`` items, ``mos_from_votes`` and ``fit_tws_mix(kind="labels")`` all use it.

**Files declare their orientation by the column name** of the label (pair CSVs) or of the
answer (votes CSVs):

* ``semantic_error``: 1 / "yes" = semantic error (the convention; read as is);
* ``faithful``: 1 / "yes" = faithful (read as ``1 - value``; "yes" read as "no").

A column named ``label``, ``vote``, ``mos``, ``score`` ... says nothing about which end is
"good"; such a file is refused with a :class:`ValueError` naming the file and the rename that
declares it. Every writer in the library writes ``semantic_error``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = [
    "ERROR_COLUMN",
    "FAITHFUL_COLUMN",
    "ORIENTATION",
    "label_column",
    "to_error",
]

#: 1 (or "yes") = the distorted image has a semantic error: the library's orientation.
ERROR_COLUMN = "semantic_error"
#: 1 (or "yes") = the distorted image is faithful: accepted on input, flipped when read.
FAITHFUL_COLUMN = "faithful"
#: One line stating the convention (used in messages, metadata and docs).
ORIENTATION = "label 1 = semantic error, 0 = faithful (higher = worse)"

_DECLARED = (ERROR_COLUMN, FAITHFUL_COLUMN)
#: Column names that hold a label or an answer without saying which end is good.
AMBIGUOUS = ("label", "labels", "vote", "answer", "mos", "dmos", "score", "target", "y", "human")


def label_column(
    columns: Sequence[str], source: str | os.PathLike, *, what: str = "label"
) -> tuple[str, bool]:
    """``(column, flip)``: the declared label/answer column of a CSV header.

    ``flip`` is True for a ``faithful`` column (its values are turned into the convention).

    Args:
        columns: the CSV's header.
        source: the file (named in errors).
        what: ``"label"`` (pair CSVs, numbers in [0, 1]) or ``"vote"`` (votes CSVs, yes/no).

    Raises:
        ValueError: both declarations, an undeclared (ambiguous) label column, or none at all.
    """
    cols = [c.strip() for c in columns]
    found = [c for c in _DECLARED if c in cols]
    one = "1" if what == "label" else "yes"
    how = (
        f"name the column {ERROR_COLUMN!r} ({one} = semantic error, the library's "
        f"orientation) or {FAITHFUL_COLUMN!r} ({one} = faithful, flipped when read)"
    )
    if len(found) == 2:
        raise ValueError(
            f"{source}: both {ERROR_COLUMN!r} and {FAITHFUL_COLUMN!r} columns; keep one ({how})"
        )
    if found:
        return found[0], found[0] == FAITHFUL_COLUMN
    vague = [c for c in cols if c.lower() in AMBIGUOUS]
    if vague:
        raise ValueError(
            f"{source}: the {what} column {vague[0]!r} does not declare its orientation "
            f"(is {one} a semantic error or faithful?); {how}. Files written by semfidelity "
            f"before this check used {vague[0]!r} with {one} = semantic error: rename it "
            f"{ERROR_COLUMN!r}"
        )
    raise ValueError(f"{source}: no {what} column; {how}; header was {cols}")


def to_error(value: float, flip: bool) -> float:
    """A declared value in the library's orientation (``1 - value`` for ``faithful``)."""
    return 1.0 - value if flip else value
