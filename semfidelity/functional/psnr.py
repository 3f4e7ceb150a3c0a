"""Peak signal-to-noise ratio."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semfidelity.functional.reduce import BLOCK_ELEMENTS, per_image_block_sum

__all__ = ["psnr"]


def psnr(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, eps: float = 1e-10
) -> torch.Tensor:
    """PSNR per image in dB (higher is better).

    ``10 * log10(data_range**2 / MSE)`` with the MSE taken over all channels and pixels of each
    image. Args: ``pred``, ``target`` of shape ``(B, C, H, W)`` (target batch may be 1).
    Returns ``(B,)``. Identical images give ``10*log10(data_range**2/eps)`` (100 dB for the
    defaults) rather than infinity, so the score stays finite and differentiable.
    """
    pred = pred.float()
    # mse_loss fuses the difference and the square: about twice as fast as (p - t).pow(2).
    # The squared errors are summed in float32 blocks of 4096 and the blocks in float64
    # (per_image_block_sum): one batched reduction, bitwise independent of the batch.
    err = F.mse_loss(pred, target.float().expand_as(pred), reduction="none")
    mse = per_image_block_sum(err) / max(1, err[0].numel())
    return (10.0 * torch.log10(data_range**2 / (mse + eps))).float()


# Elements per chunk of psnr_in_unit_range: pred, target and error chunks stay in a 2-core L2.
CHUNK_ELEMENTS = 1 << 17
_ONE_BITS = 0x3F800000  # float32 1.0 read as int32


def psnr_in_unit_range(
    pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, eps: float = 1e-10
) -> tuple[torch.Tensor, bool, bool]:
    """:func:`psnr` and, from the same pass, whether each input lies in [+0.0, 1.0] (no NaN).

    For contiguous float32 ``pred`` ``(B, C, H, W)`` and ``target`` (batch B or 1) without
    gradients. Each image is processed in chunks of ``CHUNK_ELEMENTS`` that stay in cache while
    their float bits are checked as integers (see ``Metric._check_values``), their squared
    errors written to one reused buffer and summed in the blocks of ``per_image_block_sum``:
    scores bitwise equal to :func:`psnr`, each input read from memory once.
    """
    b, n = pred.shape[0], pred[0].numel()
    block = BLOCK_ELEMENTS
    full = n - n % block
    step = max(block, CHUNK_ELEMENTS // block * block)
    bounds = [(c, min(c + step, full)) for c in range(0, full, step)]
    if full < n:
        bounds.append((full, n))
    p2, t2 = pred.reshape(b, n), target.reshape(target.shape[0], n)
    p_bits, t_bits = p2.view(torch.int32), t2.view(torch.int32)
    buf = pred.new_empty(min(step, n))
    part = pred.new_empty(b, full // block + (full < n))
    ext = torch.empty(2 * b * len(bounds), 2, dtype=torch.int32, device=pred.device)
    k = 0
    for i in range(b):
        j = min(i, t2.shape[0] - 1)
        for c0, c1 in bounds:
            torch.aminmax(p_bits[i, c0:c1], out=(ext[k, 0], ext[k, 1]))
            if j == i:
                torch.aminmax(t_bits[j, c0:c1], out=(ext[k + 1, 0], ext[k + 1, 1]))
            else:
                ext[k + 1] = 0
            err = buf[: c1 - c0]
            torch._C._nn.mse_loss(p2[i, c0:c1], t2[j, c0:c1], 0, out=err)
            if c1 <= full:
                torch.sum(err.view(-1, block), 1, out=part[i, c0 // block : c1 // block])
            else:
                torch.sum(err, 0, keepdim=True, out=part[i, -1:])
            k += 2
    lo, hi = ext.view(b, -1, 2, 2).amin(dim=(0, 1))[:, 0], ext.view(b, -1, 2, 2).amax((0, 1))[:, 1]
    (p_lo, t_lo), (p_hi, t_hi) = lo.tolist(), hi.tolist()
    mse = part.double().sum(-1) / max(1, n)
    scores = (10.0 * torch.log10(data_range**2 / (mse + eps))).float()
    return scores, p_lo >= 0 and p_hi <= _ONE_BITS, t_lo >= 0 and t_hi <= _ONE_BITS
