"""The TWS semantic term, shared by ``clip_sim`` and ``tws`` (docs/metrics/tws.md).

    semantic = pool(s_whole, s_regions)        s = clamp((cos - floor) / (1 - floor), 0, 1)

``cos`` are cosines of open_clip image embeddings of pred and target under a view that covers
the whole image (:mod:`semfidelity.backbones.clip_views`); ``floor`` is the encoder's own cosine
of unrelated photographs (:mod:`semfidelity.backbones.clip_floor`); ``pool`` keeps a local
semantic change from being averaged away (:func:`functional.semantic.pool_similarities`).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from semfidelity.backbones.clip import ClipEncoder, clip_weight_id
from semfidelity.backbones.clip_floor import SemanticFloor, semantic_floor
from semfidelity.backbones.clip_views import VIEWS, check_grid, embed_views
from semfidelity.functional.semantic import (
    SEMANTIC_SCALES,
    check_pooling,
    paint_regions,
    pool_similarities,
    rescale_cosine,
)
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["ClipSemantic", "ClipSim"]


class ClipSemantic(Metric):
    """Base of ``clip_sim`` and ``tws``: the CLIP semantic term, its map, target broadcasting."""

    def _init_clip(
        self,
        clip_model: str,
        clip_pretrained: str,
        clip_weights: str | os.PathLike[str] | None,
        clip_view: str,
        clip_grid: Any,
        clip_pooling: str,
        clip_p: float,
        semantic_scale: str,
        clip_encoder: Any,
        build: bool = True,
    ) -> None:
        if clip_view == "global":
            warnings.warn(
                "clip_view='global' is deprecated: it was open_clip's centre crop, now named "
                "clip_view='centre'; the default clip_view='whole' sees the whole image",
                FutureWarning,
                stacklevel=4,
            )
            clip_view = "centre"
        if clip_view not in VIEWS:
            raise ValueError(f"clip_view: expected one of {VIEWS}, got {clip_view!r}")
        if semantic_scale not in SEMANTIC_SCALES:
            raise ValueError(
                f"semantic_scale: expected one of {SEMANTIC_SCALES}, got {semantic_scale!r}"
            )
        self.clip_view, self.semantic_scale = clip_view, semantic_scale
        self.clip_grid = check_grid(clip_grid, clip_view)
        self.clip_pooling, self.clip_p = clip_pooling, check_pooling(clip_pooling, clip_p)
        self._floor: SemanticFloor | None = None
        if not build:
            self.clip = None
        elif clip_encoder is not None:
            self.clip = clip_encoder
        else:
            self.clip = ClipEncoder(clip_model, clip_pretrained, weights=clip_weights)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, clip_view={self.clip_view!r}, clip_grid={self.clip_grid}, "
            f"clip_pooling={self.clip_pooling!r}, semantic_scale={self.semantic_scale!r}"
        )

    def semantic_floor(self) -> SemanticFloor | None:
        """The encoder's floor for this view (measured once, cached); ``None`` when raw."""
        if self.semantic_scale == "raw":
            return None
        if self._floor is None:
            with torch.autocast(device_type=self.device.type, enabled=False):
                self._floor = semantic_floor(self.clip, self.clip_view, self.clip_grid)
        return self._floor

    def similarities(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple]:
        """Rescaled whole-image ``(B,)`` and per-region ``(B, R)`` (or None) similarities, boxes.

        The target (batch 1 or B) is embedded once, without a graph; pred and target batches
        each take one encoder call.
        """
        floor = self.semantic_floor()
        with torch.no_grad():
            t = embed_views(self.clip, target, self.clip_view, self.clip_grid)
        p = embed_views(self.clip, pred, self.clip_view, self.clip_grid)
        whole = rescale_cosine((p.whole * t.whole).sum(-1), floor and floor.whole)
        if p.regions is None:
            return whole, None, ()
        regions = rescale_cosine((p.regions * t.regions).sum(-1), floor and floor.region)
        return whole, regions, p.boxes

    def semantic(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Pooled semantic similarity ``(B,)`` float32 in [0, 1]; target batch 1 broadcasts."""
        whole, regions, _ = self.similarities(pred, target)
        return pool_similarities(whole, regions, self.clip_pooling, self.clip_p)

    def semantic_and_map(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled term ``(B,)`` and its map ``(B, 1, H, W)`` from one pass: each pixel the
        mean similarity of the regions covering it (the whole-image similarity everywhere when
        the view has no regions)."""
        whole, regions, boxes = self.similarities(pred, target)
        score = pool_similarities(whole, regions, self.clip_pooling, self.clip_p)
        size = pred.shape[-2:]
        if regions is None or self.clip_pooling == "whole":
            return score, whole.view(-1, 1, 1, 1).expand(-1, 1, *size).contiguous()
        return score, paint_regions(regions, boxes, size)

    def semantic_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` semantic map (see :meth:`semantic_and_map`)."""
        return self.semantic_and_map(pred, target)[1]


_CLIP_OPTIONS_DOC = """Options: ``clip_model`` ("ViT-B-32"), ``clip_pretrained`` ("openai"),
    ``clip_weights`` (None = manifest weight, a path, or "random"), ``clip_view`` ("whole": the
    whole image plus token regions; "tiles": plus overlapping resized crops; "centre":
    open_clip's centre crop, the old default), ``clip_grid`` (None = (4, 4) token windows or
    (2, 2) tiles), ``clip_pooling`` ("pnorm", "mean", "min", "whole"), ``clip_p`` (4),
    ``semantic_scale`` ("floor": against the encoder's floor; "raw": clamp(cos, 0, 1)),
    ``clip_encoder`` (a prebuilt encoder object; overrides the other clip_* model options)."""


@register_metric(
    "clip_sim",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=True,
    min_size=1,
    weights=(clip_weight_id("ViT-B-32", "openai"),),
    description="CLIP image-image similarity over the whole image and its regions (TWS semantic)",
    has_map=True,
    amp_safe=True,
)
class ClipSim(ClipSemantic):
    __doc__ = f"""The TWS semantic term on its own; higher is better, in [0, 1].

    ``clip_sim(clip_view="centre", clip_pooling="whole", semantic_scale="raw")`` is the plain
    CLIP cosine ``clamp(cos(E(pred), E(target)), 0, 1)`` of the semantic-fidelity baseline.

    {_CLIP_OPTIONS_DOC}
    ``amp_safe``: under ``torch.autocast`` the encoder runs in half precision while cosines are
    computed in float32.

    Example:
        >>> import torch, semfidelity
        >>> # clip_weights="random" keeps the example offline; the default loads pinned CLIP weights
        >>> clip_sim = semfidelity.create_metric("clip_sim", device="cpu", clip_weights="random")
        >>> x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(clip_sim(x, x), torch.ones(2), atol=1e-5)
        True

    References:
        Radford et al., "Learning transferable visual models from natural language supervision",
        ICML 2021. arXiv:2103.00020
    """

    def __init__(
        self,
        *,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        clip_weights: str | os.PathLike[str] | None = None,
        clip_view: str = "whole",
        clip_grid: Any = None,
        clip_pooling: str = "pnorm",
        clip_p: float = 4.0,
        semantic_scale: str = "floor",
        clip_encoder: Any = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self._init_clip(
            clip_model, clip_pretrained, clip_weights, clip_view, clip_grid, clip_pooling,
            clip_p, semantic_scale, clip_encoder,
        )  # fmt: skip

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.semantic(pred, target)

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.semantic_map(pred, target)

    def compute_score_and_map(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.semantic_and_map(pred, target)
