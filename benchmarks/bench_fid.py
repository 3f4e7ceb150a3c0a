"""CPU time of set-level FID: ours vs pytorch-fid's pipeline and torchmetrics' FID, same run.

    python benchmarks/bench_fid.py [--images 16] [--size 256] [--batch 8] [--repeats 3]

Each implementation computes the FID of ``--images`` random predictions against as many random
references (uint8 RGB, ``--size`` px square): Inception features of both sets in batches of
``--batch``, then the Fréchet distance. Printed per implementation: feature throughput
(images/s, median over repeats), the time of the final distance (median, s) and the whole run,
with its ratio to ours. Random full-size weights (timing only; the pretrained files cannot be
downloaded here):

- **ours**: :class:`semfidelity.metrics.fid.FID` (float64 streaming sums; distance from the
  eigenvalues of ``S1 S2`` in float64, as torchmetrics);
- **pytorch-fid**: its ``InceptionV3([3])`` (same random state dict) and
  ``calculate_frechet_distance`` (NumPy, ``scipy.linalg.sqrtm``); features kept in memory;
- **torchmetrics**: ``FrechetInceptionDistance(feature=<our Inception>)`` (torch-fidelity's
  extractor, its default, needs the download): the same network, so this row measures
  torchmetrics' statistics and distance against ours.

Implementations alternate repeat by repeat so the machine's load hits all alike.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `semfidelity` importable
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torchvision.models import inception_v3  # noqa: E402

from semfidelity.metrics.fid import FID  # noqa: E402


def _state() -> dict[str, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=True)
    return net.state_dict()


def _ours(state: dict[str, torch.Tensor]):
    fid = FID(weights=state, device="cpu")

    def feed(images: torch.Tensor, real: bool) -> None:
        fid.update(images, real=real)

    def start() -> None:
        fid.reset()

    return start, feed, fid.compute


def _pytorch_fid(state: dict[str, torch.Tensor]):
    from unittest import mock

    import numpy as np
    from pytorch_fid import inception as pfid
    from pytorch_fid.fid_score import calculate_frechet_distance

    with mock.patch.object(pfid, "load_state_dict_from_url", lambda *a, **k: state):
        net = pfid.InceptionV3([3], resize_input=True, normalize_input=True).eval()
    feats: dict[bool, list[Any]] = {}

    def start() -> None:
        feats.clear()

    def feed(images: torch.Tensor, real: bool) -> None:
        with torch.no_grad():
            f = net(images.float() / 255.0)[0].flatten(1)
        feats.setdefault(real, []).append(f.numpy().astype(np.float64))

    def compute() -> float:
        stats = []
        for real in (False, True):
            f = np.concatenate(feats[real])
            stats += [f.mean(0), np.cov(f, rowvar=False)]
        try:
            return float(calculate_frechet_distance(*stats))
        except ValueError:  # sqrtm's imaginary-part check: rank-deficient S1 S2 (N < 2048)
            return float("nan")

    return start, feed, compute


def _torchmetrics(state: dict[str, torch.Tensor]):
    from torchmetrics.image.fid import FrechetInceptionDistance

    tm = FrechetInceptionDistance(feature=FID(weights=state, device="cpu").net, normalize=False)

    def feed(images: torch.Tensor, real: bool) -> None:
        tm.update(images, real=real)

    return tm.reset, feed, lambda: float(tm.compute())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="images per set (>= 2)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.images < 2:
        parser.error(f"--images: expected >= 2, got {args.images}")
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        _bench(args)
    finally:
        torch.set_num_threads(previous)
    return 0


def _bench(args: argparse.Namespace) -> None:
    g = torch.Generator().manual_seed(0)
    shape = (args.images, 3, args.size, args.size)
    pred = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    ref = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    state = _state()
    impls = {"ours": _ours(state), "pytorch-fid": _pytorch_fid(state)}
    impls["torchmetrics (our Inception)"] = _torchmetrics(state)
    times: dict[str, dict[str, list[float]]] = {k: {"feat": [], "dist": []} for k in impls}
    values: dict[str, float] = {}
    for start, feed, compute in impls.values():  # warm-up, untimed: 2 images, one distance
        start()
        feed(pred[:2], False)
        feed(ref[:2], True)
        compute()
    for _ in range(args.repeats):
        for name, (start, feed, compute) in impls.items():
            start()
            t0 = time.perf_counter()
            for i in range(0, args.images, args.batch):
                feed(pred[i : i + args.batch], False)
                feed(ref[i : i + args.batch], True)
            t1 = time.perf_counter()
            values[name] = compute()
            times[name]["feat"].append(t1 - t0)
            times[name]["dist"].append(time.perf_counter() - t1)
    load = " ".join(f"{x:.2f}" for x in _loadavg())
    print(
        f"FID, {args.images}+{args.images} images of {args.size}x{args.size}, batch {args.batch}, "
        f"{args.threads} threads, median of {args.repeats}; load average after: {load}"
    )
    print()
    print(
        "| implementation | features (images/s) | distance (s) | total (s) | total ÷ ours | FID |"
    )
    print("|---|---|---|---|---|---|")
    ours_total = None
    for name, t in times.items():
        feat, dist = statistics.median(t["feat"]), statistics.median(t["dist"])
        total = feat + dist
        ours_total = ours_total or total
        rate = 2 * args.images / feat
        value = values[name]
        shown = "refused (imaginary sqrtm)" if math.isnan(value) else f"{value:.6g}"
        print(
            f"| {name} | {rate:.2f} | {dist:.2f} | {total:.2f} | {total / ours_total:.2f}x "
            f"| {shown} |"
        )


def _loadavg() -> tuple[float, ...]:
    try:
        import os

        return os.getloadavg()
    except OSError:
        return ()


if __name__ == "__main__":
    raise SystemExit(main())
