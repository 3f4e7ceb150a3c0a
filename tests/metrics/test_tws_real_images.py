"""TWS edge and wavelet terms on real SR images (Set5 bicubic, baboon ESRGAN) and artifacts.

The component values are recorded in docs/metrics/tws.md ("Real images"); here we check what
must hold: components in (0, 1) on real SR outputs, lower with a larger SR factor, and a
wavelet term that falls monotonically as synthetic artifacts get stronger.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from repo_data import SET5, set5_bicubic_pair
from tiny_clip import TINY_CLIP_OPTIONS, make_tiny_clip

import semfidelity


@pytest.fixture(scope="module")
def metric():
    make_tiny_clip()
    return semfidelity.create_metric("tws", device="cpu", **TINY_CLIP_OPTIONS)


def jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG round trip through PIL (8x8 blocking at low quality)."""
    arr = (x[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    out = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(out).permute(2, 0, 1).unsqueeze(0)


def ringing(x: torch.Tensor, keep: float) -> torch.Tensor:
    """Ideal (box) low-pass keeping the ``keep`` fraction of frequencies: Gibbs ringing."""
    h, w = x.shape[-2:]
    fy = torch.fft.fftfreq(h).abs().view(-1, 1)
    fx = torch.fft.fftfreq(w).abs().view(1, -1)
    mask = ((fy <= keep / 2) & (fx <= keep / 2)).to(x.dtype)
    return torch.fft.ifft2(torch.fft.fft2(x) * mask).real.clamp(0, 1)


def checkerboard(x: torch.Tensor, amplitude: float) -> torch.Tensor:
    """Period-2 checkerboard (the transposed-convolution artifact) of the given amplitude."""
    h, w = x.shape[-2:]
    pattern = (torch.arange(h).view(-1, 1) + torch.arange(w).view(1, -1)) % 2 * 2.0 - 1.0
    return (x + amplitude * pattern).clamp(0, 1)


ARTIFACTS = {
    "jpeg": (jpeg, [90, 50, 20, 5]),
    "ringing": (ringing, [0.7, 0.5, 0.35, 0.25]),
    "checkerboard": (checkerboard, [0.01, 0.03, 0.06, 0.12]),
}


def test_set5_bicubic_components_fall_with_the_scale_factor(metric):
    for name in SET5:
        edge, wav = [], []
        for scale in (2, 4, 8):
            pred, target = set5_bicubic_pair(name, scale)
            comps = metric.components(pred[..., :160, :160], target[..., :160, :160])
            edge.append(float(comps["edge"]))
            wav.append(float(comps["wavelet"]))
        assert all(0.2 < v < 1.0 for v in edge + wav), (name, edge, wav)
        assert edge[0] > edge[1] > edge[2], (name, edge)
        assert wav[0] > wav[1] > wav[2], (name, wav)


def test_baboon_esrgan_components_are_recorded_in_range(metric, baboon):
    crop = (..., slice(112, 368), slice(118, 374))  # central 256 x 256
    preds = torch.cat([baboon["esrgan_xinntao"][crop], baboon["esrgan_lornatang"][crop]])
    comps = metric.components(preds, baboon["gt"][crop])
    # docs/metrics/tws.md, full image: edge 0.50, wavelet 0.67 for both ESRGAN outputs
    for name in ("edge", "wavelet"):
        assert bool(((comps[name] > 0.3) & (comps[name] < 0.9)).all()), (name, comps[name])
    gt = baboon["gt"][crop]
    assert float(metric.components(gt, gt)["wavelet"]) == pytest.approx(1.0)


@pytest.mark.parametrize("artifact", sorted(ARTIFACTS))
def test_stronger_artifacts_lower_the_wavelet_term(metric, set5_pairs, baboon, artifact):
    fn, strengths = ARTIFACTS[artifact]
    for clean in (set5_pairs["butterfly"][1][..., :192, :192], baboon["gt"][..., :192, :192]):
        degraded = torch.cat([fn(clean, s) for s in strengths])
        wav = metric.components(degraded, clean)["wavelet"]  # one target, four preds
        assert float(wav.max()) < 1.0
        assert bool((wav.diff() < 0).all()), (artifact, wav)
