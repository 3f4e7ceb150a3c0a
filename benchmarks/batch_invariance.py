"""How much a pair's score depends on what it is batched with (docs/cli.md, "Determinism").

    python benchmarks/batch_invariance.py [--threads 2] [--size 224] [--n 8]

Scores ``n`` real image pairs (crops of the bundled test images and of scikit-image's natural
images, each with a different degradation) once as one batch and once one pair at a time, and
prints, per metric, how many of the ``n`` scores differ and by how much at most. The network
metrics use their real architectures with random weights (``weights="random"``: no download;
the dependence on batch size is a property of the kernels, not of the weight values).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage import data as skdata

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import semfidelity  # noqa: E402

NETWORK_OPTIONS = {
    "tws": {"clip_weights": "random"},
    "clip_sim": {"clip_weights": "random"},
    "lpips": {"weights": "random"},
    "clip_lpips": {"weights": "random"},
}


def pairs(n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    g = torch.Generator().manual_seed(0)
    refs, preds = [], []
    for i in range(n):
        img = torch.from_numpy(np.ascontiguousarray(images[i % len(images)])).permute(2, 0, 1)
        shift = 8 * (i // len(images))  # later copies of an image: other crops
        img = F.interpolate(img[None].float() / 255, size=(size + shift, size + shift))[0]
        ref = img[:, shift:, shift:].clamp(0, 1)
        noise = (0.01 + 0.01 * i) * torch.randn(ref.shape, generator=g)
        refs.append(ref)
        preds.append((ref + noise).clamp(0, 1))
    return torch.stack(preds), torch.stack(refs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--n", type=int, default=8)
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # "random weights" warnings
    torch.set_num_threads(args.threads)
    pred, ref = pairs(args.n, args.size)
    print(f"torch {torch.__version__}, CPU, {args.threads} threads, {args.n} pairs {args.size}px")
    print(f"{'metric':<12} {'differing':>9} {'max |batch - alone|':>20} {'max |score|':>12}")
    for name in semfidelity.list_metrics():
        if name == "clu":  # needs a trained decoder: no default exists
            continue
        if semfidelity.metric_info(name)["min_size"] > args.size:
            continue
        try:
            m = semfidelity.create_metric(name, device="cpu", **NETWORK_OPTIONS.get(name, {}))
        except (OSError, ValueError, TypeError) as exc:  # weights not on this machine, ...
            print(f"{name:<12} skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:60]}")
            continue
        if not m.requires_reference:
            continue
        with torch.no_grad():
            batch = m(pred, ref)
            alone = torch.cat([m(pred[i : i + 1], ref[i : i + 1]) for i in range(args.n)])
        diff = (batch - alone).abs().max().item()
        differing = int((batch != alone).sum())
        top = batch.abs().max().item()
        print(f"{name:<12} {differing:>5}/{args.n:<3} {diff:>20.3g} {top:>12.4g}")


if __name__ == "__main__":
    main()
