"""SSIM and MS-SSIM (semfidelity/metrics/ssim.py): parity with skimage and piq, the SSIM map.

Not test_ssim.py: tests/functional/test_ssim.py has that name, and test file names must be
unique (the test folders have no __init__.py)."""

from __future__ import annotations

import piq
import torch
from classical_helpers import cpu_metric, np_y
from skimage.metrics import structural_similarity


def test_ssim_y_channel_and_crop_match_skimage(set5_pairs):
    pred, target = set5_pairs["woman"]
    ref = structural_similarity(
        np_y(pred)[4:-4, 4:-4],
        np_y(target)[4:-4, 4:-4],
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
    )
    assert abs(cpu_metric("ssim", y_channel=True, crop_border=4)(pred, target).item() - ref) < 1e-4


def test_ssim_map_at_input_resolution(set5_pairs):
    pred, target = set5_pairs["head"]
    m = cpu_metric("ssim").map(pred, target)
    assert m.shape == (1, 1, *pred.shape[-2:])
    assert m.max() <= 1 and abs(m.mean().item() - cpu_metric("ssim")(pred, target).item()) < 0.02
    score, same_map = cpu_metric("ssim").score_and_map(pred, target)
    assert torch.equal(same_map, m) and torch.equal(score, cpu_metric("ssim")(pred, target))


def test_ms_ssim_matches_piq_on_baboon(baboon):
    pred, target = baboon["esrgan_xinntao"][..., :176, :180], baboon["gt"][..., :176, :180]
    ref = piq.multi_scale_ssim(pred, target, data_range=1.0, reduction="none")
    assert torch.allclose(cpu_metric("ms_ssim")(pred, target), ref, atol=2e-5, rtol=0)
