"""PSNR (semfidelity/metrics/psnr.py): parity with numpy on real images, data_range."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from classical_helpers import cpu_metric, hwc, np_y


def test_psnr_equals_numpy(set5_pairs):
    rgb, y_crop = cpu_metric("psnr"), cpu_metric("psnr", y_channel=True, crop_border=4)
    for pred, target in set5_pairs.values():
        mse = np.mean((hwc(pred) - hwc(target)) ** 2)
        assert rgb(pred, target).item() == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)
        d = (np_y(pred) - np_y(target))[4:-4, 4:-4]
        ref = 10 * math.log10(1 / np.mean(d**2))
        assert y_crop(pred, target).item() == pytest.approx(ref, abs=1e-4)


def test_psnr_data_range():
    x, y = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.25)
    assert cpu_metric("psnr", data_range=2.0)(x, y).item() == pytest.approx(
        10 * math.log10(4 / 0.0625)
    )


@pytest.mark.parametrize(("shape", "target_batch"), [((3, 3, 37, 41), 1), ((2, 3, 150, 301), 2)])
def test_fused_check_path_scores_and_refuses_like_the_plain_path(shape, target_batch, monkeypatch):
    """Contiguous float32 CPU input takes psnr_in_unit_range (check inside the score pass);
    scores equal the plain functional psnr bitwise, errors are the usual ones, pred first."""
    fpsnr = importlib.import_module("semfidelity.functional.psnr")  # the module, not psnr()
    monkeypatch.setattr(fpsnr, "CHUNK_ELEMENTS", 8192)  # several chunks and a short last one
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    assert not cpu_metric("psnr")._fusable(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    torch.set_num_threads(1)  # the fused path runs with one torch thread only
    g = torch.Generator().manual_seed(3)
    target = torch.rand(target_batch, *shape[1:], generator=g)
    pred = (target + 0.1 * torch.randn(shape, generator=g)).clamp(0, 1)
    m = cpu_metric("psnr")
    assert m._fusable(pred, target) and not m._fusable(pred[:, :, ::2], target[:, :, ::2])
    with torch.no_grad():
        assert torch.equal(m(pred, target), fpsnr.psnr(pred, target))
    bad_pred, bad_target = pred.clone(), target.clone()
    bad_pred[-1, 2, -1, -1] = 1.5
    bad_target[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"pred: values must lie in \[0, 1\]"):
        m(bad_pred, bad_target)
    with pytest.raises(ValueError, match="target: contains NaN or Inf"):
        m(pred, bad_target)
    edge = pred.clone()
    edge[0, 0, 0, 0] = -0.0  # fails the bit check, passes the exact one
    assert torch.isfinite(m(edge, target)).all()
    torch.set_num_threads(threads)
