"""CLIP-LPIPS: LPIPS-structured semantic distance on ResNet-50 stages (Rocafort 2025).

Architecture (``depth`` = D residual stages; stages s = stem, layer1..layerD)::

    pred ─┐                      ┌─ f_s(pred) ─┐
          ├─ ResNet-50 (frozen) ─┤             ├─ diff_s ─ head_s (one linear layer) ─ d_s
    target┘                      └─ f_s(target)┘
    score = mean_s mean_hw d_s            map = mean_s upsample(d_s, H x W)

Heads (:mod:`semfidelity.metrics.clip_lpips_heads`): ``head="thesis"`` (default; the thesis'
Fig. 5: raw squared difference, ``nn.Linear(C_s, 1)`` with bias per stage, so the score is the
average over stages of a linear layer on the per-channel MSE) or ``head="lpips"`` (our LPIPS-
style variant: unit-normalised features, non-negative weights, no bias). Untrained heads are
uniform ("uncalibrated"): the per-stage feature MSE (thesis) or ``1 - cos`` (lpips). Trained
heads (``semfid-train``, docs/training.md) make it the thesis' regressor. Lower is better.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from semfidelity.backbones._state import (
    WeightsArg,
    load_with_config,
    resolve_learned_file,
    save_with_config,
)
from semfidelity.backbones.resnet import build_resnet_features
from semfidelity.functional.deep_features import upsample_to
from semfidelity.metric import Metric
from semfidelity.metrics._resnet_pair import (
    backbone_config,
    companion_weights,
    pair_features,
    trained_config,
)
from semfidelity.metrics.clip_lpips_heads import (
    HEAD_KINDS,
    LinearHeads,
    ThesisHeads,
    make_heads,
)
from semfidelity.registry import register_metric

Heads = LinearHeads | ThesisHeads

__all__ = [
    "CLIPLPIPS",
    "LinearHeads",
    "ThesisHeads",
    "HEAD_KINDS",
    "clip_lpips_distance",
    "save_heads",
    "load_heads",
    "pair_features",
    "backbone_config",
]

HEADS_FILENAME = "heads.safetensors"
DEFAULT_HEAD = HEAD_KINDS[0]


def clip_lpips_distance(
    feats_p: list[torch.Tensor], feats_t: list[torch.Tensor], heads: Heads
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """CLIP-LPIPS from precomputed stage features.

    Args:
        feats_p, feats_t: per-stage features ``(B, C_s, h_s, w_s)``; ``feats_t`` may have batch 1.
        heads: the per-stage heads (:class:`ThesisHeads` or :class:`LinearHeads`); they say
            which feature difference they read (raw or unit-normalised squared difference).

    Returns:
        ``(score (B,), maps)``: score = mean over stages of the spatial mean of each head output;
        ``maps[s]`` ``(B, 1, h_s, w_s)``, lower is better.
    """
    maps = heads([heads.difference(p, t) for p, t in zip(feats_p, feats_t)])
    score = torch.stack([m.mean(dim=(1, 2, 3)) for m in maps]).mean(0)
    return score, maps


def save_heads(heads: Heads, path: str | os.PathLike[str], *, config: dict[str, Any]):
    """Write ``heads`` to ``path`` (safetensors) with ``config`` (must hold ``backbone`` and
    ``depth``; ``channels`` and ``head`` are added) as JSON metadata. Returns the path."""
    config = {**trained_config(config, heads.channels), "head": heads.kind}
    return save_with_config(heads, path, config, "clip_lpips_heads")


def load_heads(path: str | os.PathLike[str]) -> tuple[Heads, dict[str, Any]]:
    """Read heads written by :func:`save_heads` (a file, or a folder holding heads.safetensors).

    Files written before the ``head`` key existed hold LPIPS-style heads."""
    file = resolve_learned_file(path, HEADS_FILENAME, option="heads")
    state, config = load_with_config(file, "clip_lpips_heads")
    heads = make_heads(config.get("head", "lpips"), [int(c) for c in config["channels"]])
    heads.load_state_dict(state)
    return heads, config


@register_metric(
    "clip_lpips",
    lower_better=True,
    score_range=(-math.inf, math.inf),
    min_size=32,
    weights=("resnet50-imagenet",),
    description="LPIPS-structured semantic distance on ResNet-50 stages (ImageNet or CLIP-RN50)",
    has_map=True,
    amp_safe=True,
    notes=(
        "lower is better (a regressor of 'semantic error' labels, 1 = error); uncalibrated "
        "unless heads= is given: uniform heads give the per-stage feature MSE (head='thesis', "
        "default) or mean(1 - cos) in [0, 1] (head='lpips'); scores >= 0 except trained "
        "thesis heads (free weights + bias: any real); train heads with semfid-train"
    ),
)
class CLIPLPIPS(Metric):
    """CLIP-LPIPS score and map. Options:

    - ``backbone``: ``"imagenet"`` | ``"clip"`` (``None``: from ``heads``' config, else imagenet);
    - ``depth``: residual stages 1..4 (``None``: from ``heads``' config, else 2, the thesis'
      best user-study model); stages used = stem + layer1..layer``depth``;
    - ``heads``: trained heads (file, folder with heads.safetensors, or manifest id); ``None``
      = uniform, uncalibrated heads (``self.calibrated`` is ``False``);
    - ``head``: ``"thesis"`` | ``"lpips"`` (``None``: from ``heads``' file, else ``"thesis"``);
    - ``weights``: backbone weights (``None`` = manifest, or the fine-tuned
      ``backbone.safetensors`` saved beside the heads; id, path, state dict, ``"random"``).

    Example:
        >>> import torch, semfidelity
        >>> # weights="random" keeps the example offline; the default loads the pinned ResNet-50
        >>> metric = semfidelity.create_metric(
        ...     "clip_lpips", device="cpu", weights="random", depth=1
        ... )
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> metric(x, x)
        tensor([0., 0.])
        >>> score, dmap = metric.score_and_map(x, x.flip(-1))  # one forward pass for both
        >>> dmap.shape, metric.calibrated
        (torch.Size([2, 1, 64, 64]), False)

    References:
        Rocafort, semantic fidelity of super-resolution (CVC, 2025; no DOI or arXiv id). Built on:
        Zhang et al., LPIPS, CVPR 2018, arXiv:1801.03924; He et al., ResNet, CVPR 2016,
        arXiv:1512.03385; Radford et al., CLIP, ICML 2021, arXiv:2103.00020
    """

    def __init__(
        self,
        *,
        backbone: str | None = None,
        depth: int | None = None,
        heads: str | os.PathLike[str] | None = None,
        head: str | None = None,
        weights: WeightsArg = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        loaded, config = None, None
        if heads is not None:
            file = resolve_learned_file(heads, HEADS_FILENAME, option="heads")
            loaded, config = load_heads(file)
            weights = companion_weights(file, config, weights)
        flavour, depth = backbone_config(backbone, depth, config, "heads")
        self.backbone = build_resnet_features(flavour, depth, weights)
        if loaded is not None and head is not None and head != loaded.kind:
            raise ValueError(
                f"head: the heads file holds head={loaded.kind!r}, got head={head!r}; drop the "
                f"option or pass head={loaded.kind!r}"
            )
        self.heads = loaded or make_heads(head or DEFAULT_HEAD, self.backbone.channels)
        if self.heads.channels != self.backbone.channels:
            raise ValueError(
                f"heads: channels {self.heads.channels} do not match the {flavour} backbone at "
                f"depth {depth} ({self.backbone.channels})"
            )
        self.calibrated = loaded is not None
        self.config = {
            "backbone": flavour,
            "depth": depth,
            "channels": self.backbone.channels,
            "head": self.heads.kind,
        }

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return clip_lpips_distance(*pair_features(self.backbone, pred, target), self.heads)[0]

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.compute_score_and_map(pred, target)[1]

    def compute_score_and_map(self, pred: torch.Tensor, target: torch.Tensor):
        score, maps = clip_lpips_distance(*pair_features(self.backbone, pred, target), self.heads)
        size = pred.shape[-2:]
        return score, torch.stack([upsample_to(m, size) for m in maps]).mean(0)

    @torch.no_grad()
    def stage_maps(self, pred, target, *, upsample: bool = True) -> list[torch.Tensor]:
        """Per-stage distance maps ``d_s`` (the thesis' Figs. 6-7 activation maps), stem first.

        Inputs as for ``__call__``. Returns ``depth + 1`` tensors ``(B, 1, H, W)`` (at the
        input size when ``upsample``, else ``(B, 1, h_s, w_s)`` at each stage's resolution);
        their mean over stages is :meth:`map`, lower is better.
        """
        pred, target = self.prepare(pred, target)
        _, maps = clip_lpips_distance(*pair_features(self.backbone, pred, target), self.heads)
        maps = [m.float() for m in maps]
        return [upsample_to(m, pred.shape[-2:]) for m in maps] if upsample else maps
