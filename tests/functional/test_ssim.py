"""SSIM / MS-SSIM parity with scikit-image and piq on real SR images, plus properties."""

from __future__ import annotations

import numpy as np
import piq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import structural_similarity

from semfidelity.functional import ms_ssim, rgb_to_y, ssim, ssim_map

SK = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


def _matlab_y(x: torch.Tensor) -> np.ndarray:
    rgb = _hwc(x)
    return (16.0 + rgb @ np.array([65.481, 128.553, 24.966])) / 255.0


def test_ssim_matches_skimage_on_set5_and_baboon(set5_pairs, baboon):
    pairs = [set5_pairs[n] for n in ("bird", "head", "woman")]
    for pred, target in pairs + [(baboon["esrgan_xinntao"], baboon["gt"])]:
        ref = structural_similarity(_hwc(pred), _hwc(target), channel_axis=2, **SK)
        assert abs(ssim(pred, target).item() - ref) < 1e-4
    for pred, target in pairs:
        ref_y = structural_similarity(_matlab_y(pred), _matlab_y(target), **SK)
        assert abs(ssim(rgb_to_y(pred), rgb_to_y(target)).item() - ref_y) < 1e-4


def test_full_ssim_map_matches_skimage_map(set5_pairs):
    pred, target = set5_pairs["bird"]
    _, ref = structural_similarity(_hwc(pred), _hwc(target), channel_axis=2, full=True, **SK)
    ours = ssim_map(pred, target, full=True)
    assert ours.shape == (1, 1, *pred.shape[-2:])
    # per pixel, float32 statistics drift most in flat regions (denominator ~ C2 = 9e-4)
    assert np.abs(ours[0, 0].numpy() - ref.mean(axis=2)).max() < 5e-4
    assert ssim_map(pred, target).shape == (1, 1, pred.shape[-2] - 10, pred.shape[-1] - 10)


def test_ms_ssim_matches_piq_even_and_odd_sizes(set5_pairs, baboon):
    pairs = [set5_pairs["baby"], set5_pairs["head"], (baboon["esrgan_lornatang"], baboon["gt"])]
    # odd height and width: piq pads one replicated row/column before pooling; so do we.
    pred, target = set5_pairs["baby"]
    pairs.append((pred[..., :201, :179], target[..., :201, :179]))
    for pred, target in pairs:
        ref = piq.multi_scale_ssim(pred, target, data_range=1.0, reduction="none")
        assert torch.allclose(ms_ssim(pred, target), ref, atol=2e-5, rtol=0)


def test_ms_ssim_rejects_small_images():
    x = torch.rand(1, 3, 160, 200)
    with pytest.raises(ValueError, match="161x161"):
        ms_ssim(x, x)


def test_float32_statistics_under_autocast(set5_pairs):
    pred, target = set5_pairs["bird"]
    ref = ssim(pred, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = ssim(pred, target)
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(11, 24),
    st.integers(11, 24),
    st.floats(0.01, 0.5),
)
def test_ssim_properties(seed, h, w, noise):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, 3, h, w, generator=g)
    y = (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)
    s = ssim(x, y)
    assert torch.allclose(ssim(x, x), torch.ones(3), atol=1e-5)
    assert torch.allclose(s, ssim(y, x), atol=1e-6)
    assert ((s >= -1) & (s <= 1 + 1e-6)).all()
    assert torch.allclose(ssim(x[1:2], y[1:2]), s[1:2], atol=1e-5)
    assert torch.allclose(ssim(x, y[:1]), ssim(x, y[:1].expand_as(x)), atol=1e-6)


@pytest.mark.parametrize("chunk", [3000, 20000, 100000])  # row bands; whole images
def test_row_band_chunking_matches_one_pass(monkeypatch, chunk):
    import importlib

    from semfidelity.functional import edge_ssim

    mod = importlib.import_module("semfidelity.functional.ssim")
    g = torch.Generator().manual_seed(3)
    target = torch.rand(2, 3, 177, 169, generator=g)
    pred = (target + 0.1 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    ref = (
        ssim(pred, target),
        ssim_map(pred, target),
        ssim_map(pred, target, full=True),
        ms_ssim(pred, target),
        edge_ssim(pred, target),
    )
    monkeypatch.setattr(mod, "CHUNK_ELEMENTS", chunk)
    plan = mod._plan(pred.shape, 11)
    assert len(plan) > 1  # several bands: row bands with an uneven last one, or one per image
    out = (
        ssim(pred, target),
        ssim_map(pred, target),
        ssim_map(pred, target, full=True),
        ms_ssim(pred, target),
        edge_ssim(pred, target),
    )
    for a, b in zip(ref, out):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() < 1e-6
