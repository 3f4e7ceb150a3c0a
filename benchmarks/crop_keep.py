"""How much of a labelled change the training crop keeps (docs/training.md, issue 15 item 5).

For image sizes of common SR data, places random rectangular change masks (uniform position,
area share and aspect 0.5-2 drawn per pair) and brings each pair to ``--size`` with
``fit="centre"`` (resize + centre crop, the former behaviour) and ``fit="mask"`` (the
default). Prints, per image size, how often the centre crop keeps under 1 % / under 50 % of the
change (mask mass after cropping / mask mass after resizing alone) and the least and mean share
``fit="mask"`` keeps.

    python benchmarks/crop_keep.py --area 0.005 0.05
"""

from __future__ import annotations

import argparse
import random

import torch

from semfidelity.training.geometry import _resize_short, fit_pair

SIZES = {
    "DIV2K-like 1356x2040": (1356, 2040),
    "coffee 400x600": (400, 600),
    "chelsea 300x451": (300, 451),
    "rocket 427x640": (427, 640),
    "baboon 480x492": (480, 492),
}


def kept_share(mask: torch.Tensor, size: int, fit: str) -> float:
    _, cut = fit_pair(
        torch.zeros_like(mask), mask, label=1, has_mask=True, size=size, crop=None, fit=fit,
        seed_key="0",
    )  # fmt: skip
    return float(cut.sum() / _resize_short(mask, size, "bilinear").sum())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--area", type=float, nargs=2, default=(0.005, 0.05), help="area share range")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--n", type=int, default=100, help="pairs per image size")
    args = p.parse_args()
    rng = random.Random(0)
    print("| image | centre: < 1 % kept | centre: < 50 % kept | mask: min kept | mask: mean kept |")
    print("|---|---|---|---|---|")
    for name, (h, w) in SIZES.items():
        centre, mask_fit = [], []
        for _ in range(args.n):
            area = rng.uniform(*args.area) * h * w
            bh = min(h, int((area * rng.uniform(0.5, 2.0)) ** 0.5))
            bw = min(w, int(area / bh))
            top, left = rng.randint(0, h - bh), rng.randint(0, w - bw)
            m = torch.zeros(1, 1, h, w)
            m[..., top : top + bh, left : left + bw] = 1
            centre.append(kept_share(m, args.size, "centre"))
            mask_fit.append(kept_share(m, args.size, "mask"))
        print(
            f"| {name} | {sum(c < 0.01 for c in centre)}/{args.n} | "
            f"{sum(c < 0.5 for c in centre)}/{args.n} | {min(mask_fit):.3f} | "
            f"{sum(mask_fit) / args.n:.3f} |"
        )


if __name__ == "__main__":
    main()
