"""How well consensus traps screen raters: a simulated yes/no study (not a speed benchmark).

Each pair has a true share ``p`` of careful raters who see a semantic error: 60 % of the pairs are
clear (``p`` = 0.02 or 0.98), 40 % ambiguous (``p`` uniform in [0.2, 0.8]). Careful raters answer
"yes" with probability ``p``; careless ones click at random (0.5). Every rater sees every pair.
For each ``min_consensus_accuracy`` the table gives the share of careful raters kept and of
careless raters dropped by ``mos_from_votes``' consensus screening (agreement 0.9,
leave-one-out, >= 10 other votes), averaged over seeds, and the time of ``screen_raters``.

    python benchmarks/study_screening.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import random
import time

from semfidelity.training.traps import screen_raters

THRESHOLDS = (0.6, 0.7, 0.8, 0.9, 1.0)


def simulate(n_pairs: int, n_careful: int, n_careless: int, seed: int):
    rng = random.Random(seed)
    shares = [
        rng.choice((0.02, 0.98)) if rng.random() < 0.6 else rng.uniform(0.2, 0.8)
        for _ in range(n_pairs)
    ]
    votes = []
    for k in range(n_careful + n_careless):
        careless = k >= n_careful
        for i, p in enumerate(shares):
            votes.append(
                (f"{'c' if careless else 'r'}{k}", i, rng.random() < (0.5 if careless else p))
            )
    return votes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    print(
        "| pairs | raters (careful + careless) | traps per rater | "
        + " | ".join(f"acc >= {t}: kept / dropped" for t in THRESHOLDS)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(THRESHOLDS))
    for n_pairs, n_careful, n_careless in ((40, 15, 3), (100, 20, 4), (300, 25, 5)):
        kept = {t: 0 for t in THRESHOLDS}
        dropped = {t: 0 for t in THRESHOLDS}
        traps = 0
        for seed in range(args.seeds):
            res = screen_raters(
                simulate(n_pairs, n_careful, n_careless, seed), agreement=0.9, min_votes=10
            )
            traps += sum(t for _, t in res.values()) / len(res)
            for t in THRESHOLDS:
                acc = {r: (c / n if n else 1.0) for r, (c, n) in res.items()}
                kept[t] += sum(acc[r] >= t for r in acc if r.startswith("r"))
                dropped[t] += sum(acc[r] < t for r in acc if r.startswith("c"))
        cells = " | ".join(
            f"{kept[t] / (n_careful * args.seeds):.1%} / "
            f"{dropped[t] / (n_careless * args.seeds):.1%}"
            for t in THRESHOLDS
        )
        print(f"| {n_pairs} | {n_careful} + {n_careless} | {traps / args.seeds:.1f} | {cells} |")
    votes = simulate(10_000, 25, 5, 0)
    t0 = time.perf_counter()
    screen_raters(votes, agreement=0.9, min_votes=10)
    print(f"\nscreen_raters on {len(votes):,} votes: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
