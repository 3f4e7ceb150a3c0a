"""NIQE: MATLAB's published number, parity with BasicSR's calculate_niqe on real images,
monotone under blur and noise, no-reference call, batch invariance, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from reference.basicsr_niqe import calculate_niqe
from skimage import data as skdata

from semfidelity import create_metric, metric_info
from semfidelity.functional.filters import gaussian_filter, gaussian_kernel1d

# BasicSR's docstring: MATLAB R2021a on its tests/data/baboon.png (byte-identical to our
# tests/data/baboon_x4_esrgan/gt/baboon_492x480.png, sha256 275a75fd...).
MATLAB_BABOON = 5.72957338


@pytest.fixture(scope="module")
def niqe():
    return create_metric("niqe", device="cpu")


def _reference(x: torch.Tensor, crop_border: int = 0) -> float:
    bgr = (x[0].permute(1, 2, 0).numpy() * 255.0).round()[..., ::-1].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return calculate_niqe(bgr, crop_border)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    k = gaussian_kernel1d(2 * int(3 * sigma) + 1, sigma)
    pad = k.numel() // 2
    return gaussian_filter(torch.nn.functional.pad(x, (pad,) * 4, mode="reflect"), k).clamp(0, 1)


def _noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def _astronaut() -> torch.Tensor:
    return torch.from_numpy(skdata.astronaut() / 255.0).float().permute(2, 0, 1)[None]


def test_metadata():
    info = metric_info("niqe")
    assert info["requires_reference"] is False and info["lower_better"] is True
    assert info["differentiable"] is False and info["weights"] == ["niqe-pris-params"]


def test_matlab_number_on_baboon(niqe, baboon):
    assert niqe(baboon["gt"]).item() == pytest.approx(MATLAB_BABOON, abs=1e-4)


def _q(x: torch.Tensor) -> torch.Tensor:
    """8-bit quantised, as any image read from a file (the reference rounds its input)."""
    return (x * 255).round() / 255


def test_equals_basicsr_on_real_images(niqe, set5_pairs, baboon):
    # Measured over 34 real images and crops: median |diff| 1.6e-5, max 2.4e-4 (docs).
    for x in (set5_pairs["woman"][1], baboon["esrgan_lornatang"], set5_pairs["bird"][0]):
        assert niqe(x).item() == pytest.approx(_reference(x), rel=1e-4)
    cropped = create_metric("niqe", crop_border=4, device="cpu")
    x = set5_pairs["baby"][0]  # a bicubic x4 upsampling
    assert cropped(x).item() == pytest.approx(_reference(x, crop_border=4), rel=1e-4)


def test_equals_basicsr_on_degraded_images(niqe, set5_pairs):
    # float32 rounding inside the reference moves its shape grid search on noisy content:
    # max |diff| 2.6e-3 (3.3e-4 relative) measured on 8-bit noisy/blurred images.
    for x in (_q(_noisy(set5_pairs["baby"][1], 0.05)), _q(_blur(set5_pairs["baby"][1], 2.0))):
        assert niqe(x).item() == pytest.approx(_reference(x), rel=5e-4)


def test_grey_option_uses_bt601(niqe, set5_pairs):
    x = set5_pairs["head"][1]
    grey = create_metric("niqe", y_channel=False, device="cpu")
    luma = (x[0].permute(1, 2, 0).double().numpy() @ np.array([0.299, 0.587, 0.114])) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = calculate_niqe(luma, 0, input_order="HW")
    assert grey(x).item() == pytest.approx(ref, abs=1e-4)
    assert grey(x).item() != pytest.approx(niqe(x).item(), abs=1e-3)


@pytest.mark.parametrize("degrade", [_blur, _noisy], ids=["blur", "noise"])
def test_blur_and_noise_raise_niqe(niqe, baboon, set5_pairs, degrade):
    # A light blur (sigma 1) lowers NIQE on baboon (5.73 -> 4.79; docs): sigmas from 2 up.
    levels = (2.0, 3.0, 4.0) if degrade is _blur else (0.02, 0.05, 0.1)
    for x in (baboon["gt"], _astronaut()):
        scores = [niqe(x).item()] + [niqe(degrade(x, s)).item() for s in levels]
        assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_batch_invariant_and_target_ignored(niqe, set5_pairs):
    a, b = set5_pairs["baby"][1], _noisy(set5_pairs["baby"][1], 0.05)
    both = niqe(torch.cat([a, b]))
    assert torch.allclose(both, torch.cat([niqe(a), niqe(b)]), atol=1e-5)
    assert niqe(a, a.flip(-1)).item() == both[0].item()


def test_flat_image_is_nan_with_a_warning(niqe, caplog):
    with caplog.at_level("WARNING"):
        assert niqe(torch.full((1, 3, 192, 192), 0.5)).isnan().all()
    assert "undefined" in caplog.text


def test_bad_input_and_options():
    with pytest.raises(ValueError, match="at least two 96x96 blocks"):
        create_metric("niqe", device="cpu")(torch.rand(1, 3, 100, 150))
    with pytest.raises(ValueError, match="smaller than the minimum"):
        create_metric("niqe", crop_border=4, device="cpu")(torch.rand(1, 3, 100, 300))
    with pytest.raises(ValueError, match="as_loss"):
        create_metric("niqe", as_loss=True, device="cpu")
    with pytest.raises(ValueError, match="crop_border"):
        create_metric("niqe", crop_border=-1, device="cpu")
    with pytest.raises(TypeError, match="y_channel"):
        create_metric("niqe", y_channel=1, device="cpu")
