"""Per-image reductions whose result does not depend on the rest of the batch.

A batched ``x.sum(dim=(1, 2, 3))`` splits its work by the batch size (over images when there
are enough of them, inside each image otherwise), so the float32 summation order, and with it
the last bit of an image's score, changes with what else is in the batch. Reducing each image
on its own keeps the order a function of the image's shape alone: scores are then bitwise equal
whether an image is scored alone, in a batch of 8, by another torchrun rank or after a resume
(same device, dtype and thread count).
"""

from __future__ import annotations

import torch

__all__ = ["per_image_sum", "per_image_mean", "per_image_block_sum", "BLOCK_ELEMENTS"]

# Elements summed in float32 before a partial sum is added in float64 (per_image_block_sum).
BLOCK_ELEMENTS = 4096


def per_image_sum(x: torch.Tensor, dim: tuple[int, ...] | None = None) -> torch.Tensor:
    """Sum of each ``x[i]`` over ``dim`` (dims of ``x``, not 0; default: all but 0), stacked.

    ``(B, ...) -> (B, ...)`` without the reduced dims. Differentiable.
    """
    dims = tuple(range(1, x.ndim)) if dim is None else dim
    if any(d % x.ndim == 0 for d in dims):
        raise ValueError(f"dim: the batch dim 0 cannot be reduced per image, got {dim}")
    inner = tuple(d % x.ndim - 1 for d in dims)
    return torch.stack([x[i].sum(dim=inner) for i in range(x.shape[0])])


def per_image_mean(x: torch.Tensor, dim: tuple[int, ...] | None = None) -> torch.Tensor:
    """Mean of each ``x[i]`` over ``dim``, computed as :func:`per_image_sum` / count."""
    dims = tuple(range(1, x.ndim)) if dim is None else dim
    count = 1
    for d in dims:
        count *= x.shape[d]
    return per_image_sum(x, dims) / count


def per_image_block_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of all elements of each ``x[i]`` in float64, ``(B, ...) -> (B,)``; differentiable.

    One batched pass instead of one call per image: each image's elements (in ``x[i]``'s
    flattened order) are cut into fixed blocks of :data:`BLOCK_ELEMENTS` (and a shorter last
    one), each block is summed in ``x``'s dtype by one thread, and the block sums are added in
    float64. The blocks depend on the image's size alone and a reduction with several outputs
    never splits a block between threads, so the result is bitwise independent of the batch;
    it is also more accurate than one float32 sum of the image.
    """
    b = x.shape[0]
    flat = x.reshape(b, -1)
    n = flat.shape[1]
    full = n - n % BLOCK_ELEMENTS
    parts = []
    if full:
        parts.append(flat[:, :full].reshape(b, -1, BLOCK_ELEMENTS).sum(-1))
    if full < n:
        parts.append(flat[:, full:].sum(-1, keepdim=True))
    if not parts:  # images without elements
        return flat.sum(-1, dtype=torch.float64)
    return torch.cat(parts, dim=1).double().sum(-1)
