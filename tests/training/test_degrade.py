"""degrade(): determinism per seed, identity at 0, PSNR strictly falling with intensity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data as skdata

from semfidelity.training import degrade
from semfidelity.training.degrade import sample_params


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


@pytest.fixture(scope="module")
def photos(set5_pairs) -> dict[str, torch.Tensor]:
    """Three real photographs, cropped to 192x192 to keep the test fast."""
    out = {n: set5_pairs[n][1][0] for n in ("baby", "butterfly")}
    out["coffee"] = torch.from_numpy(np.asarray(skdata.coffee())).permute(2, 0, 1).float() / 255
    return {n: x[:, 32:224, 32:224].contiguous() for n, x in out.items()}


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_psnr_falls_strictly_as_intensity_rises(photos, seed):
    for name, x in photos.items():
        psnrs = [_psnr(degrade(x, t, seed), x) for t in (0.3, 0.7, 1.0)]
        assert psnrs[0] > psnrs[1] > psnrs[2], (name, seed, psnrs)
        assert psnrs[0] < 45.0  # 0.3 already degrades visibly


def test_same_seed_same_output_other_seed_differs(photos):
    x = photos["butterfly"]
    a, b = degrade(x, 0.7, seed=5), degrade(x, 0.7, seed=5)
    assert torch.equal(a, b)
    assert not torch.equal(a, degrade(x, 0.7, seed=6))


def test_shape_range_dtype_and_identity(photos):
    x = photos["baby"][:, :97, :131]
    y = degrade(x, 1.0, seed=3)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert torch.equal(degrade(x, 0.0, seed=3), x)
    batched = degrade(x[None], 0.3, seed=3)
    assert batched.shape == (1, *x.shape)
    assert torch.equal(batched[0], degrade(x, 0.3, seed=3))


def test_parameters_scale_with_intensity():
    lo, hi = sample_params(0.3, 11), sample_params(1.0, 11)
    assert lo.sigma_x < hi.sigma_x and lo.scale < hi.scale and lo.gauss_std < hi.gauss_std
    assert lo.jpeg_quality > hi.jpeg_quality >= 25
    assert lo.down_mode == hi.down_mode and lo.angle == hi.angle  # same chain, only stronger
    kinds = {(sample_params(1.0, s).sigma_x == sample_params(1.0, s).sigma_y) for s in range(20)}
    assert kinds == {True, False}  # isotropic and anisotropic kernels both occur


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_intensity_is_rejected(bad):
    with pytest.raises(ValueError, match="intensity"):
        degrade(torch.rand(3, 16, 16), bad, 0)


def test_bad_types_are_rejected():
    with pytest.raises(TypeError, match="intensity"):
        degrade(torch.rand(3, 16, 16), "high", 0)
    with pytest.raises(TypeError, match="seed"):
        degrade(torch.rand(3, 16, 16), 0.5, 1.5)
    with pytest.raises(ValueError, match="3 channels"):
        degrade(torch.rand(1, 16, 16), 0.5, 0)


def test_bsrgan_kind_keeps_size_is_seeded_and_grows_with_intensity(photos):
    x = photos["butterfly"][:, :150, :133]  # odd size: reflect-padded to a multiple of 4
    a = degrade(x, 0.7, seed=2, kind="bsrgan")
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, degrade(x, 0.7, seed=2, kind="bsrgan"))
    assert not torch.equal(a, degrade(x, 0.7, seed=3, kind="bsrgan"))
    batch = degrade(torch.stack([x, x.flip(-1)]), 0.7, seed=2, kind="bsrgan")
    assert torch.equal(batch[0], a)
    assert degrade(x[:, :5, :6], 1.0, seed=0, kind="bsrgan", scale=2).shape == (3, 5, 6)
    mean_psnr = [
        np.mean([_psnr(degrade(x, t, s, kind="bsrgan"), x) for s in range(5)])
        for t in (0.3, 0.7, 1.0)
    ]
    assert mean_psnr[0] > mean_psnr[1] > mean_psnr[2], mean_psnr


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        degrade(torch.rand(3, 16, 16), 0.5, 0, kind="realesrgan")
