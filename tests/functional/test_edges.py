"""Edge maps and edge SSIM against a direct NumPy/SciPy/scikit-image computation."""

from __future__ import annotations

import kornia
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from skimage.metrics import structural_similarity

from semfidelity.functional import edge_map, edge_ssim, rgb_to_luma
from semfidelity.functional.edges import sobel_magnitude


def _np_edges(x: torch.Tensor) -> np.ndarray:
    y = x[0].permute(1, 2, 0).double().numpy() @ np.array([0.299, 0.587, 0.114])
    gx = ndimage.sobel(y, axis=1, mode="nearest") / 8.0
    gy = ndimage.sobel(y, axis=0, mode="nearest") / 8.0
    return np.clip(np.sqrt(gx**2 + gy**2 + 1e-6), 0.0, 1.0)


def test_sobel_edge_map_matches_numpy(baboon):
    x = baboon["gt"]
    ours = edge_map(x)
    assert ours.shape == (1, 1, *x.shape[-2:])
    assert np.abs(ours[0, 0].numpy() - _np_edges(x)).max() < 1e-5
    assert ours.min() >= 0 and ours.max() <= 1
    ref = kornia.filters.sobel(rgb_to_luma(x), normalized=True, eps=1e-6)
    assert torch.allclose(sobel_magnitude(rgb_to_luma(x)), ref, atol=1e-6)


def test_edge_ssim_matches_naive_skimage(set5_pairs, baboon):
    pairs = [set5_pairs["butterfly"], (baboon["esrgan_xinntao"], baboon["gt"])]
    for pred, target in pairs:
        ref = structural_similarity(
            _np_edges(pred),
            _np_edges(target),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        assert abs(edge_ssim(pred, target).item() - max(ref, 0.0)) < 1e-4


def test_canny_edges_are_binary_and_ssim_bounded(set5_pairs):
    # kornia's Canny is slow on CPU: a 96x96 crop of a real image is enough here.
    pred, target = (x[..., 100:196, 100:196] for x in set5_pairs["head"])
    e = edge_map(target, edge="canny")
    assert set(torch.unique(e).tolist()) <= {0.0, 1.0}
    assert e.sum() > 0
    s = edge_ssim(pred, target, edge="canny")
    assert 0.0 <= s.item() < 1.0
    assert edge_ssim(target, target, edge="canny").item() == pytest.approx(1.0, abs=1e-5)


def test_unknown_edge_method():
    with pytest.raises(ValueError, match="edge"):
        edge_map(torch.rand(1, 3, 16, 16), edge="prewitt")


def test_luma_is_bt601():
    x = torch.rand(2, 3, 5, 7)
    ref = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(rgb_to_luma(x)[:, 0], ref, atol=1e-7)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(11, 24), st.floats(0.02, 0.5))
def test_edge_ssim_properties(seed, size, noise):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, size, size + 3, generator=g)
    y = (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)
    s = edge_ssim(x, y)
    assert torch.allclose(edge_ssim(x, x), torch.ones(2), atol=1e-5)
    assert torch.allclose(s, edge_ssim(y, x), atol=1e-6)
    assert ((s >= 0) & (s <= 1)).all()
    assert torch.allclose(edge_ssim(x[1:], y[1:]), s[1:], atol=1e-5)
