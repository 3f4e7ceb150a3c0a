"""Known-answer pools for choosing without ground truth (docs/selection.md, issue 13).

Rebuilds the pools of docs/selection.md and prints, per pool, the order of the old
no-ground-truth default (``lr_consistency`` + ``consensus``) and of the new one
(``faithful_realism``), with and without NIQE as the realism term, and the degraded-LR pools of
the known limitation. Needs tests/data (ships with the repository) and scikit-image.

    python benchmarks/selection_pools.py
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import torch
from kornia.filters import gaussian_blur2d
from PIL import Image

from semfidelity.io import load_image
from semfidelity.selection import FaithfulRealismScorer, rank

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SET5 = ("baby", "bird", "butterfly", "head", "woman")
UNSEEN = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
          "hubble_deep_field", "retina", "camera", "brick", "grass", "gravel")  # fmt: skip
NAMES = ("gt", "noise", "blur1", "blur2", "bicubic", "pasted", "jpeg")


def blur(x, sigma):
    k = 2 * int(3 * sigma + 0.5) + 1
    return gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="reflect")


def noise(x, sigma, seed):
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def to_pil(x):
    return Image.fromarray((x[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy())


def from_pil(im):
    arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None]


def jpeg(x, quality):
    buf = io.BytesIO()
    to_pil(x).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return from_pil(Image.open(buf))


def resize(x, w, h):
    return from_pil(to_pil(x).resize((w, h), Image.BICUBIC))


def paste(x, other):
    x = x.clone()
    h, w = x.shape[-2:]
    ph, pw = h // 4, w // 4
    if other.shape[-2] < ph or other.shape[-1] < pw:
        other = resize(other, max(pw, other.shape[-1]), max(ph, other.shape[-2]))
    y0, x0 = h // 2 - ph // 2, w // 2 - pw // 2
    x[..., y0 : y0 + ph, x0 : x0 + pw] = other[..., :ph, :pw]
    return x


def pool(gt, lr, other, noise_sigma=0.02):
    h, w = gt.shape[-2:]
    c = {"gt": gt, "noise": noise(gt, noise_sigma, 1), "blur1": blur(gt, 1.0),
         "blur2": blur(gt, 2.0), "bicubic": resize(lr, w, h), "pasted": paste(gt, other),
         "jpeg": jpeg(gt, 20)}  # fmt: skip
    return torch.cat([c[n] for n in NAMES])


def tuning_images():
    out = {}
    for n in SET5:
        hr = load_image(DATA / "set5_swinir" / "HR" / f"{n}.png")
        lr = load_image(DATA / "set5_swinir" / "LR_bicubic" / "X4" / f"{n}x4.png")
        out[n] = (hr[..., : lr.shape[-2] * 4, : lr.shape[-1] * 4], lr)
    d = DATA / "baboon_x4_esrgan"
    out["baboon"] = (load_image(d / "gt" / "baboon_492x480.png"),
                     load_image(d / "lr" / "baboon_123x120_lornatang.png"))  # fmt: skip
    return out


def unseen_images():
    from skimage import data

    out = {}
    for n in UNSEEN:
        a = getattr(data, n)()
        a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
        x = torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]
        if max(x.shape[-2:]) > 600:
            x = torch.nn.functional.interpolate(
                x, scale_factor=512 / max(x.shape[-2:]), mode="area"
            )
        h, w = x.shape[-2:]
        x = ((x[..., : h // 4 * 4, : w // 4 * 4].clamp(0, 1) * 255).round() / 255).contiguous()
        out[n] = (x, resize(x, x.shape[-1] // 4, x.shape[-2] // 4))
    return out


def known_answer(order):
    pos = {NAMES[i]: p for p, i in enumerate(order)}
    ok = pos["gt"] == 0 or (pos["gt"] == 1 and NAMES[order[0]] == "noise")
    return ok and min(pos[b] for b in ("blur1", "blur2", "bicubic")) >= 2 and pos["pasted"] >= 5


def main():
    torch.set_num_threads(1)
    logging.disable(logging.WARNING)
    niqe = FaithfulRealismScorer(realism="niqe")
    passed = {"before": 0, "after": 0, "niqe": 0}
    rows = []
    for label, images in (("tuning", tuning_images()), ("unseen", unseen_images())):
        keys = list(images)
        for i, n in enumerate(keys):
            gt, lr = images[n]
            c = pool(gt, lr, images[keys[(i + 1) % len(keys)]][0])
            orders = {
                "before": rank(c, lr=lr, scale=4, scorers=("lr_consistency", "consensus")).order,
                "after": rank(c, lr=lr, scale=4).order,
                "niqe": rank(c, lr=lr, scale=4, scorers=(niqe,)).order,
            }
            for k, o in orders.items():
                passed[k] += known_answer(o)
            rows.append((f"{n}{'' if label == 'tuning' else ' (unseen)'}", orders))
    print("| pool | before | after | after, realism=niqe |\n|---|---|---|---|")
    for name, o in rows:
        cells = [" > ".join(NAMES[i] for i in o[k]) + ("" if known_answer(o[k]) else " (FAIL)")
                 for k in ("before", "after", "niqe")]  # fmt: skip
        print(f"| {name} | {' | '.join(cells)} |")
    print(f"known answer held: {passed} of {len(rows)}")

    first = {"before": {}, "after": {}}
    for images in (tuning_images(), unseen_images()):
        for gt, lr in images.values():
            lrd = jpeg(noise(lr, 0.02, 3), 60)
            h, w = gt.shape[-2:]
            up = resize(lrd, w, h)
            keeps = (gt + up - resize(lr, w, h)).clamp(0, 1)
            c = {"gt": gt, "blur1": blur(gt, 1.0), "keeps_degradation": keeps,
                 "bicubic_of_degraded": up, "noise": noise(gt, 0.02, 5)}  # fmt: skip
            names, x = list(c), torch.cat(list(c.values()))
            for k, sc in (("before", ("lr_consistency", "consensus")), ("after", ("auto",))):
                best = names[rank(x, lr=lrd, scale=4, scorers=sc).best]
                first[k][best] = first[k].get(best, 0) + 1
    print(f"degraded LR (noise 0.02 + JPEG q60), first place counts: {first}")


if __name__ == "__main__":
    main()
