"""What differs between the two things ``semfid-train`` trains: model head, loss, validation.

* :class:`RegressorTask` (``clip_lpips``): per-stage
  :class:`~semfidelity.metrics.clip_lpips.LinearHeads` on ResNet-50 stage distances, MSE
  between the score and the pair label. Validation: MSE, MSE-bin (labels binarised at 0.5),
  SRCC, PLCC, KRCC.
* :class:`ChangeMapTask` (``clu``): :class:`~semfidelity.metrics.clu.CLUDecoder` on stage
  differences, per-pixel BCE against the change masks (+ ``dice`` x soft Dice). Pairs without a
  mask count as "no change" when their label is 0 and are left out of the pixel loss otherwise.
  Validation: BCE, IoU (pooled over pixels, map >= 0.5), pixel AUROC, and SRCC/PLCC/KRCC/MSE of
  the image score (mean of the map) against the labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.metrics.clip_lpips import clip_lpips_distance, load_heads, save_heads
from semfidelity.metrics.clip_lpips_heads import make_heads
from semfidelity.metrics.clu import CLUDecoder, clu_logits, load_decoder, save_decoder
from semfidelity.training import stats
from semfidelity.training.config import TrainConfig

__all__ = ["Task", "RegressorTask", "ChangeMapTask", "make_task", "pixel_weights"]


def pixel_weights(batch: dict[str, Any]) -> torch.Tensor:
    """1 for pairs whose mask is known: a mask file, or label 0 ("nothing changed")."""
    return (batch["has_mask"] | (batch["label"] < 0.5)).float()


def _dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    return (1 - (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def _agreement(score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    return {
        "val_mse_bin": stats.mse_bin(score, label),
        "val_srcc": stats.srcc(score, label),
        "val_plcc": stats.plcc(score, label),
        "val_krcc": stats.krcc(score, label),
    }


class Task:
    """One trainable kind: builds its head, computes outputs, loss, validation and export."""

    kind: str
    output_file: str
    option: str  # the create_metric option that loads the exported file
    arch_field: str  # the config field that fixes the head's architecture

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    def build_head(self, channels: list[int]) -> nn.Module:
        raise NotImplementedError

    def forward(
        self, head: nn.Module, fp: list[torch.Tensor], ft: list[torch.Tensor], batch: dict
    ) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, out: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self, out: torch.Tensor, collected: dict[str, torch.Tensor]) -> dict[str, float]:
        """Validation metrics from the concatenated outputs and ``label``/``mask``/``weight``."""
        raise NotImplementedError

    def save(self, head: nn.Module, path: Path, meta: dict[str, Any]) -> None:
        raise NotImplementedError

    def load(self, path: Path) -> tuple[nn.Module, dict[str, Any]]:
        """The head written by :meth:`save` and its config."""
        raise NotImplementedError


class RegressorTask(Task):
    kind, output_file, option, arch_field = "clip_lpips", "heads.safetensors", "heads", "head"

    def build_head(self, channels: list[int]) -> nn.Module:
        return make_heads(self.config.head, channels)

    def forward(self, head, fp, ft, batch):
        return clip_lpips_distance(fp, ft, head)[0]

    def loss(self, out, batch):
        return F.mse_loss(out, batch["label"])

    def metrics(self, out, collected):
        score, label = out.numpy(), collected["label"].numpy()
        mse = stats.mse(score, label)
        return {"val_loss": mse, "val_mse": mse, **_agreement(score, label)}

    def save(self, head, path, meta):
        save_heads(head, path, config=meta)

    def load(self, path):
        return load_heads(path)


class ChangeMapTask(Task):
    kind, output_file, option, arch_field = "clu", "decoder.safetensors", "decoder", "form"

    def build_head(self, channels: list[int]) -> nn.Module:
        return CLUDecoder(channels, self.config.form)

    def forward(self, head, fp, ft, batch):
        return clu_logits(fp, ft, head, tuple(batch["mask"].shape[-2:]))

    def loss(self, out, batch):
        w = pixel_weights(batch)
        if float(w.sum()) == 0:
            return out.sum() * 0.0
        bce = F.binary_cross_entropy_with_logits(out, batch["mask"], reduction="none")
        loss = (bce.mean(dim=(1, 2, 3)) * w).sum() / w.sum()
        if self.config.dice > 0:
            keep = w > 0
            loss = loss + self.config.dice * _dice(out[keep], batch["mask"][keep])
        return loss

    def metrics(self, out, collected):
        mask, w, label = collected["mask"], collected["weight"], collected["label"].numpy()
        bce = F.binary_cross_entropy_with_logits(out, mask, reduction="none").mean(dim=(1, 2, 3))
        res = {"val_loss": float((bce * w).sum() / w.sum()) if w.sum() > 0 else float("nan")}
        prob = torch.sigmoid(out)
        keep = w > 0
        res["val_iou"] = stats.iou(prob[keep].numpy(), mask[keep].numpy())
        res["val_auroc"] = stats.auroc(prob[keep].numpy(), mask[keep].numpy())
        score = prob.mean(dim=(1, 2, 3)).numpy()
        res["val_mse"] = stats.mse(score, label)
        return {**res, **_agreement(score, label)}

    def save(self, head, path, meta):
        save_decoder(head, path, config=meta)

    def load(self, path):
        return load_decoder(path)


_TASKS: dict[str, type[Task]] = {t.kind: t for t in (RegressorTask, ChangeMapTask)}


def make_task(config: TrainConfig) -> Task:
    """The :class:`Task` of ``config.kind``."""
    return _TASKS[config.kind](config)
