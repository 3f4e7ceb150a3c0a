"""Batches for training and validation: through a DataLoader, or from a frozen-backbone cache.

A frozen backbone gives the same stage features for a sample every epoch (the dataset's
transforms are deterministic), so :class:`BatchSource` can compute them once and serve the
batches from memory; :func:`cache_bytes` estimates what that costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from semfidelity.backbones.resnet import ResNetFeatures
from semfidelity.training.config import TrainConfig
from semfidelity.training.dataset import PairDataset

__all__ = ["BatchSource", "cache_bytes", "to_device"]

_PER_SAMPLE = ("label", "mask", "has_mask")


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Tensors (and lists of tensors) of ``batch`` moved to ``device``."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device)
        elif isinstance(v, list):
            out[k] = [t.to(device) for t in v]
        else:
            out[k] = v
    return out


class BatchSource:
    """Batches of a dataset in a given order: from a feature cache or through a DataLoader.

    Cached batches hold ``feats_p``/``feats_t`` (per-stage features of distorted and reference)
    instead of the images.
    """

    def __init__(
        self,
        dataset: PairDataset,
        config: TrainConfig,
        backbone: nn.Module,
        device: torch.device,
        cache: bool,
        desc: str,
        progress: bool,
    ) -> None:
        self.dataset, self.config, self.device = dataset, config, device
        self.cache: dict[str, Any] | None = None
        if cache:
            self.cache = self._extract(backbone, desc, progress)

    def _loader(self, indices: list[int]) -> DataLoader:
        return DataLoader(
            Subset(self.dataset, indices),
            batch_size=self.config.batch_size,
            shuffle=False,
            num_workers=self.config.workers,
        )

    @torch.no_grad()
    def _extract(self, backbone: nn.Module, desc: str, progress: bool) -> dict[str, Any]:
        parts: dict[str, list] = {k: [] for k in ("feats_p", "feats_t", *_PER_SAMPLE)}
        loader = self._loader(list(range(len(self.dataset))))
        for batch in tqdm(loader, desc=f"features ({desc})", leave=False, disable=not progress):
            batch = to_device(batch, self.device)
            n = batch["distorted"].shape[0]
            feats = backbone(torch.cat([batch["distorted"], batch["reference"]]))
            parts["feats_p"].append([f[:n] for f in feats])
            parts["feats_t"].append([f[n:] for f in feats])
            for k in _PER_SAMPLE:
                parts[k].append(batch[k])
        out: dict[str, Any] = {k: torch.cat(parts[k]) for k in _PER_SAMPLE}
        for k in ("feats_p", "feats_t"):
            out[k] = [torch.cat(stage) for stage in zip(*parts[k])]
        return out

    def batches(self, order: list[int]) -> Iterator[dict[str, Any]]:
        if self.cache is None:
            for batch in self._loader(order):
                yield to_device(batch, self.device)
            return
        for s in range(0, len(order), self.config.batch_size):
            idx = torch.tensor(order[s : s + self.config.batch_size], device=self.device)
            batch = {k: self.cache[k][idx] for k in _PER_SAMPLE}
            batch["feats_p"] = [f[idx] for f in self.cache["feats_p"]]
            batch["feats_t"] = [f[idx] for f in self.cache["feats_t"]]
            yield batch


def cache_bytes(config: TrainConfig, backbone: ResNetFeatures, n: int) -> float:
    """Bytes the float32 stage features of ``n`` pairs take."""
    side = config.crop or config.size or 512
    per_image = sum(c * (side // s) ** 2 for c, s in zip(backbone.channels, backbone.strides))
    return 2 * n * per_image * 4.0
