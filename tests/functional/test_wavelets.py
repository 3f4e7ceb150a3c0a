"""Torch DWT against pywt.wavedec2, and the TWS wavelet term against a NumPy computation."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semfidelity.functional import dwt2, rgb_to_luma, wavelet_similarity


def _max_err(ours, ref) -> float:
    approx, details = ours
    errs = [np.abs(approx.numpy() - ref[0]).max()]
    for bands, ref_bands in zip(details, ref[1:]):
        errs += [np.abs(b.numpy() - r).max() for b, r in zip(bands, ref_bands)]
    return float(max(errs))


@pytest.mark.parametrize("mode", ["symmetric", "periodization"])
def test_dwt2_matches_pywt_wavedec2(baboon, mode):
    x = baboon["gt"][..., :-3, :]  # 477x492: one odd side
    for wavelet in ("haar", "db2", "sym4"):
        ours = dwt2(x, wavelet, 3, mode=mode)
        ref = pywt.wavedec2(x.double().numpy(), wavelet, level=3, mode=mode, axes=(-2, -1))
        assert len(ours[1]) == 3
        assert ours[0].shape == ref[0].shape
        assert _max_err(ours, ref) < 1e-5
    even = baboon["gt"][..., :480, :488]  # even sides at all 3 levels: the 2x2 haar path
    ref = pywt.wavedec2(even.double().numpy(), "haar", level=3, mode=mode, axes=(-2, -1))
    assert _max_err(dwt2(even, "haar", 3, mode=mode), ref) < 1e-5


def _np_wavelet_similarity(pred, target, wavelet="haar", levels=3) -> float:
    cp = pywt.wavedec2(rgb_to_luma(pred)[0, 0].double().numpy(), wavelet, level=levels)
    ct = pywt.wavedec2(rgb_to_luma(target)[0, 0].double().numpy(), wavelet, level=levels)
    ratios = []
    for bands_p, bands_t in zip(cp[1:], ct[1:]):
        for a, b in zip(bands_p, bands_t):
            ratios.append(np.abs(np.abs(a) - np.abs(b)).sum() / (np.abs(a) + np.abs(b)).sum())
    return 1.0 - float(np.mean(ratios))


def test_wavelet_similarity_matches_numpy(set5_pairs, baboon):
    pairs = [set5_pairs["woman"], (baboon["esrgan_lornatang"], baboon["gt"])]
    for pred, target in pairs:
        for wavelet, levels in (("haar", 3), ("db2", 2)):
            ref = _np_wavelet_similarity(pred, target, wavelet, levels)
            ours = wavelet_similarity(pred, target, wavelet=wavelet, levels=levels).item()
            assert abs(ours - ref) < 1e-5


def test_bad_wavelet_options():
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="wavelet"):
        wavelet_similarity(x, x, wavelet="nope")
    with pytest.raises(ValueError, match="levels"):
        dwt2(x, "haar", 0)
    with pytest.raises(ValueError, match="mode"):
        dwt2(x, "haar", 1, mode="zero")


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(8, 40), st.floats(0.02, 0.5))
def test_wavelet_similarity_properties(seed, size, noise):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, size, size + 1, generator=g)
    y = (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)
    s = wavelet_similarity(x, y)
    assert torch.allclose(wavelet_similarity(x, x), torch.ones(2))
    assert torch.allclose(s, wavelet_similarity(y, x), atol=1e-6)
    assert ((s >= 0) & (s <= 1)).all()
    assert torch.allclose(wavelet_similarity(x[:1], y[:1]), s[:1], atol=1e-5)
    assert torch.allclose(
        wavelet_similarity(x, y[:1]), wavelet_similarity(x, y[:1].repeat(2, 1, 1, 1))
    )
