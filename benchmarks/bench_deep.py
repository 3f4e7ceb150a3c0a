"""CPU throughput of the deep-feature metrics: lpips (vs the lpips package), clip_lpips, clu.

    python benchmarks/bench_deep.py [--sizes 256 512] [--seconds 3] [--threads 2]

Random backbone weights (speed does not depend on their values; no download needed). For
``lpips`` both implementations get the same weights and the same inputs in the same run,
measured alternately call by call. Prints a Markdown table of pairs per second (batch of one
pair): the median over the run and the best single call. On a machine shared with other jobs,
``--threads 1`` avoids OpenMP oversubscription, which otherwise dominates the timings.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import semfidelity
from semfidelity.metrics.clu import CLUDecoder, save_decoder


def _rates(
    fns: list[Callable], pred: torch.Tensor, target: torch.Tensor, seconds: float
) -> list[tuple[float, float]]:
    """(median, best) pairs/s of each function; calls alternate between the functions so that
    they share the machine's load (this matters on a busy CPU)."""
    for fn in fns:
        fn(pred, target)  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while time.perf_counter() - start < seconds * len(fns) or len(times[-1]) < 3:
        for fn, record in zip(fns, times):
            t0 = time.perf_counter()
            fn(pred, target)
            record.append(time.perf_counter() - t0)
    return [(1.0 / statistics.median(t), 1.0 / min(t)) for t in times]


def _lpips_pair(net: str):
    import lpips

    ref = lpips.LPIPS(net=net, pnet_rand=True, pretrained=True, verbose=False).eval()
    weights = {}
    for key, value in ref.net.state_dict().items():
        _, index, param = key.split(".")
        weights[f"features.{index}.{param}"] = value
    ours = semfidelity.create_metric("lpips", net=net, weights=weights, device="cpu")
    return ours, lambda p, t: ref(p, t, normalize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger("semfidelity").setLevel(logging.ERROR)  # the "random weights" warning
    torch.manual_seed(0)

    groups: list[list[tuple[str, Callable]]] = []  # a group is timed interleaved
    for net in ("alex", "vgg"):
        ours, ref = _lpips_pair(net)
        groups.append(
            [(f"lpips net={net} (semfidelity)", ours), (f"lpips net={net} (lpips package)", ref)]
        )
    for depth in (1, 2, 3, 4):
        m = semfidelity.create_metric("clip_lpips", depth=depth, weights="random", device="cpu")
        groups.append([(f"clip_lpips depth={depth}", m)])
    with tempfile.TemporaryDirectory() as tmp:
        save_decoder(
            CLUDecoder([64, 256, 512, 1024, 2048]),
            Path(tmp) / "decoder.safetensors",
            config={"backbone": "imagenet", "depth": 4},
        )
        clu = semfidelity.create_metric("clu", decoder=tmp, weights="random", device="cpu")
        groups.append([("clu depth=4", clu)])
    rates: dict[str, dict[int, tuple[float, float]]] = {n: {} for g in groups for n, _ in g}
    for size in args.sizes:
        pred, target = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
        with torch.inference_mode():
            for group in groups:
                measured = _rates([fn for _, fn in group], pred, target, args.seconds)
                for (name, _), rate in zip(group, measured):
                    rates[name][size] = rate
    header = " | ".join(f"{s}x{s} pairs/s (best)" for s in args.sizes)
    lines = [f"| metric | {header} |", "|---" * (1 + len(args.sizes)) + "|"]
    for name, by_size in rates.items():
        cells = [f"{by_size[s][0]:.2f} ({by_size[s][1]:.2f})" for s in args.sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, batch 1;")
    print("median pairs/s over the run, best single call in parentheses\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
