"""PSNR (semfidelity/metrics/psnr.py): parity with numpy on real images, data_range."""

from __future__ import annotations

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
