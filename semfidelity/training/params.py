"""What a run trains: the optimiser's parameter groups, with optional frozen early stages.

``finetune=False``: only the head (or decoder) trains; the backbone is frozen. ``finetune=True``:
the backbone trains too, at ``lr * backbone_lr_scale``, except its first ``freeze_stages``
stages (stem counted first, :meth:`~semfidelity.backbones.resnet.ResNetFeatures.stage_modules`),
which keep ``requires_grad=False`` and are left out of the optimiser, so they stay bit-unchanged.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from semfidelity.backbones.resnet import ResNetFeatures
from semfidelity.training.config import TrainConfig

__all__ = ["param_groups", "trainable_backbone"]


def trainable_backbone(config: TrainConfig, backbone: ResNetFeatures) -> list[nn.Parameter]:
    """Backbone parameters the run trains (``requires_grad`` is set accordingly)."""
    for p in backbone.parameters():
        p.requires_grad_(False)
    if not config.finetune:
        return []
    train = []
    for stage in backbone.stage_modules()[config.freeze_stages :]:
        for module in stage:
            train.extend(module.parameters())
    for p in train:
        p.requires_grad_(True)
    return train


def param_groups(
    config: TrainConfig, backbone: ResNetFeatures, head: nn.Module
) -> list[dict[str, Any]]:
    """AdamW parameter groups: the head at ``lr``, the trainable backbone at
    ``lr * backbone_lr_scale`` (only when fine-tuning)."""
    groups: list[dict[str, Any]] = [{"params": list(head.parameters()), "lr": config.lr}]
    tuned = trainable_backbone(config, backbone)
    if tuned:
        groups.append({"params": tuned, "lr": config.lr * config.backbone_lr_scale})
    return groups
