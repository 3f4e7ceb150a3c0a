"""Consensus traps: items whose answer the raters themselves agree on, and rater screening.

The semantic-fidelity thesis used as traps the study images with **>= 90 % rater agreement**:
an item whose answer nearly everyone gives is one a careful rater gets right. The traps are
computed from the votes, so a study needs no planted items (planted traps, the ``trap`` column
of a votes CSV, are screened separately by :func:`semfidelity.training.mos_from_votes`).

**Leave-one-out.** When rater *r* is screened, an item is a trap for *r* only if the *other*
raters agree on it at ``>= agreement`` with at least ``min_votes`` of their votes; the expected
answer is their majority. So *r*'s own vote never makes (or breaks) the trap *r* is judged on;
without this, a rater's vote would count towards the consensus it is checked against.

Votes are ``(rater, item, answer)`` triples with a boolean answer (in the library's
orientation, True = "semantic error", though the functions only compare answers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

__all__ = ["Consensus", "consensus_traps", "screen_raters"]

Vote = tuple[str, Hashable, bool]


@dataclass(frozen=True)
class Consensus:
    """An item's majority ``answer``, the share ``agreement`` giving it and the vote count."""

    answer: bool
    agreement: float
    n_votes: int


def _check(agreement: float, min_votes: int) -> None:
    if isinstance(agreement, bool) or not 0.5 < float(agreement) <= 1.0:
        raise ValueError(f"agreement: expected a share in (0.5, 1], got {agreement!r}")
    if isinstance(min_votes, bool) or not isinstance(min_votes, int) or min_votes < 1:
        raise ValueError(f"min_votes: expected an int >= 1, got {min_votes!r}")


def _is_trap(yes: int, n: int, agreement: float, min_votes: int) -> bool:
    # max(yes, no) / n >= agreement, in integers where possible (0.9 * 10 is 9.000000000000002)
    return n >= min_votes and max(yes, n - yes) >= agreement * n - 1e-9


def _counts(votes: Iterable[Vote]) -> tuple[dict, dict]:
    item_counts: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0])  # [yes, n]
    own: dict[tuple[str, Hashable], list[int]] = defaultdict(lambda: [0, 0])
    for rater, item, answer in votes:
        for c in (item_counts[item], own[(rater, item)]):
            c[0] += bool(answer)
            c[1] += 1
    return item_counts, own


def consensus_traps(
    votes: Iterable[Vote],
    *,
    agreement: float = 0.9,
    min_votes: int = 10,
    exclude_rater: str | None = None,
) -> dict[Hashable, Consensus]:
    """Items on which the raters agree at ``>= agreement`` (with ``>= min_votes`` votes).

    Args:
        votes: ``(rater, item, answer)`` triples, answer a bool.
        agreement: share of the votes that must give the majority answer (the thesis: 0.9).
        min_votes: fewest votes an item needs before its agreement counts.
        exclude_rater: leave this rater's votes out (the leave-one-out view of that rater).
    """
    _check(agreement, min_votes)
    items, _ = _counts(v for v in votes if v[0] != exclude_rater)
    return {
        item: Consensus(2 * yes > n, max(yes, n - yes) / n, n)
        for item, (yes, n) in items.items()
        if _is_trap(yes, n, agreement, min_votes)
    }


def screen_raters(
    votes: Iterable[Vote], *, agreement: float = 0.9, min_votes: int = 10
) -> dict[str, tuple[int, int]]:
    """Per rater ``(correct, traps)`` on the consensus traps of the *other* raters.

    Equal to calling :func:`consensus_traps` with ``exclude_rater=r`` for every rater and
    comparing *r*'s answers, in one pass. Raters who met no trap get ``(0, 0)``.
    """
    _check(agreement, min_votes)
    votes = list(votes)
    items, own = _counts(votes)
    out: dict[str, list[int]] = {r: [0, 0] for r, _, _ in votes}
    for (rater, item), (own_yes, own_n) in own.items():
        yes, n = items[item][0] - own_yes, items[item][1] - own_n
        if not _is_trap(yes, n, agreement, min_votes):
            continue
        expected = 2 * yes > n
        right = own_yes if expected else own_n - own_yes
        out[rater][0] += right
        out[rater][1] += own_n
    return {r: (c, t) for r, (c, t) in out.items()}
