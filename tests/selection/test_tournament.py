"""The judge's batched tournament on its own, with a judge whose answers follow known scores."""

from __future__ import annotations

import pytest

from semfidelity.selection.judges.answers import BatchAnswer
from semfidelity.selection.judges.tournament import tournament


def oracle(scores, calls):
    """A batch judge that names the top k of each batch by ``scores`` (higher better)."""

    def judge_batch(batch, k):
        calls.append(list(batch))
        pos = sorted(range(len(batch)), key=lambda j: -scores[batch[j]])
        return BatchAnswer(pos[:k])

    return judge_batch


@pytest.mark.parametrize("n", [2, 7, 10, 25, 100, 131])
def test_tournament_finds_the_best_and_returns_a_permutation(n):
    scores = [((i * 37) % n) / n for i in range(n)]  # a scrambled order with one maximum
    calls: list[list[int]] = []
    order = tournament(list(range(n)), oracle(scores, calls), batch_size=10, k=5)
    assert sorted(order) == list(range(n))
    assert order[0] == max(range(n), key=lambda i: scores[i])
    assert all(len(c) <= 10 for c in calls)
    if n <= 10:  # one batch: its top 5 by score, then the rest in input order
        top = sorted(range(n), key=lambda i: -scores[i])[:5]
        assert order == top + [i for i in range(n) if i not in top]


def test_batches_of_25_are_10_10_5_and_a_final_of_3():
    calls: list[list[int]] = []
    tournament(list(range(25)), oracle(list(range(25)), calls), batch_size=10, k=5)
    assert [len(c) for c in calls] == [10, 10, 5, 3]
    assert calls[-1] == [9, 19, 24]  # the batch winners meet in the final
