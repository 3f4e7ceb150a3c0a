"""The metric contract (DESIGN.md), checked on every registered metric that needs no weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semfidelity import create_metric, list_metrics, metric_info
from semfidelity.registry import get_spec

# Package metrics only: other test modules register toy metrics during collection.
WEIGHT_FREE = [
    n
    for n in list_metrics()
    if not metric_info(n)["weights"] and get_spec(n).factory.__module__.startswith("semfidelity.")
]


def _size(name: str) -> int:
    return max(metric_info(name)["min_size"], 32)


@pytest.fixture(scope="module")
def hr_crop(set5_pairs) -> torch.Tensor:
    return set5_pairs["baby"][1]  # (1, 3, 512, 512) real HR image


def _pair(hr: torch.Tensor, name: str, batch: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    s = _size(name)
    target = hr[..., 100 : 100 + s, 120 : 120 + s]
    g = torch.Generator().manual_seed(1)
    noise = torch.randn((batch, *target.shape[1:]), generator=g) * torch.tensor(
        [0.02, 0.08, 0.2][:batch]
    ).view(-1, 1, 1, 1)
    return (target + noise).clamp(0, 1), target


def test_classical_metrics_are_covered():
    assert {"psnr", "ssim", "ms_ssim", "edge_ssim", "wavelet"} <= set(WEIGHT_FREE)


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_output_shape_dtype_range_and_batch_invariance(name, hr_crop):
    m = create_metric(name, device="cpu")
    pred, target = _pair(hr_crop, name)
    s = m(pred, target)
    assert s.shape == (3,) and s.dtype == torch.float32
    lo, hi = m.score_range
    assert ((s >= lo) & (s <= hi)).all()
    single = torch.cat([m(pred[i : i + 1], target) for i in range(3)])
    assert torch.allclose(s, single, atol=1e-5, rtol=0)
    assert torch.allclose(m(pred, target.expand(3, -1, -1, -1)), s, atol=1e-6, rtol=0)
    assert m(pred[0], target[0]).shape == (1,)  # a 3-D tensor is a batch of one
    best = m(target, target)
    assert (best <= s).all() if m.lower_better else (best >= s).all()


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_uint8_numpy_input_is_converted(name, hr_crop):
    m = create_metric(name, device="cpu")
    pred, target = _pair(hr_crop, name, batch=1)
    as_u8 = [(x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for x in (pred, target)]
    from_u8 = m(*as_u8)
    ref = m(*[torch.from_numpy(a).permute(2, 0, 1).float() / 255 for a in as_u8])
    assert torch.allclose(from_u8, ref, atol=1e-6)


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_bad_input_messages(name, hr_crop):
    m = create_metric(name, device="cpu")
    pred, target = _pair(hr_crop, name, batch=1)
    cases = [
        (pred[0, 0, 0], target, ValueError, "ndim|shape"),
        (torch.cat([pred, pred[:, :1]], dim=1), target, ValueError, "alpha"),
        (torch.cat([pred, pred[..., :2]], dim=-1), target, ValueError, "same height and width"),
        ((pred * 255).to(torch.uint8), target, TypeError, "dtype"),
        (pred.clone().index_fill_(-1, torch.tensor([3]), math.nan), target, ValueError, "NaN"),
        (pred * 255, target, ValueError, r"\[0, 1\]"),
    ]
    for p, t, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            m(p, t)
    small = m.min_size - 1
    if small >= 1:
        with pytest.raises(ValueError, match="smaller than the minimum"):
            m(pred[..., :small, :small], target[..., :small, :small])
    with pytest.raises(ValueError, match="target batch"):
        m(torch.cat([pred] * 3), torch.cat([target] * 2))
