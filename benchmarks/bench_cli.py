"""semfid-score throughput, 4K peak memory and --resume overhead.

    python benchmarks/bench_cli.py [--pairs 64] [--skip-4k] [--json out.json]

1. pairs/s from 512x512 PNG files (skimage's astronaut/coffee/chelsea..., predictions with
   noise) with --workers 0 and 2, for psnr and (when registered) psnr,ssim;
2. peak RSS (ru_maxrss of a fresh process) and wall time of one 3840x2160 pair scored by
   psnr,ssim,ms_ssim,edge_ssim,wavelet (those registered);
3. wall time of --resume on a finished 1,000-row output (nothing left to score).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import semfidelity  # noqa: E402
from semfidelity.cli.score import main  # noqa: E402

FOUR_K = ("psnr", "ssim", "ms_ssim", "edge_ssim", "wavelet")


def natural(size: tuple[int, int], i: int) -> np.ndarray:
    from skimage import data

    srcs = (data.astronaut, data.coffee, data.chelsea, data.rocket, data.immunohistochemistry)
    img = Image.fromarray(srcs[i % len(srcs)]()).convert("RGB")
    return np.asarray(img.resize(size, Image.BICUBIC))


def write_pairs(root: Path, n: int, size: tuple[int, int]) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    for d in ("ref", "pred"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ref = natural(size, i)
        pred = np.clip(ref + rng.normal(0, 8, ref.shape), 0, 255).astype(np.uint8)
        Image.fromarray(ref).save(root / "ref" / f"{i:05d}.png")
        Image.fromarray(pred).save(root / "pred" / f"{i:05d}.png")
    return root / "ref", root / "pred"


def timed_main(argv: list[str]) -> float:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"semfid-score {argv} exited {code}")
    return time.perf_counter() - t0


def throughput(tmp: Path, n: int) -> list[dict]:
    ref, pred = write_pairs(tmp / "t512", n, (512, 512))
    sets = ["psnr"] + (["psnr,ssim"] if "ssim" in semfidelity.list_metrics() else [])
    out = []
    for metrics in sets:
        for workers in (0, 2):
            dest = tmp / f"o_{metrics}_{workers}.csv"
            argv = [str(ref), str(pred), "--metrics", metrics, "--workers", str(workers),
                    "--device", "cpu", "--out", str(dest), "--overwrite"]  # fmt: skip
            secs = timed_main(argv)
            out.append({"metrics": metrics, "workers": workers, "pairs": n,
                        "seconds": round(secs, 3), "pairs_per_s": round(n / secs, 1)})  # fmt: skip
            print(f"512x512 {metrics:10s} workers={workers}: {n / secs:6.1f} pairs/s")
    return out


CHILD = """
import resource, sys, time
from semfidelity.cli.score import main
t0 = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
print("RESULT", code, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def four_k(tmp: Path) -> dict:
    ref, pred = write_pairs(tmp / "t4k", 1, (3840, 2160))
    metrics = [m for m in FOUR_K if m in semfidelity.list_metrics()]
    argv = [str(ref), str(pred), "--metrics", ",".join(metrics), "--device", "cpu",
            "--out", str(tmp / "o4k.csv"), "--overwrite"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("RESULT"))
    _, code, wall, rss_kb = line.split()
    res = {"metrics": metrics, "exit_code": int(code), "seconds": round(float(wall), 2),
           "peak_rss_gb": round(int(rss_kb) / 2**20, 3)}  # fmt: skip
    print(f"3840x2160 {','.join(metrics)}: peak RSS {res['peak_rss_gb']} GB, {res['seconds']} s")
    print(proc.stdout.strip())
    return res


def resume_overhead(tmp: Path) -> dict:
    ref, pred = tmp / "r1k" / "ref", tmp / "r1k" / "pred"
    rng = np.random.default_rng(1)
    for d in (ref, pred):
        d.mkdir(parents=True)
    for i in range(1000):
        arr = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(arr).save(ref / f"{i:04d}.png")
        Image.fromarray(255 - arr).save(pred / f"{i:04d}.png")
    out = tmp / "r1k.csv"
    base = [str(ref), str(pred), "--metrics", "psnr", "--device", "cpu", "--out", str(out)]
    full = timed_main([*base, "--batch-size", "64"])
    resume = min(timed_main([*base, "--resume"]) for _ in range(3))
    print(f"--resume on a finished 1,000-row output: {resume:.3f} s (full run {full:.2f} s)")
    return {"rows": 1000, "resume_seconds": round(resume, 3), "full_run_seconds": round(full, 2)}


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--skip-4k", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    results = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results["throughput_512"] = throughput(tmp, args.pairs)
        if not args.skip_4k:
            results["four_k"] = four_k(tmp)
        results["resume"] = resume_overhead(tmp)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    run()
