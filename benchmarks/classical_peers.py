"""Speed of the classical metrics against peer libraries (CPU, pairs per second).

Run: ``python benchmarks/classical_peers.py [--size 512] [--batch 8] [--threads 2] [--repeat 3]``.
Prints a Markdown table: for each metric, our registered metric (input validation included)
and each peer, with the ratio ``ours / fastest peer``. Peers: piq, torchmetrics,
kornia.metrics, and for the TWS terms the naive per-image pipelines (scikit-image Sobel +
SSIM, PyWavelets ``wavedec2``) plus torch compositions (kornia Sobel + kornia SSIM, ptwt):
the peers of ``benchmarks/peers.py``, shared with ``benchmarks/run.py``. Peers that are not
installed are skipped. Timings are medians over ``--repeat`` rounds.

For ``psnr`` a last row, ``bound: read pred + target once``, times ``pred.sum()`` and
``target.sum()``: the memory traffic no PSNR can avoid (every input value must be read, and
ours must also check each one). Its ratio to the fastest peer is the most any PSNR
implementation could reach on this machine (it is not a peer and not counted as one).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `semfidelity` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.peers import get_peers  # noqa: E402
from semfidelity import create_metric  # noqa: E402

Fn = Callable[[torch.Tensor, torch.Tensor], object]
METRICS = ("psnr", "ssim", "ms_ssim", "edge_ssim", "wavelet")


def pairs_per_second(fn: Fn, pred: torch.Tensor, target: torch.Tensor, min_time: float) -> float:
    """Pairs per second of ``fn`` on one batch, looping for at least ``min_time`` seconds."""
    with torch.inference_mode():
        fn(pred, target)  # warm-up: kernel selection, caches
        n, start = 0, time.perf_counter()
        while True:
            fn(pred, target)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                return n * pred.shape[0] / elapsed


def _read_once(pred: torch.Tensor, target: torch.Tensor) -> object:
    return pred.sum(), target.sum()


BOUNDS: dict[str, tuple[str, Fn]] = {"psnr": ("bound: read pred + target once", _read_once)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("--metrics", default=",".join(METRICS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(args.batch, 3, args.size, args.size, generator=g)
    pred = (target + 0.05 * torch.randn(target.shape, generator=g)).clamp(0, 1)

    print(
        f"CPU, {args.size}x{args.size}, batch {args.batch}, {args.threads} torch threads, "
        f"median of {args.repeat}\n"
    )
    print("| metric | implementation | pairs/s | ours / fastest peer |")
    print("|---|---|---:|---:|")
    for name in args.metrics.split(","):
        impls: dict[str, Fn] = {"semfidelity": create_metric(name, device="cpu")}
        peers, _ = get_peers(name, torch.device("cpu"))  # the peers of benchmarks/run.py
        impls.update({peer.name: peer.fn for peer in peers})
        bound = BOUNDS.get(name)
        if bound is not None:
            impls[bound[0]] = bound[1]
        rounds: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(args.repeat):
            for key, fn in impls.items():
                rounds[key].append(pairs_per_second(fn, pred, target, args.min_time))
        speed = {k: statistics.median(v) for k, v in rounds.items()}
        not_peers = ("semfidelity", bound[0] if bound else "")
        fastest_peer = max(v for k, v in speed.items() if k not in not_peers)
        for key, v in speed.items():
            ratio = f"{v / fastest_peer:.2f}x" if key in not_peers else ""
            print(f"| {name} | {key} | {v:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
