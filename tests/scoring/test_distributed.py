"""torchrun with 2 CPU processes (gloo): one merged output identical to a single-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from semfidelity.cli.score import main
from semfidelity.scoring.distributed import gather_scores, init_from_env

CLI_TESTS = Path(__file__).parents[1] / "cli"
sys.path.insert(0, str(CLI_TESTS))
from imgs import write_pairs  # noqa: E402


def test_gather_scores_without_a_process_group():
    s = torch.tensor([3.0, 1.0, 2.0, 1.5])
    assert gather_scores(s) is s
    got = gather_scores({"a": s}, indices=torch.tensor([2, 0, 1, 0]))
    assert got["a"].tolist() == [1.0, 2.0, 3.0]  # ordered by index, repeated index 0 once
    assert init_from_env(torch.device("cpu")).world_size == 1


def test_torchrun_two_ranks_equals_single_process(tmp_path):
    ref, pred = write_pairs(tmp_path, n=7, sizes=((16, 16), (12, 20), (8, 8)))
    (pred / "img05.png").write_bytes(b"broken")  # a failure row, on whichever rank
    single, multi = tmp_path / "single.csv", tmp_path / "multi.csv"
    args = [str(ref), str(pred), "--metrics", "psnr", "--batch-size", "2"]
    assert main([*args, "--out", str(single)]) == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD", "LOCAL"))}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), str(CLI_TESTS)])
    env["OMP_NUM_THREADS"] = "1"
    report = tmp_path / "report"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(CLI_TESTS / "ddp_worker.py"), str(report), *args, "--out", str(multi)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    reports = [json.loads(Path(f"{report}.rank{r}.json").read_text()) for r in range(2)]
    assert [r["code"] for r in reports] == [1, 1], proc.stderr[-3000:]
    assert proc.returncode != 0  # torchrun reports the ranks' exit code 1
    assert multi.read_bytes() == single.read_bytes()
    assert not list(tmp_path.glob("multi.csv.rank*.part"))
    assert "7 pairs, 6 scored without error, 1 with errors" in proc.stdout
    for r in reports:
        assert r["plain"] == [0.0, 20.0, 40.0, 10.0, 30.0, 0.0]  # rank 0's items, then rank 1's
        assert r["ordered_s"] == [0.0, 10.0, 20.0, 30.0, 40.0]
        assert r["ordered_t"] == [0.0, -1.0, -2.0, -3.0, -4.0]
