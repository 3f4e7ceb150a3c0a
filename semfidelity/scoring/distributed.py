"""Multi-process scoring: rank/world from ``torchrun``'s environment and score gathering.

``torchrun --nproc_per_node=N -m semfidelity.cli.score REF PRED ...`` runs N copies of the
command; :func:`init_from_env` joins them into one process group (``gloo`` on CPU, ``nccl`` on
CUDA), the command gives rank ``r`` the pairs ``r, r+N, r+2N, ...`` and rank 0 merges the outputs.

Inside your own DDP evaluation loop, :func:`gather_scores` collects per-rank scores::

    scores = metric(sr, hr)                              # this rank's (B,)
    all_scores = gather_scores(scores, indices=idx)      # every rank's, in dataset order
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistContext", "init_from_env", "gather_scores"]

logger = logging.getLogger(__name__)


@dataclass
class DistContext:
    """This process's place in the run; ``owns_group`` when :func:`init_from_env` created it."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def broadcast(self, obj: object) -> object:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def init_from_env(device: torch.device) -> DistContext:
    """Join the process group described by ``torchrun``'s ``RANK``/``WORLD_SIZE`` variables.

    Without them (or with ``WORLD_SIZE=1``) this is a single-process context. An already
    initialised default group is reused. The backend is ``nccl`` for a CUDA ``device`` and
    ``gloo`` otherwise.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=False)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    logger.info("rank %d/%d joined the %s process group", dist.get_rank(), world, backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=True)


def _all_gather_varlen(t: torch.Tensor) -> list[torch.Tensor]:
    world = dist.get_world_size()
    n = torch.tensor([t.shape[0]], device=t.device, dtype=torch.long)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros((longest, *t.shape[1:]), dtype=t.dtype, device=t.device)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return [p[: int(s.item())] for p, s in zip(parts, sizes)]


def gather_scores(
    scores: torch.Tensor | dict[str, torch.Tensor], indices: torch.Tensor | None = None
) -> torch.Tensor | dict[str, torch.Tensor]:
    """Concatenate every rank's scores (rank 0's first); call it on every rank.

    Args:
        scores: this rank's ``(B,)`` scores (or ``(B, ...)``), or a dict of them (e.g. TWS
            components); ranks may hold different ``B``. Tensors must live where the backend
            expects them (CUDA for ``nccl``, anything for ``gloo``).
        indices: optional ``(B,)`` dataset indices of this rank's items. When given, the result
            is ordered by index and items seen on several ranks (``DistributedSampler`` pads the
            last batch by repeating items) appear once.

    Returns:
        The gathered tensor (or dict), identical on every rank. Without an initialised process
        group the input is returned unchanged (sorted/deduplicated by ``indices`` if given).
    """
    is_dict = isinstance(scores, dict)
    tensors = dict(scores) if is_dict else {"_": scores}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"scores[{name!r}]: expected a torch.Tensor, got {type(t).__name__}")
    lengths = {t.shape[0] for t in tensors.values()}
    if len(lengths) != 1:
        raise ValueError(f"scores: every tensor needs the same batch length, got {sorted(lengths)}")
    if indices is not None:
        indices = torch.as_tensor(indices, device=next(iter(tensors.values())).device).long()
        if indices.shape != (lengths.pop(),):
            raise ValueError(
                f"indices: expected shape ({next(iter(tensors.values())).shape[0]},), got "
                f"{tuple(indices.shape)}"
            )
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        tensors = {k: torch.cat(_all_gather_varlen(t.detach())) for k, t in tensors.items()}
        if indices is not None:
            indices = torch.cat(_all_gather_varlen(indices))
    if indices is not None:
        uniq, first = _first_occurrence(indices)
        tensors = {k: t[first] for k, t in tensors.items()}
    return tensors if is_dict else tensors["_"]


def _first_occurrence(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique indices and the position of each one's first occurrence."""
    order = torch.argsort(indices, stable=True)
    sorted_idx = indices[order]
    keep = torch.ones_like(sorted_idx, dtype=torch.bool)
    keep[1:] = sorted_idx[1:] != sorted_idx[:-1]
    return sorted_idx[keep], order[keep]
