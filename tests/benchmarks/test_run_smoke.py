"""Smoke test of benchmarks/run.py on one tiny size: it runs and writes the documented outputs."""

from __future__ import annotations

import json

import torch

import semfidelity
from benchmarks import peers, run


def test_run_writes_json_markdown_and_readme(tmp_path):
    metrics = [m for m in ("psnr", "ssim") if m in semfidelity.list_metrics()]
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:cpu:start -->\nold\n<!-- bench:cpu:end -->\nrest\n")
    argv = [
        "--metrics",
        ",".join(metrics),
        "--sizes",
        "32",
        "--batches",
        "1,2",
        "--repeats",
        "2",
        "--device",
        "cpu",
        "--peers",
        "piq,kornia",
        "--out-dir",
        str(tmp_path / "results"),
        "--readme",
        str(readme),
    ]
    threads = torch.get_num_threads()
    assert run.main(argv) == 0
    assert torch.get_num_threads() == threads

    (json_path,) = (tmp_path / "results").glob("cpu-*.json")
    (md_path,) = (tmp_path / "results").glob("cpu-*.md")
    assert md_path.stem == json_path.stem
    result = json.loads(json_path.read_text())
    machine = result["machine"]
    assert machine["device"] == "cpu" and machine["dtype"] == "float32"
    assert machine["torch"] and machine["cpu_model"] and machine["torch_threads"] >= 1

    rows = result["results"]
    for metric in metrics:
        for batch in (1, 2):
            cell = [r for r in rows if (r["metric"], r["size"], r["batch"]) == (metric, 32, batch)]
            ours = [r for r in cell if r["kind"] == "ours"]
            assert len(ours) == 1 and ours[0]["impl"] == "semfidelity"
            for r in cell:
                assert r["repeats"] == len(r["times"]) >= 1
                assert r["pairs_per_s"] > 0 and r["latency_ms"] > 0 and r["mem_mb"] is not None
                assert abs(r["pairs_per_s"] * r["latency_ms"] / 1e3 - batch) < 1e-6 * batch
            peer_rows = [r for r in cell if r["kind"] == "peer"]
            if peer_rows:
                assert max(r["vs_fastest_peer"] for r in peer_rows) == 1.0
        # every peer of the metric was either measured or reported with a reason
        measured = {r["impl"] for r in rows if r["metric"] == metric and r["kind"] == "peer"}
        unavailable = {k["impl"] for k in result["skipped"] if k["metric"] == metric}
        expected = {n for n, _ in peers.PEERS.get(metric, []) if n.split()[0] in ("piq", "kornia")}
        assert expected <= measured | unavailable and expected

    markdown = md_path.read_text()
    assert "| metric | implementation | size | batch | pairs/s |" in markdown
    assert markdown.count("| **semfidelity** | 32 |") == 2 * len(metrics)
    assert f"torch {machine['torch']}" in markdown
    text = readme.read_text()
    assert "old" not in text and markdown in text
    assert text.startswith("intro\n") and text.endswith("rest\n")
