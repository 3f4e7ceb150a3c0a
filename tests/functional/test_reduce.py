"""Per-image scores do not depend on batch composition: bitwise, not only to a tolerance."""

from __future__ import annotations

import importlib

import pytest
import torch

from semfidelity import create_metric
from semfidelity.functional.reduce import per_image_block_sum, per_image_mean, per_image_sum

CLASSICAL = ["psnr", "ssim", "ms_ssim", "wavelet"]  # edge_ssim is ssim of edge maps


@pytest.fixture
def two_threads():
    """A batched reduction splits its work differently by batch size only with >1 thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("name", "chunk"),
    [(n, None) for n in CLASSICAL] + [("ssim", 30000), ("ssim", 100000)],  # row bands; groups
)
def test_scores_are_bitwise_independent_of_the_batch(name, chunk, two_threads, monkeypatch):
    if chunk is not None:
        monkeypatch.setattr(
            importlib.import_module("semfidelity.functional.ssim"), "CHUNK_ELEMENTS", chunk
        )
    g = torch.Generator().manual_seed(1)
    target = torch.rand(4, 3, 164, 172, generator=g)
    pred = (target + 0.05 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    metric = create_metric(name, device="cpu")
    with torch.no_grad():
        batch = metric(pred, target)
        alone = torch.cat([metric(pred[i : i + 1], target[i : i + 1]) for i in range(4)])
        pairs = torch.cat([metric(pred[i : i + 2], target[i : i + 2]) for i in (0, 2)])
        shared = metric(pred, target[:1])  # one target broadcast over the batch
        shared_alone = torch.cat([metric(pred[i : i + 1], target[:1]) for i in range(4)])
    assert torch.equal(batch, alone), (batch - alone).abs().max()
    assert torch.equal(pairs, alone)
    assert torch.equal(shared, shared_alone)


def test_per_image_reductions():
    x = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(per_image_sum(x), x.sum(dim=(1, 2)))
    assert torch.equal(per_image_sum(x, (-1,)), x.sum(dim=-1))
    assert torch.equal(per_image_mean(x, (1,)), x.mean(dim=1))
    with pytest.raises(ValueError, match="batch dim 0"):
        per_image_sum(x, (0, 1))


@pytest.mark.parametrize("shape", [(3, 40, 41), (1, 9, 7), (3, 64, 64), (2, 0, 5)])
def test_block_sum_is_batch_independent_and_float64_accurate(shape, two_threads):
    """Full blocks, a short last block, a single short block and empty images."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(6, *shape, generator=g).requires_grad_()
    batch = per_image_block_sum(x)
    assert batch.dtype == torch.float64 and batch.shape == (6,)
    alone = torch.cat([per_image_block_sum(x[i : i + 1]) for i in range(6)])
    assert torch.equal(batch, alone)
    assert torch.equal(per_image_block_sum(x[1:4]), alone[1:4])
    exact = x.detach().double().sum(dim=tuple(range(1, x.ndim)))
    assert torch.allclose(batch, exact, rtol=1e-6, atol=0)
    batch.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
