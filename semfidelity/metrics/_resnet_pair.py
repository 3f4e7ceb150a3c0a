"""What ``clip_lpips`` and ``clu`` share: a frozen ResNet-50 run on a (pred, target) pair.

Both metrics put a small trained module (per-stage heads, a decoder) on the stage features of
:func:`semfidelity.backbones.resnet.build_resnet_features`; this module holds the parts they
have in common: the trained file's config, its companion backbone weights, the backbone
options and the one-pass feature extraction of a pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from semfidelity.backbones._state import WeightsArg
from semfidelity.backbones.resnet import FLAVOURS, ResNetFeatures

__all__ = [
    "trained_config",
    "companion_weights",
    "backbone_config",
    "pair_features",
    "DEFAULT_DEPTH",
]

#: residual stages used by default: the thesis' best user-study model is R50-ImageNet at depth 2
#: (Table 1); stages = stem + layer1..layer<depth>
DEFAULT_DEPTH = 2


def trained_config(config: dict[str, Any], channels: list[int]) -> dict[str, Any]:
    """``config`` of a trained file with its ``channels``; needs ``backbone`` and ``depth``."""
    if not isinstance(config, dict):
        raise TypeError(f"config: expected a dict, got {type(config).__name__}")
    missing = [k for k in ("backbone", "depth") if k not in config]
    if missing:
        raise ValueError(f"config: missing key(s) {missing}; expected at least backbone and depth")
    out = dict(config)
    out["channels"] = list(channels)
    return out


def companion_weights(file: Path, config: dict[str, Any], weights: WeightsArg) -> WeightsArg:
    """Backbone weights to use with a trained file: ``weights`` when given; else the fine-tuned
    backbone that ``semfid-train --finetune`` saved beside it (config
    ``backbone_weights = "backbone.safetensors"``); else ``None`` (the manifest)."""
    if weights is not None:
        return weights
    name = config.get("backbone_weights")
    if name == "backbone.safetensors" and (file.parent / name).is_file():
        return file.parent / name
    return None


def backbone_config(
    backbone: str | None, depth: int | None, config: dict[str, Any] | None, option: str
) -> tuple[str, int]:
    """Backbone flavour and depth: explicit options, else the trained file's config, else
    ``("imagenet", DEFAULT_DEPTH)``; a disagreement with the file raises ``ValueError``."""
    config = config or {}
    for name, value in (("backbone", backbone), ("depth", depth)):
        saved = config.get(name)
        if value is not None and saved is not None and value != saved:
            raise ValueError(
                f"{name}: {option} were trained for {name}={saved!r}, got {name}={value!r}; "
                f"drop the option or pass {name}={saved!r}"
            )
    backbone = backbone if backbone is not None else config.get("backbone", "imagenet")
    depth = depth if depth is not None else config.get("depth", DEFAULT_DEPTH)
    if backbone not in FLAVOURS:
        raise ValueError(f"backbone: expected one of {sorted(FLAVOURS)}, got {backbone!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 4:
        raise ValueError(f"depth: expected an int in 1..4, got {depth!r}")
    return backbone, depth


def pair_features(
    backbone: ResNetFeatures, pred: torch.Tensor, target: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Stage features of pred and target; one backbone pass when the batches match."""
    n = pred.shape[0]
    if target.shape[0] == n:
        feats = backbone(torch.cat([pred, target]))
        return [f[:n] for f in feats], [f[n:] for f in feats]
    return backbone(pred), backbone(target)
