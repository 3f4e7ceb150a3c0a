"""Registered classical metrics: parity on real images, options, metadata and properties."""

from __future__ import annotations

import math

import numpy as np
import piq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import structural_similarity

import semfidelity
from semfidelity import create_metric, metric_info

NAMES = ("psnr", "ssim", "ms_ssim", "edge_ssim", "wavelet")
SYMMETRIC = ("psnr", "ssim", "edge_ssim", "wavelet")


def _m(name: str, **options):
    return create_metric(name, device="cpu", **options)


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


def _np_y(x: torch.Tensor) -> np.ndarray:
    return (16.0 + _hwc(x) @ np.array([65.481, 128.553, 24.966])) / 255.0


def _noisy(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def test_psnr_equals_numpy(set5_pairs):
    rgb, y_crop = _m("psnr"), _m("psnr", y_channel=True, crop_border=4)
    for pred, target in set5_pairs.values():
        mse = np.mean((_hwc(pred) - _hwc(target)) ** 2)
        assert rgb(pred, target).item() == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)
        d = (_np_y(pred) - _np_y(target))[4:-4, 4:-4]
        ref = 10 * math.log10(1 / np.mean(d**2))
        assert y_crop(pred, target).item() == pytest.approx(ref, abs=1e-4)


def test_psnr_data_range():
    x, y = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.25)
    assert _m("psnr", data_range=2.0)(x, y).item() == pytest.approx(10 * math.log10(4 / 0.0625))


def test_ssim_y_channel_and_crop_match_skimage(set5_pairs):
    pred, target = set5_pairs["woman"]
    ref = structural_similarity(
        _np_y(pred)[4:-4, 4:-4],
        _np_y(target)[4:-4, 4:-4],
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
    )
    assert abs(_m("ssim", y_channel=True, crop_border=4)(pred, target).item() - ref) < 1e-4


def test_ssim_map_at_input_resolution(set5_pairs):
    pred, target = set5_pairs["head"]
    m = _m("ssim").map(pred, target)
    assert m.shape == (1, 1, *pred.shape[-2:])
    assert m.max() <= 1 and abs(m.mean().item() - _m("ssim")(pred, target).item()) < 0.02
    score, same_map = _m("ssim").score_and_map(pred, target)
    assert torch.equal(same_map, m) and torch.equal(score, _m("ssim")(pred, target))


def test_ms_ssim_matches_piq_on_baboon(baboon):
    pred, target = baboon["esrgan_xinntao"][..., :176, :180], baboon["gt"][..., :176, :180]
    ref = piq.multi_scale_ssim(pred, target, data_range=1.0, reduction="none")
    assert torch.allclose(_m("ms_ssim")(pred, target), ref, atol=2e-5, rtol=0)


def test_real_sr_outputs_rank_below_identity(baboon):
    gt = baboon["gt"][..., 100:356, 100:356]
    sr = torch.cat(
        [baboon[k][..., 100:356, 100:356] for k in ("esrgan_xinntao", "esrgan_lornatang")]
    )
    for name in NAMES:
        m = _m(name)
        s, best = m(sr, gt), m(gt, gt)
        assert (s < best).all(), name


@pytest.mark.parametrize("name", NAMES)
def test_monotone_in_gaussian_noise(name, set5_pairs):
    _, hr = set5_pairs["bird"]
    noisy = torch.cat([_noisy(hr, s) for s in (0.0, 0.02, 0.05, 0.1, 0.2)])
    scores = _m(name)(noisy, hr)
    assert (scores[1:] < scores[:-1]).all(), scores


@pytest.mark.parametrize("name", NAMES)
def test_batch_invariance_and_broadcast(name, baboon):
    gt = baboon["gt"][..., :200, :208]
    pred = torch.cat([_noisy(gt, s, seed=i) for i, s in enumerate((0.03, 0.1, 0.3))])
    m = _m(name)
    batch = m(pred, gt.expand(3, -1, -1, -1))
    single = torch.cat([m(pred[i : i + 1], gt) for i in range(3)])
    assert batch.shape == (3,) and batch.dtype == torch.float32
    assert torch.allclose(batch, single, atol=1e-5, rtol=0)
    assert torch.allclose(m(pred, gt), batch, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_finite_gradients_at_identical_inputs(name, set5_pairs):
    _, hr = set5_pairs["bird"]
    pred = hr.clone().requires_grad_(True)
    loss = create_metric(name, device="cpu", as_loss=True)(pred, hr)
    assert loss.ndim == 0
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    noisy = _noisy(hr, 0.1).requires_grad_(True)
    create_metric(name, device="cpu", as_loss=True)(noisy, hr).backward()
    assert noisy.grad.abs().sum() > 0


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    h=st.integers(16, 40),
    w=st.integers(16, 40),
    sigma=st.floats(0.01, 0.4),
)
def test_identity_best_range_symmetry(seed, h, w, sigma):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, h, w, generator=g)
    y = (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)
    for name in SYMMETRIC:
        m = _m(name)
        lo, hi = m.score_range
        s, same = m(y, x), m(x, x)
        assert ((s >= lo) & (s <= hi)).all(), name
        assert (same >= s).all(), name
        assert torch.allclose(m(x, y), s, atol=1e-5), name
    assert torch.allclose(_m("ssim")(x, x), torch.ones(2), atol=1e-5)
    assert torch.allclose(_m("psnr")(x, x), torch.full((2,), 100.0))


def test_metadata():
    for name in NAMES:
        info = metric_info(name)
        assert info["lower_better"] is False and info["requires_reference"] is True
        assert info["differentiable"] is True and info["weights"] == []
    assert metric_info("psnr")["score_range"] == [0.0, None]
    assert metric_info("ssim")["score_range"] == [-1.0, 1.0] and metric_info("ssim")["has_map"]
    assert metric_info("ms_ssim")["min_size"] == 161
    assert metric_info("wavelet")["min_size"] == 8
    assert metric_info("wavelet")["options"] == {
        "wavelet": "haar",
        "levels": 3,
        "mode": "symmetric",
        "formula": "stable",
        "k": 0.015,
    }
    assert metric_info("edge_ssim")["options"] == {"edge": "sobel"}
    assert set(metric_info("psnr")["options"]) == {"data_range", "y_channel", "crop_border"}


def test_option_dependent_min_size_and_differentiability():
    assert _m("ssim", crop_border=4).min_size == 19
    assert _m("wavelet", wavelet="db2", levels=4).min_size == 48
    assert _m("edge_ssim", edge="canny").differentiable is False
    with pytest.raises(ValueError, match="smaller than the minimum 48x48"):
        _m("wavelet", wavelet="db2", levels=4)(torch.rand(1, 3, 47, 60), torch.rand(1, 3, 47, 60))
    x = torch.rand(1, 3, 18, 18)
    with pytest.raises(ValueError, match="minimum 19x19"):
        _m("ssim", crop_border=4)(x, x)


def test_bad_options():
    with pytest.raises(TypeError, match="y_channel"):
        _m("psnr", y_channel="yes")
    with pytest.raises(ValueError, match="crop_border"):
        _m("ssim", crop_border=-1)
    with pytest.raises(ValueError, match="data_range"):
        _m("psnr", data_range=0)
    with pytest.raises(ValueError, match="edge"):
        _m("edge_ssim", edge="laplace")
    with pytest.raises(ValueError, match="canny"):
        semfidelity.create_metric("edge_ssim", device="cpu", as_loss=True, edge="canny")
    with pytest.raises(ValueError, match="wavelet"):
        _m("wavelet", wavelet="morlet")
    with pytest.raises(ValueError, match="levels"):
        _m("wavelet", levels=0)
    with pytest.raises(TypeError, match="levls"):
        _m("wavelet", levls=2)
