"""Properties shared by the classical metrics (psnr, ssim, ms_ssim, edge_ssim, wavelet): ranking,
monotonicity, batch invariance, gradients, range, symmetry, metadata and bad options.

Checks of one metric alone live in test_psnr.py and test_ssim_metrics.py."""

from __future__ import annotations

import pytest
import torch
from classical_helpers import cpu_metric
from hypothesis import given, settings
from hypothesis import strategies as st

import semfidelity
from semfidelity import create_metric, metric_info

NAMES = ("psnr", "ssim", "ms_ssim", "edge_ssim", "wavelet")


SYMMETRIC = ("psnr", "ssim", "edge_ssim", "wavelet")


def _noisy(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def test_real_sr_outputs_rank_below_identity(baboon):
    gt = baboon["gt"][..., 100:356, 100:356]
    sr = torch.cat(
        [baboon[k][..., 100:356, 100:356] for k in ("esrgan_xinntao", "esrgan_lornatang")]
    )
    for name in NAMES:
        m = cpu_metric(name)
        s, best = m(sr, gt), m(gt, gt)
        assert (s < best).all(), name


@pytest.mark.parametrize("name", NAMES)
def test_monotone_in_gaussian_noise(name, set5_pairs):
    _, hr = set5_pairs["bird"]
    noisy = torch.cat([_noisy(hr, s) for s in (0.0, 0.02, 0.05, 0.1, 0.2)])
    scores = cpu_metric(name)(noisy, hr)
    assert (scores[1:] < scores[:-1]).all(), scores


@pytest.mark.parametrize("name", NAMES)
def test_batch_invariance_and_broadcast(name, baboon):
    gt = baboon["gt"][..., :200, :208]
    pred = torch.cat([_noisy(gt, s, seed=i) for i, s in enumerate((0.03, 0.1, 0.3))])
    m = cpu_metric(name)
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
        m = cpu_metric(name)
        lo, hi = m.score_range
        s, same = m(y, x), m(x, x)
        assert ((s >= lo) & (s <= hi)).all(), name
        assert (same >= s).all(), name
        assert torch.allclose(m(x, y), s, atol=1e-5), name
    assert torch.allclose(cpu_metric("ssim")(x, x), torch.ones(2), atol=1e-5)
    assert torch.allclose(cpu_metric("psnr")(x, x), torch.full((2,), 100.0))


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
    assert cpu_metric("ssim", crop_border=4).min_size == 19
    assert cpu_metric("wavelet", wavelet="db2", levels=4).min_size == 48
    assert cpu_metric("edge_ssim", edge="canny").differentiable is False
    with pytest.raises(ValueError, match="smaller than the minimum 48x48"):
        cpu_metric("wavelet", wavelet="db2", levels=4)(
            torch.rand(1, 3, 47, 60), torch.rand(1, 3, 47, 60)
        )
    x = torch.rand(1, 3, 18, 18)
    with pytest.raises(ValueError, match="minimum 19x19"):
        cpu_metric("ssim", crop_border=4)(x, x)


def test_bad_options():
    with pytest.raises(TypeError, match="y_channel"):
        cpu_metric("psnr", y_channel="yes")
    with pytest.raises(ValueError, match="crop_border"):
        cpu_metric("ssim", crop_border=-1)
    with pytest.raises(ValueError, match="data_range"):
        cpu_metric("psnr", data_range=0)
    with pytest.raises(ValueError, match="edge"):
        cpu_metric("edge_ssim", edge="laplace")
    with pytest.raises(ValueError, match="canny"):
        semfidelity.create_metric("edge_ssim", device="cpu", as_loss=True, edge="canny")
    with pytest.raises(ValueError, match="wavelet"):
        cpu_metric("wavelet", wavelet="morlet")
    with pytest.raises(ValueError, match="levels"):
        cpu_metric("wavelet", levels=0)
    with pytest.raises(TypeError, match="levls"):
        cpu_metric("wavelet", levls=2)
