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
