"""semfidelity.metric.Metric: clear errors for odd tensors and arrays, loss-mode range, device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semfidelity import create_metric

GEN = torch.Generator().manual_seed(0)
PRED = torch.rand(1, 3, 32, 32, generator=GEN)
TARGET = torch.rand(1, 3, 32, 32, generator=GEN)


@pytest.mark.parametrize("name", ["psnr", "ssim"])
def test_meta_and_sparse_tensors_get_clear_errors(name):
    m = create_metric(name, device="cpu")
    with pytest.raises(ValueError, match="pred: .*meta tensor"):
        m(torch.empty(1, 3, 32, 32, device="meta"), TARGET)
    with pytest.raises(TypeError, match=r"target: expected a dense .*sparse_coo.*to_dense\(\)"):
        m(PRED, TARGET.to_sparse())


def test_numpy_channels_first_hint_says_transpose_not_permute():
    m = create_metric("psnr", device="cpu")
    chw = (PRED[0].numpy() * 255).astype(np.uint8)
    with pytest.raises(ValueError, match=r"pred: NumPy arrays are channels-last") as info:
        m(chw, chw.transpose(1, 2, 0))
    assert "transpose(1, 2, 0)" in str(info.value) and "permute" not in str(info.value)
    with pytest.raises(ValueError, match=r"transpose\(0, 2, 3, 1\)"):
        m(chw[None], chw[None])


@pytest.mark.parametrize("name", ["psnr", "ssim"])
def test_loss_mode_refuses_data_on_another_scale(name):
    loss = create_metric(name, device="cpu", as_loss=True)
    with pytest.raises(ValueError, match="0..255"):
        loss(PRED * 255, TARGET)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        loss(PRED * 2 - 1, TARGET)
    overshoot = (PRED * 1.2 - 0.1).requires_grad_()  # an unclamped network output
    loss(overshoot, TARGET).backward()
    assert torch.isfinite(overshoot.grad).all()


@pytest.mark.parametrize("move", ["cpu", "to_device", "to_tensor", "to_string"])
def test_device_follows_every_way_of_moving_the_metric(move):
    m = create_metric("psnr", device="meta")
    assert m.device.type == "meta"
    if move == "cpu":
        m.cpu()
    elif move == "to_device":
        m.to(torch.device("cpu"))
    elif move == "to_tensor":
        m.to(torch.zeros(1))
    else:
        m.to("cpu", torch.float32)
    assert m.device == torch.device("cpu")
    out = m(PRED, TARGET)
    assert out.device.type == "cpu" and torch.isfinite(out).all()
    m.to(torch.float64)  # a dtype alone keeps the device
    assert m.device == torch.device("cpu")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_fast_range_check_keeps_the_exact_bounds(dtype):
    """The integer-bits range check accepts exactly [+-0.0, 1.0]: one step past either end,
    NaN of either sign and +-Inf are refused with the usual messages."""
    m = create_metric("psnr", device="cpu")
    base = TARGET.to(dtype)
    bits = {torch.float32: torch.int32, torch.float64: torch.int64}.get(dtype, torch.int16)
    one_up = (torch.ones((), dtype=dtype).view(bits) + 1).view(dtype)  # next float above 1
    tiny_neg = -(torch.zeros((), dtype=dtype).view(bits) + 1).view(dtype)  # -smallest subnormal
    cases = {one_up: r"values must lie in \[0, 1\]", tiny_neg: r"values must lie in \[0, 1\]"}
    cases.update({v: "contains NaN or Inf" for v in (np.nan, -np.nan, np.inf, -np.inf)})
    for value, message in cases.items():
        bad = base.clone()
        bad[0, 1, 5, 7] = value
        with pytest.raises(ValueError, match=f"target: {message}"):
            m(PRED, bad)
    edges = base.clone()
    edges[0, 0, 0, :3] = torch.tensor([-0.0, 0.0, 1.0])
    assert torch.isfinite(m(PRED, edges)).all()  # -0.0 is in range (through the exact check)
    strided = torch.rand(2, 3, 40, 36, generator=GEN).to(dtype)[:, :, ::2, 2:34]
    strided[1, 2, 3, 4] = 2.0  # a non-contiguous view is checked in full
    with pytest.raises(ValueError, match="pred: values must lie"):
        m(strided, strided[:1].clamp(0, 1))
