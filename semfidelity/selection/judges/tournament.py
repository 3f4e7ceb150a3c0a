"""The batched tournament of the TWS paper's VLM protocol, independent of any endpoint."""

from __future__ import annotations

from collections.abc import Callable

from semfidelity.selection.judges.answers import BatchAnswer

__all__ = ["tournament"]


def tournament(
    indices: list[int],
    judge_batch: Callable[[list[int], int], BatchAnswer],
    *,
    batch_size: int,
    k: int,
) -> list[int]:
    """Order ``indices`` from best to worst with a judge that sees ``batch_size`` at a time.

    ``judge_batch(batch, k)`` returns the batch's best and top ``k`` (positions within the
    batch). Every batch is judged; the batch winners then meet in a final round that orders
    them all (recursively when there are more than ``batch_size`` batches). The result lists
    the winners in final-round order, then the runners-up by their position in their batch's
    top ``k`` (batches taken in their winner's order), then the rest in input order.
    """
    if len(indices) == 1:
        return list(indices)
    batches = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    answers = {}
    for b, batch in enumerate(batches):
        if len(batch) == 1:
            answers[b] = BatchAnswer([0])
        else:
            answers[b] = judge_batch(batch, min(k, len(batch)))
    if len(batches) == 1:
        top = [batches[0][i] for i in answers[0].top]
        return top + [i for i in indices if i not in top]
    winner_of = {batches[b][answers[b].top[0]]: b for b in range(len(batches))}
    winners = tournament(list(winner_of), judge_batch, batch_size=batch_size, k=len(winner_of))
    order = list(winners)
    for pos in range(1, max(len(a.top) for a in answers.values())):
        for w in winners:
            b = winner_of[w]
            if pos < len(answers[b].top):
                order.append(batches[b][answers[b].top[pos]])
    placed = set(order)
    return order + [i for i in indices if i not in placed]
