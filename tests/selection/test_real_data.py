"""Selection on real SR images (tests/data): Set5 x4 and the Set14 baboon ESRGAN outputs.

Each candidate set mimics a pool of SR samples of one LR input: bicubic upsampling, the two
real ESRGAN outputs (baboon), degraded variants (blur, noise, JPEG) and one candidate with
foreign content pasted in (a patch of another image). Without a ground truth the scorers must
put the pasted candidate last, and the top-k fusion must beat the average single candidate.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from kornia.filters import gaussian_blur2d
from PIL import Image

from semfidelity.io import load_image as load_png
from semfidelity.selection import ensemble, rank

SET5 = ("baby", "bird", "butterfly", "head", "woman")


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return gaussian_blur2d(x, (9, 9), (sigma, sigma), border_type="reflect")


def _noise(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def _jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    arr = (x[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1)[None]


def _paste(x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """Replace the central (H/4 x W/4) block of ``x`` by the top-left block of ``other``."""
    x = x.clone()
    h, w = x.shape[-2:]
    ph, pw = h // 4, w // 4
    y0, x0 = h // 2 - ph // 2, w // 2 - pw // 2
    x[..., y0 : y0 + ph, x0 : x0 + pw] = other[..., :ph, :pw]
    return x


def candidate_set(name, set5_pairs, baboon, shared_data):
    """(names, candidates (N,3,H,W), gt, lr) for one image; the pasted candidate is last."""
    if name == "baboon":
        d = shared_data / "baboon_x4_esrgan"
        lr = load_png(d / "lr" / "baboon_123x120_lornatang.png")
        gt, xin, lor = baboon["gt"], baboon["esrgan_xinntao"], baboon["esrgan_lornatang"]
        cands = {
            "bicubic": TF.interpolate(lr, scale_factor=4, mode="bicubic").clamp(0, 1),
            "esrgan_xinntao": xin,
            "esrgan_lornatang": lor,
            "blur": _blur(xin, 1.5),
            "noise": _noise(lor, 0.04, seed=1),
            "jpeg": _jpeg(xin, 20),
            "pasted": _paste(xin, set5_pairs["butterfly"][1]),
        }
    else:
        bicubic, gt = set5_pairs[name]
        lr = load_png(shared_data / "set5_swinir" / "LR_bicubic" / "X4" / f"{name}x4.png")
        other = set5_pairs[SET5[(SET5.index(name) + 1) % len(SET5)]][1]
        cands = {
            "bicubic": bicubic,
            "blur": _blur(gt, 1.0),
            "noise_a": _noise(gt, 0.04, seed=1),
            "noise_b": _noise(gt, 0.04, seed=2),
            "jpeg": _jpeg(gt, 20),
            "pasted": _paste(_noise(gt, 0.02, seed=3), other),
        }
    return list(cands), torch.cat(list(cands.values())), gt, lr


@pytest.mark.parametrize("name", [*SET5, "baboon"])
def test_pasted_content_ranked_last_and_fusion_beats_single(name, set5_pairs, baboon, shared_data):
    names, cands, gt, lr = candidate_set(name, set5_pairs, baboon, shared_data)
    pasted = names.index("pasted")
    r = rank(cands, lr=lr, scale=4, names=names, scorers=("lr_consistency", "consensus"))
    assert r.order[-1] == pasted, r.to_rows()
    for scorer in r.ranks:  # each no-ground-truth scorer on its own
        assert r.ranks[scorer][pasted] == len(names), (scorer, r.to_rows())

    image, uncertainty = ensemble(cands, r, k=5)
    fused_mse = float(((image - gt[0]) ** 2).mean())
    single_mse = ((cands - gt) ** 2).mean(dim=(1, 2, 3))
    assert fused_mse < float(single_mse.mean()), (fused_mse, single_mse.tolist())
    # the samples disagree most where the foreign patch is
    h, w = uncertainty.shape
    centre = uncertainty[h // 2 - h // 8 : h // 2 + h // 8, w // 2 - w // 8 : w // 2 + w // 8]
    assert float(centre.mean()) > float(uncertainty.mean())
    auto = rank(cands, lr=lr, scale=4, names=names)  # faithful_realism
    assert auto.order[-1] == pasted, auto.to_rows()
    assert auto.details["faithful"][pasted] == 0
