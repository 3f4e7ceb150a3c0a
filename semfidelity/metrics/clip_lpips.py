"""CLIP-LPIPS: LPIPS-structured semantic distance on ResNet-50 stages (Rocafort 2025).

Architecture (``depth`` = D residual stages; stages s = stem, layer1..layerD)::

    pred ─┐                      ┌─ f_s(pred) ─ unit-norm ─┐
          ├─ ResNet-50 (frozen) ─┤                         ├─ (·)^2 ─ head_s (1x1, w >= 0) ─ d_s
    target┘                      └─ f_s(target) unit-norm ─┘
    score = mean_s mean_hw d_s            map = mean_s upsample(d_s, H x W)

Heads: :class:`LinearHeads`, one non-negative 1x1 weight vector per stage, ``w = softplus(raw)``.
Without trained heads every weight is 0.5, so ``d_s = 1 - cos(f_s(pred), f_s(target))`` per
position: the plain normalised deep-feature distance ("uncalibrated", in [0, 1]). Trained heads
(``semfid-train``, docs/training.md) make it the thesis' regressor. Lower is better.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.backbones._state import (
    WeightsArg,
    load_with_config,
    resolve_learned_file,
    save_with_config,
)
from semfidelity.backbones.resnet import build_resnet_features
from semfidelity.functional.deep_features import squared_feature_diff, upsample_to
from semfidelity.metric import Metric
from semfidelity.metrics._resnet_pair import (
    backbone_config,
    companion_weights,
    pair_features,
    trained_config,
)
from semfidelity.registry import register_metric

__all__ = [
    "CLIPLPIPS",
    "LinearHeads",
    "clip_lpips_distance",
    "save_heads",
    "load_heads",
    "pair_features",
    "backbone_config",
]

HEADS_FILENAME = "heads.safetensors"
UNIFORM_WEIGHT = 0.5


class LinearHeads(nn.Module):
    """One non-negative 1x1 linear head per stage: ``d_s = sum_c w_{s,c} * diff_{s,c}``.

    The weights are ``softplus(raw)`` (strictly positive, smooth: every raw value gets a
    gradient, unlike LPIPS' clamp after each step). Initialised uniform at ``init``.

    Args:
        channels: channels of each stage, e.g. ``[64, 256, 512, 1024, 2048]``.
        init: initial weight of every channel (0.5: uncalibrated ``1 - cos``).
    """

    def __init__(self, channels: list[int], init: float = UNIFORM_WEIGHT) -> None:
        super().__init__()
        if not channels or any(not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(
                f"channels: expected a non-empty list of positive ints, got {channels!r}"
            )
        if not init > 0:
            raise ValueError(f"init: expected a positive weight, got {init!r}")
        raw0 = math.log(math.expm1(init))  # softplus^-1
        self.channels = list(channels)
        self.raw = nn.ParameterList(nn.Parameter(torch.full((c,), raw0)) for c in channels)

    def weights(self) -> list[torch.Tensor]:
        """Non-negative per-channel weights of each stage, shapes ``(C_s,)``."""
        return [F.softplus(r) for r in self.raw]

    def forward(self, diffs: list[torch.Tensor]) -> list[torch.Tensor]:
        """``diffs[s]`` ``(B, C_s, h, w)`` -> per-stage maps ``(B, 1, h, w)``."""
        if len(diffs) != len(self.raw):
            raise ValueError(f"diffs: expected {len(self.raw)} stages, got {len(diffs)}")
        return [F.conv2d(d, w.view(1, -1, 1, 1)) for d, w in zip(diffs, self.weights())]


def clip_lpips_distance(
    feats_p: list[torch.Tensor], feats_t: list[torch.Tensor], heads: LinearHeads
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """CLIP-LPIPS from precomputed stage features.

    Args:
        feats_p, feats_t: per-stage features ``(B, C_s, h_s, w_s)``; ``feats_t`` may have batch 1.
        heads: the per-stage linear heads.

    Returns:
        ``(score (B,), maps)``: score = mean over stages of the spatial mean of each head output;
        ``maps[s]`` ``(B, 1, h_s, w_s)``, lower is better.
    """
    maps = heads([squared_feature_diff(p, t) for p, t in zip(feats_p, feats_t)])
    score = torch.stack([m.mean(dim=(1, 2, 3)) for m in maps]).mean(0)
    return score, maps


def save_heads(heads: LinearHeads, path: str | os.PathLike[str], *, config: dict[str, Any]):
    """Write ``heads`` to ``path`` (safetensors) with ``config`` (must hold ``backbone`` and
    ``depth``; ``channels`` is added) as JSON metadata. Returns the path."""
    return save_with_config(heads, path, trained_config(config, heads.channels), "clip_lpips_heads")


def load_heads(path: str | os.PathLike[str]) -> tuple[LinearHeads, dict[str, Any]]:
    """Read heads written by :func:`save_heads` (a file, or a folder holding heads.safetensors)."""
    file = resolve_learned_file(path, HEADS_FILENAME, option="heads")
    state, config = load_with_config(file, "clip_lpips_heads")
    heads = LinearHeads([int(c) for c in config["channels"]])
    heads.load_state_dict(state)
    return heads, config


@register_metric(
    "clip_lpips",
    lower_better=True,
    score_range=(0.0, math.inf),
    min_size=32,
    weights=("resnet50-imagenet",),
    description="LPIPS-structured semantic distance on ResNet-50 stages (ImageNet or CLIP-RN50)",
    has_map=True,
    amp_safe=True,
    notes=(
        "uncalibrated unless heads= is given: uniform heads give the plain normalised "
        "deep-feature distance mean(1 - cos) in [0, 1]; train heads with semfid-train"
    ),
)
class CLIPLPIPS(Metric):
    """CLIP-LPIPS score and map. Options:

    - ``backbone``: ``"imagenet"`` | ``"clip"`` (``None``: from ``heads``' config, else imagenet);
    - ``depth``: residual stages 1..4 (``None``: from ``heads``' config, else 4);
    - ``heads``: trained heads (file, folder with heads.safetensors, or manifest id); ``None``
      = uniform, uncalibrated heads (``self.calibrated`` is ``False``);
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
        self.heads = loaded if loaded is not None else LinearHeads(self.backbone.channels)
        if self.heads.channels != self.backbone.channels:
            raise ValueError(
                f"heads: channels {self.heads.channels} do not match the {flavour} backbone at "
                f"depth {depth} ({self.backbone.channels})"
            )
        self.calibrated = loaded is not None
        self.config = {"backbone": flavour, "depth": depth, "channels": self.backbone.channels}

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return clip_lpips_distance(*pair_features(self.backbone, pred, target), self.heads)[0]

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.compute_score_and_map(pred, target)[1]

    def compute_score_and_map(self, pred: torch.Tensor, target: torch.Tensor):
        score, maps = clip_lpips_distance(*pair_features(self.backbone, pred, target), self.heads)
        size = pred.shape[-2:]
        return score, torch.stack([upsample_to(m, size) for m in maps]).mean(0)
