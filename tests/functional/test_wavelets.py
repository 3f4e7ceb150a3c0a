"""Torch DWT against pywt.wavedec2, and the TWS wavelet term against a NumPy computation."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semfidelity.functional import dwt2, rgb_to_luma, wavelet_similarity, wavelet_similarity_map


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


def _np_wavelet_similarity(pred, target, wavelet="haar", levels=3, formula="stable", k=0.015):
    cp = pywt.wavedec2(rgb_to_luma(pred)[0, 0].double().numpy(), wavelet, level=levels)
    ct = pywt.wavedec2(rgb_to_luma(target)[0, 0].double().numpy(), wavelet, level=levels)
    sims = []
    for bands_p, bands_t in zip(cp[1:], ct[1:]):
        for a, b in zip(bands_p, bands_t):
            a, b = np.abs(a), np.abs(b)
            if formula == "stable":
                c = k**2
                sims.append((2 * (a * b).mean() + c) / ((a * a + b * b).mean() + c))
            else:
                sims.append(1.0 - np.abs(a - b).sum() / (a + b).sum())
    return float(np.mean(sims))


@pytest.mark.parametrize("formula", ["stable", "ratio"])
def test_wavelet_similarity_matches_numpy(set5_pairs, baboon, formula):
    pairs = [set5_pairs["woman"], (baboon["esrgan_lornatang"], baboon["gt"])]
    for pred, target in pairs:
        for wavelet, levels in (("haar", 3), ("db2", 2)):
            ref = _np_wavelet_similarity(pred, target, wavelet, levels, formula)
            ours = wavelet_similarity(
                pred, target, wavelet=wavelet, levels=levels, formula=formula
            ).item()
            assert abs(ours - ref) < 1e-5


def _ramp_plus_noise(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size).view(1, 1, 1, size).expand(1, 3, size, size)
    noise = torch.randn(1, 1, size, size, generator=g).expand(1, 3, -1, -1) / 255
    return (ramp + noise).clamp(0, 1), ramp.contiguous()


def test_stable_formula_does_not_collapse_on_smooth_content(set5_pairs):
    """Issue 12: the scale-free ratio called faint noise on a ramp and one tiny impulse on a
    flat image untrustworthy (0.29 and ~0), below the visibly blurred bicubic x4 outputs."""
    flat = torch.full((1, 3, 64, 64), 0.5)
    impulse = flat.clone()
    impulse[..., 32, 32] += 1e-3
    assert float(wavelet_similarity(impulse, flat, formula="ratio")) < 0.01  # the old collapse
    assert float(wavelet_similarity(impulse, flat)) >= 0.99
    for size in (64, 256):
        for seed in range(3):
            pred, target = _ramp_plus_noise(size, seed)
            assert float(wavelet_similarity(pred, target, formula="ratio")) < 0.6
            assert float(wavelet_similarity(pred, target)) >= 0.9, (size, seed)
    for name, (bicubic, hr) in set5_pairs.items():
        assert float(wavelet_similarity(bicubic, hr)) < 0.8, name


def test_wavelet_k_zero_is_scale_free_and_k_raises_the_floor():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 1, 32, 32, generator=g).unbind(0)
    x, y = x[None], y[None]
    s0 = wavelet_similarity(x, y, k=0)
    torch.testing.assert_close(wavelet_similarity(0.1 * x, 0.1 * y, k=0), s0)
    assert float(wavelet_similarity(0.1 * x, 0.1 * y)) > float(s0)  # faint detail: less penalty


def test_wavelet_similarity_map(set5_pairs):
    bicubic, hr = (t[..., :96, :128] for t in set5_pairs["bird"])
    m = wavelet_similarity_map(bicubic, hr)
    assert m.shape == (1, 1, 96, 128) and float(m.min()) >= 0 and float(m.max()) <= 1
    torch.testing.assert_close(wavelet_similarity_map(hr, hr), torch.ones(1, 1, 96, 128))
    broken = hr.clone()
    broken[..., 40:72, 60:100] = torch.rand(
        1, 3, 32, 40, generator=torch.Generator().manual_seed(0)
    )
    local = wavelet_similarity_map(broken, hr)[0, 0]
    assert float(local[44:68, 64:96].mean()) < 0.5 * float(local[:, :40].mean())


def test_bad_wavelet_options():
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="wavelet"):
        wavelet_similarity(x, x, wavelet="nope")
    with pytest.raises(ValueError, match="levels"):
        dwt2(x, "haar", 0)
    with pytest.raises(ValueError, match="mode"):
        dwt2(x, "haar", 1, mode="zero")
    with pytest.raises(ValueError, match="wavelet_formula.*'stable', 'ratio'"):
        wavelet_similarity(x, x, formula="l2")
    with pytest.raises(ValueError, match="wavelet_k.*>= 0"):
        wavelet_similarity(x, x, k=-1)
    with pytest.raises(ValueError, match="window"):
        wavelet_similarity_map(x, x, window=2)


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
