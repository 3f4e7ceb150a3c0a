"""Fuse the top-ranked candidates into one output and map where the candidates disagree."""

from __future__ import annotations

import torch

from semfidelity.io import ImageLike, as_tensor
from semfidelity.selection.rank import Ranking

__all__ = ["ensemble", "UNCERTAINTY_OVER"]

_REDUCERS = ("mean", "median")
UNCERTAINTY_OVER = ("all", "top_k")


def ensemble(
    candidates: ImageLike,
    ranking: Ranking,
    k: int = 5,
    reducer: str = "mean",
    uncertainty_over: str = "all",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` fusion of ranked candidates (the TWS paper averages the VLM's top 5).

    Args:
        candidates: ``(N, 3, H, W)`` float in [0, 1], the tensor that was ranked.
        ranking: the :class:`~semfidelity.selection.Ranking` of ``candidates``.
        k: how many of the best candidates to fuse, ``1 <= k <= N``.
        reducer: ``"mean"`` or ``"median"`` (lower median for even ``k``) per pixel.
        uncertainty_over: ``"all"`` (default): the spread of all ``N`` samples, i.e. what the
            LR input leaves open; ``"top_k"``: the spread of the ``k`` fused samples, i.e. how
            much the fused image averages away (0 everywhere for ``k=1``).

    Returns:
        ``(image, uncertainty)``: ``image`` ``(3, H, W)`` the fusion of the top ``k``;
        ``uncertainty`` ``(H, W)`` the per-pixel standard deviation across the candidates
        chosen by ``uncertainty_over`` (population std, averaged over the colour channels) —
        where the samples disagree, a single sample is less trustworthy.
    """
    c = as_tensor(candidates, "candidates").float().contiguous()
    n = c.shape[0]
    if len(ranking.order) != n:
        raise ValueError(f"ranking: ranks {len(ranking.order)} candidates but candidates has {n}")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"k: expected an int in [1, {n}] (the number of candidates), got {k!r}")
    if reducer not in _REDUCERS:
        raise ValueError(f"reducer: expected one of {_REDUCERS}, got {reducer!r}")
    if uncertainty_over not in UNCERTAINTY_OVER:
        raise ValueError(
            f"uncertainty_over: expected one of {UNCERTAINTY_OVER}, got {uncertainty_over!r}"
        )
    top = c[torch.as_tensor(ranking.top(k), device=c.device)]
    image = top.mean(dim=0) if reducer == "mean" else top.median(dim=0).values
    spread = c if uncertainty_over == "all" else top
    uncertainty = spread.std(dim=0, correction=0).mean(dim=0)
    return image, uncertainty
