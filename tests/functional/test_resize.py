"""MATLAB-bicubic resize: equal to BasicSR's imresize (the port of MATLAB's) on random data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference.basicsr_niqe import imresize

from semfidelity.functional.resize import imresize_matlab, matlab_resize_matrix


@pytest.mark.parametrize(
    ("shape", "scale"),
    [((97, 130), 0.5), ((96, 96), 0.5), ((50, 61), 0.25), ((45, 45), 1 / 3), ((40, 33), 2.0)],
)
def test_equals_basicsr_imresize(shape, scale):
    a = np.random.default_rng(0).random(shape).astype(np.float32)
    ref = imresize(a, scale)
    ours = imresize_matlab(torch.from_numpy(a).double()[None, None], scale)[0, 0].numpy()
    assert ours.shape == ref.shape
    # BasicSR works in float32: agreement to float32 rounding.
    assert np.abs(ours - ref).max() < 5e-7


def test_rows_sum_to_one_and_scale_one_is_identity():
    mat = matlab_resize_matrix(37, 19, 0.5)
    assert torch.allclose(mat.sum(1), torch.ones(19, dtype=torch.float64))
    x = torch.rand(2, 3, 11, 13, dtype=torch.float64)
    assert torch.allclose(imresize_matlab(x, 1.0), x, atol=1e-12)


def test_constant_stays_constant_and_batch_matches():
    x = torch.rand(3, 1, 40, 52, dtype=torch.float64)
    out = imresize_matlab(x, 0.5)
    assert out.shape == (3, 1, 20, 26)
    for i in range(3):
        assert torch.allclose(out[i : i + 1], imresize_matlab(x[i : i + 1], 0.5))
    flat = imresize_matlab(torch.full((1, 1, 30, 30), 0.3, dtype=torch.float64), 0.5)
    assert torch.allclose(flat, torch.full_like(flat, 0.3))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="scale"):
        imresize_matlab(torch.rand(1, 1, 8, 8), 0)
    with pytest.raises(ValueError, match="x: expected"):
        imresize_matlab(torch.rand(8, 8), 0.5)
