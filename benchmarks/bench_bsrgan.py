"""Time of BSRGAN's degradation per image: ours vs BSRGAN's own code, same draws, same run.

    python benchmarks/bench_bsrgan.py --side 512 --seeds 10

For each seed, our ``degradation_bsrgan`` runs with a recording draw source, then the reference
(tests/reference/bsrgan_blindsr.py, BSRGAN's code) replays the same draws, so both do the same
chain on Set5 baby (cropped or tiled to ``--side``). One thread (torch, OpenCV). Prints one
Markdown table: median / max seconds per image and the ratio reference / ours.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "training"))

from test_bsrgan import Recorder, Replay, ref  # noqa: E402

from semfidelity.training import bsrgan as B  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    path = REPO / "tests" / "data" / "set5_swinir" / "HR" / "baby.png"
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    reps = -(-args.side // img.shape[0])
    img = np.ascontiguousarray(np.tile(img, (reps, reps, 1))[: args.side, : args.side])
    saved = {n: getattr(np.random, n) for n in ("rand", "normal", "multivariate_normal")}
    ours, theirs = [], []
    for seed in range(args.seeds):
        rec = Recorder(seed)
        t0 = time.perf_counter()
        B.degradation_bsrgan(img, 4, draws=rec)
        ours.append(time.perf_counter() - t0)
        fake = Replay(rec.log)
        ref.random = fake
        for n in saved:
            setattr(np.random, n, getattr(fake, n))
        t0 = time.perf_counter()
        try:
            ref.degradation_bsrgan(img.copy(), sf=4, lq_patchsize=None)
        finally:
            for n, f in saved.items():
                setattr(np.random, n, f)
        theirs.append(time.perf_counter() - t0)
    med_o, med_r = statistics.median(ours), statistics.median(theirs)
    print(f"| {args.side}x{args.side}, x4, {args.seeds} seeds | median s | max s |")
    print("|---|---|---|")
    print(f"| ours (`degradation_bsrgan`) | {med_o:.3f} | {max(ours):.3f} |")
    print(f"| BSRGAN's code, same draws | {med_r:.3f} | {max(theirs):.3f} |")
    print(f"| ratio BSRGAN / ours (median) | {med_r / med_o:.1f}x | |")


if __name__ == "__main__":
    main()
