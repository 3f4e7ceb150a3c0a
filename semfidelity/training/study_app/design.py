"""Study items from pairs: the question asked, and trap items with a known answer.

``yesno`` ("Does the SR image contain a semantic error?", the thesis' question): one item per
``(reference, distorted)`` pair. Traps: the reference shown against itself (expected "no") and a
reference shown against another pair's SR image (expected "yes").

``2afc`` ("Which image is more faithful to the reference?"): one item per ``(reference, a, b)``.
Traps: the reference itself against another pair's image (expected: the reference's side).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["QUESTIONS", "Item", "build_items"]

QUESTIONS = {
    "yesno": "Does the super-resolved image (right) contain a semantic error compared to the "
    "reference (left): an object, text, digit or face that changed what it is?",
    "2afc": "Which of the two images (A or B) is more faithful to the reference?",
}
ANSWERS = {"yesno": ("yes", "no"), "2afc": ("a", "b")}


@dataclass(frozen=True)
class Item:
    """One question: ``reference`` and ``a`` (and ``b`` for 2AFC); ``trap`` = expected answer."""

    reference: str
    a: str
    b: str | None = None
    trap: str | None = None


def build_items(
    pairs: Sequence[Sequence[str]],
    question: str = "yesno",
    n_traps: int | None = None,
    seed: int = 0,
) -> list[Item]:
    """Items for ``pairs`` plus ``n_traps`` traps (default: 10% of the pairs, at least 2).

    Args:
        pairs: ``(reference, distorted)`` for ``yesno``; ``(reference, a, b)`` for ``2afc``.
        question: ``"yesno"`` or ``"2afc"``.
        n_traps: trap items to add (0 = none); needs at least two pairs.
        seed: draws which pairs the traps are made from.
    """
    if question not in QUESTIONS:
        raise ValueError(f"question: expected one of {sorted(QUESTIONS)}, got {question!r}")
    width = 2 if question == "yesno" else 3
    for i, p in enumerate(pairs):
        if len(p) != width or not all(isinstance(x, str) and x for x in p):
            raise ValueError(
                f"pairs[{i}]: expected {width} non-empty paths for question={question!r}, got {p!r}"
            )
    if n_traps is None:
        n_traps = max(2, round(0.1 * len(pairs))) if len(pairs) >= 2 else 0
    if not isinstance(n_traps, int) or n_traps < 0:
        raise ValueError(f"n_traps: expected an integer >= 0, got {n_traps!r}")
    if n_traps and len(pairs) < 2:
        raise ValueError(f"n_traps: traps need at least 2 pairs, got {len(pairs)}")
    items = [Item(p[0], p[1], p[2] if width == 3 else None) for p in pairs]
    rng = random.Random(seed)
    for t in range(n_traps):
        i, j = rng.sample(range(len(pairs)), 2)
        ref, other = pairs[i][0], pairs[j][1]
        if question == "yesno":
            items.append(Item(ref, ref, trap="no") if t % 2 == 0 else Item(ref, other, trap="yes"))
        else:  # the reference itself is the faithful choice; sides alternate
            a, b, want = (ref, other, "a") if t % 2 == 0 else (other, ref, "b")
            items.append(Item(ref, a, b, trap=want))
    return items
