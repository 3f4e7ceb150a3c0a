"""Run by torchrun in test_distributed.py: gather_scores checks, then semfid-score on this rank."""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from semfidelity.cli.score import main
from semfidelity.scoring.distributed import gather_scores

if __name__ == "__main__":
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    # Rank r holds items r, r+world, ... of 5 items; DistributedSampler-style padding repeats 0.
    idx = torch.arange(rank, 6, world) % 5
    scores = {"s": idx.float() * 10, "t": -idx.float()}
    plain = gather_scores(scores["s"])
    ordered = gather_scores(scores, indices=idx)
    report = {
        "rank": rank,
        "plain": plain.tolist(),
        "ordered_s": ordered["s"].tolist(),
        "ordered_t": ordered["t"].tolist(),
    }
    code = main(sys.argv[2:])
    report["code"] = code
    with open(f"{sys.argv[1]}.rank{rank}.json", "w") as fh:
        json.dump(report, fh)
    dist.destroy_process_group()
    sys.exit(code)
