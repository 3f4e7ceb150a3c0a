"""Training loop for the CLIP-LPIPS heads (regressor) and the CLU decoder (change maps).

* ``clip_lpips``: per-stage :class:`~semfidelity.metrics.clip_lpips.LinearHeads` on ResNet-50
  stage distances, MSE between the score and the pair label. Validation: MSE, MSE-bin (labels
  binarised at 0.5), SRCC, PLCC, KRCC.
* ``clu``: :class:`~semfidelity.metrics.clu.CLUDecoder` on stage differences, per-pixel BCE
  against the change masks (+ ``dice`` x soft Dice). Pairs without a mask count as "no change"
  when their label is 0 and are left out of the pixel loss otherwise. Validation: BCE, IoU
  (pooled over pixels, map >= 0.5), pixel AUROC, and SRCC/PLCC/KRCC/MSE of the image score
  (mean of the map) against the labels.

Optimiser AdamW. The backbone is frozen (default; its stage features are then computed once and
cached when they fit in ``cache_limit_gb``) or fine-tuned (``finetune=True``, learning rate
``lr * backbone_lr_scale``; its weights are saved as ``backbone.safetensors``).

Determinism: parameter initialisation, data order and every random draw derive from ``seed``
through private generators (the global RNG is left as it was). A checkpoint
(``checkpoint.pt``) is written after every epoch with the model, optimiser, data-order
generator and history; ``resume=True`` continues from it and ends with the same weights as an
uninterrupted run (bit-identical on CPU).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from semfidelity._version import __version__
from semfidelity.backbones.resnet import ResNetFeatures, build_resnet_features
from semfidelity.metrics.clip_lpips import LinearHeads, clip_lpips_distance, save_heads
from semfidelity.metrics.clu import CLUDecoder, clu_logits, save_decoder
from semfidelity.training import stats
from semfidelity.training.dataset import PairDataset, file_sha256

__all__ = ["TrainConfig", "TrainResult", "train", "build_backbone", "KINDS"]

logger = logging.getLogger(__name__)

KINDS = ("clip_lpips", "clu")
CHECKPOINT = "checkpoint.pt"
OUTPUT_FILE = {"clip_lpips": "heads.safetensors", "clu": "decoder.safetensors"}


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in ``card.json``).

    Attributes:
        kind: ``"clip_lpips"`` (regression heads) or ``"clu"`` (change-map decoder).
        train_csv, val_csv: pair CSVs (see :mod:`semfidelity.training.dataset`).
        out: output folder.
        backbone: ``"imagenet"`` or ``"clip"`` (ResNet-50 flavour).
        depth: residual stages 1..4.
        backbone_weights: ``None`` (manifest default), manifest id, file path or ``"random"``
            (tests and timing only).
        epochs, lr, weight_decay, batch_size: optimisation (AdamW).
        size: resize + centre-crop every pair to ``size`` (``None``: native size, batch 1).
        crop: seeded square crop after ``size`` (fixed per sample).
        finetune: train the backbone too (else frozen).
        backbone_lr_scale: backbone learning rate = ``lr * backbone_lr_scale`` when fine-tuning.
        dice: weight of the soft Dice loss added to BCE (``clu`` only).
        seed: seed of initialisation, data order and crops.
        workers: DataLoader worker processes.
        device: torch device string.
        cache_features: ``None`` = cache frozen-backbone features when they fit in
            ``cache_limit_gb``; ``True``/``False`` force it.
        cache_limit_gb: memory allowed for the feature cache.
    """

    kind: str
    train_csv: str
    val_csv: str
    out: str
    backbone: str = "imagenet"
    depth: int = 4
    backbone_weights: str | None = None
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 16
    size: int | None = 224
    crop: int | None = None
    finetune: bool = False
    backbone_lr_scale: float = 0.1
    dice: float = 0.0
    seed: int = 0
    workers: int = 0
    device: str = "cpu"
    cache_features: bool | None = None
    cache_limit_gb: float = 4.0

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        positive_ints = {"epochs": self.epochs, "batch_size": self.batch_size}
        for name, value in positive_ints.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        for name, value in (("lr", self.lr), ("backbone_lr_scale", self.backbone_lr_scale)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a positive float, got {value!r}")
        if not (self.weight_decay >= 0 and self.dice >= 0):
            raise ValueError(
                f"weight_decay and dice must be >= 0, got {self.weight_decay!r}, {self.dice!r}"
            )
        if self.size is None and self.batch_size != 1:
            raise ValueError(
                f"batch_size: native-size training (size=None) needs batch_size=1, got "
                f"{self.batch_size}; set size (e.g. 224) to batch pairs"
            )

    def resume_key(self) -> dict[str, Any]:
        """Fields that must match between a checkpoint and a resumed run."""
        skip = {"epochs", "workers", "device", "out", "cache_features", "cache_limit_gb"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


@dataclass
class TrainResult:
    """Paths and per-epoch validation history of a finished run."""

    out: Path
    weights: Path
    card: Path
    history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- model pieces
def build_backbone(config: TrainConfig) -> ResNetFeatures:
    """The run's backbone; a random one is initialised from ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_resnet_features(config.backbone, config.depth, config.backbone_weights)


def _build_head(config: TrainConfig, channels: list[int]) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed + 1)
        return LinearHeads(channels) if config.kind == "clip_lpips" else CLUDecoder(channels)


def _forward(
    config: TrainConfig, backbone: nn.Module, head: nn.Module, batch: dict[str, Any]
) -> torch.Tensor:
    """Scores ``(B,)`` (clip_lpips) or logits ``(B,1,H,W)`` (clu) for a batch."""
    if "feats_p" in batch:
        fp, ft = batch["feats_p"], batch["feats_t"]
    else:
        n = batch["distorted"].shape[0]
        feats = backbone(torch.cat([batch["distorted"], batch["reference"]]))
        fp, ft = [f[:n] for f in feats], [f[n:] for f in feats]
    if config.kind == "clip_lpips":
        return clip_lpips_distance(fp, ft, head)[0]
    return clu_logits(fp, ft, head, tuple(batch["mask"].shape[-2:]))


def _dice(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    return (1 - (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def _pixel_weights(batch: dict[str, Any]) -> torch.Tensor:
    """1 for pairs whose mask is known: a mask file, or label 0 ("nothing changed")."""
    return (batch["has_mask"] | (batch["label"] < 0.5)).float()


def _loss(config: TrainConfig, out: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    if config.kind == "clip_lpips":
        return F.mse_loss(out, batch["label"])
    w = _pixel_weights(batch)
    if float(w.sum()) == 0:
        return out.sum() * 0.0
    bce = F.binary_cross_entropy_with_logits(out, batch["mask"], reduction="none")
    loss = (bce.mean(dim=(1, 2, 3)) * w).sum() / w.sum()
    if config.dice > 0:
        keep = w > 0
        loss = loss + config.dice * _dice(out[keep], batch["mask"][keep])
    return loss


# ----------------------------------------------------------------------------- data
def _to(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device)
        elif isinstance(v, list):
            out[k] = [t.to(device) for t in v]
        else:
            out[k] = v
    return out


class _Source:
    """Batches of a dataset in a given order: from a feature cache or through a DataLoader."""

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
        parts: dict[str, list] = {
            "feats_p": [],
            "feats_t": [],
            "label": [],
            "mask": [],
            "has_mask": [],
        }
        loader = self._loader(list(range(len(self.dataset))))
        for batch in tqdm(loader, desc=f"features ({desc})", leave=False, disable=not progress):
            batch = _to(batch, self.device)
            n = batch["distorted"].shape[0]
            feats = backbone(torch.cat([batch["distorted"], batch["reference"]]))
            parts["feats_p"].append([f[:n] for f in feats])
            parts["feats_t"].append([f[n:] for f in feats])
            for k in ("label", "mask", "has_mask"):
                parts[k].append(batch[k])
        out: dict[str, Any] = {k: torch.cat(parts[k]) for k in ("label", "mask", "has_mask")}
        for k in ("feats_p", "feats_t"):
            out[k] = [torch.cat(stage) for stage in zip(*parts[k])]
        return out

    def batches(self, order: list[int]) -> Iterator[dict[str, Any]]:
        if self.cache is None:
            for batch in self._loader(order):
                yield _to(batch, self.device)
            return
        for s in range(0, len(order), self.config.batch_size):
            idx = torch.tensor(order[s : s + self.config.batch_size], device=self.device)
            batch = {k: self.cache[k][idx] for k in ("label", "mask", "has_mask")}
            batch["feats_p"] = [f[idx] for f in self.cache["feats_p"]]
            batch["feats_t"] = [f[idx] for f in self.cache["feats_t"]]
            yield batch


def _cache_bytes(config: TrainConfig, backbone: ResNetFeatures, n: int) -> float:
    side = config.crop or config.size or 512
    per_image = sum(c * (side // s) ** 2 for c, s in zip(backbone.channels, backbone.strides))
    return 2 * n * per_image * 4.0


def _data_hash(dataset: PairDataset) -> dict[str, Any]:
    h = hashlib.sha256()
    for rec in dataset.records:
        for p in (rec.reference, rec.distorted, rec.mask):
            h.update((file_sha256(p) if p is not None else "-").encode())
        h.update(f"{rec.label!r}".encode())
    return {
        "csv": str(dataset.csv_path),
        "csv_sha256": file_sha256(dataset.csv_path),
        "content_sha256": h.hexdigest(),
        "n": len(dataset),
        "n_label_ge_0.5": int(sum(r.label >= 0.5 for r in dataset.records)),
        "n_masks": int(sum(r.mask is not None for r in dataset.records)),
    }


# ------------------------------------------------------------------------- validation
@torch.no_grad()
def validate(
    config: TrainConfig, backbone: nn.Module, head: nn.Module, source: _Source
) -> dict[str, float]:
    """Validation loss and agreement metrics over the whole validation set."""
    head.eval()
    outs, labels, masks, weights = [], [], [], []
    for batch in source.batches(list(range(len(source.dataset)))):
        outs.append(_forward(config, backbone, head, batch).float().cpu())
        labels.append(batch["label"].cpu())
        masks.append(batch["mask"].cpu())
        weights.append(_pixel_weights(batch).cpu())
    out, label = torch.cat(outs), torch.cat(labels).numpy()
    if config.kind == "clip_lpips":
        score = out.numpy()
        res = {"val_loss": stats.mse(score, label), "val_mse": stats.mse(score, label)}
    else:
        mask, w = torch.cat(masks), torch.cat(weights)
        bce = F.binary_cross_entropy_with_logits(out, mask, reduction="none").mean(dim=(1, 2, 3))
        res = {"val_loss": float((bce * w).sum() / w.sum()) if w.sum() > 0 else float("nan")}
        prob = torch.sigmoid(out)
        keep = w > 0
        res["val_iou"] = stats.iou(prob[keep].numpy(), mask[keep].numpy())
        res["val_auroc"] = stats.auroc(prob[keep].numpy(), mask[keep].numpy())
        score = prob.mean(dim=(1, 2, 3)).numpy()
        res["val_mse"] = stats.mse(score, label)
    res["val_mse_bin"] = stats.mse_bin(score, label)
    res["val_srcc"] = stats.srcc(score, label)
    res["val_plcc"] = stats.plcc(score, label)
    res["val_krcc"] = stats.krcc(score, label)
    return res


# --------------------------------------------------------------------------- training
def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    import huggingface_hub
    import safetensors
    import torchvision

    return {
        "semfidelity": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Run (or resume) a training run; returns the output paths and validation history.

    Args:
        config: the run (see :class:`TrainConfig`).
        resume: continue from ``out/checkpoint.pt`` when present (its config must match).
        progress: show tqdm progress bars.
        stop_after: stop after this epoch number (1-based), as if interrupted (for tests and
            time-sliced jobs); resume later with ``resume=True``.

    History: entry ``epoch 0`` is the validation of the untrained model, then one per epoch
    with ``train_loss`` and the validation metrics; also written to ``out/metrics.jsonl``.
    """
    config.validate()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(config.device)

    train_ds = PairDataset(config.train_csv, size=config.size, crop=config.crop, seed=config.seed)
    val_ds = PairDataset(config.val_csv, size=config.size, crop=config.crop, seed=config.seed)
    if config.kind == "clu" and not any(r.mask is not None for r in train_ds.records):
        raise ValueError(f"train_csv: training 'clu' needs mask PNGs; {config.train_csv} has none")

    backbone = build_backbone(config).to(device)
    head = _build_head(config, backbone.channels).to(device)
    params = [{"params": list(head.parameters()), "lr": config.lr}]
    if config.finetune:
        for p in backbone.parameters():
            p.requires_grad_(True)
        params.append(
            {"params": list(backbone.parameters()), "lr": config.lr * config.backbone_lr_scale}
        )
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    order_gen = torch.Generator().manual_seed(config.seed)
    history: list[dict[str, Any]] = []
    start = 0

    ckpt_path = out / CHECKPOINT
    if resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        saved = json.loads(ckpt["config"])
        if saved != config.resume_key():
            diff = {
                k: (saved.get(k), v) for k, v in config.resume_key().items() if saved.get(k) != v
            }
            raise ValueError(
                f"resume: checkpoint {ckpt_path} was written with another configuration "
                f"(field: (checkpoint, now)) {diff}"
            )
        head.load_state_dict(ckpt["head"])
        if config.finetune:
            backbone.load_state_dict(ckpt["backbone"])
        optimizer.load_state_dict(ckpt["optimizer"])
        order_gen.set_state(ckpt["order_generator"])
        history = json.loads(ckpt["history"])
        start = int(ckpt["epoch"])
        logger.info("resuming %s from epoch %d", ckpt_path, start)
    elif resume:
        logger.info("resume: no checkpoint at %s, starting from scratch", ckpt_path)

    cache = config.cache_features
    if cache is None:
        need = _cache_bytes(config, backbone, len(train_ds) + len(val_ds))
        cache = (
            not config.finetune and config.size is not None and need < config.cache_limit_gb * 2**30
        )
    if cache and config.finetune:
        raise ValueError("cache_features: cannot cache features of a fine-tuned backbone")
    train_src = _Source(train_ds, config, backbone, device, cache, "train", progress)
    val_src = _Source(val_ds, config, backbone, device, cache, "val", progress)

    if not history:
        history.append({"epoch": 0, **validate(config, backbone, head, val_src)})
        _log_epoch(history[-1])
    last = config.epochs if stop_after is None else min(config.epochs, stop_after)
    for epoch in range(start + 1, last + 1):
        head.train()
        order = torch.randperm(len(train_ds), generator=order_gen).tolist()
        losses, weights = [], []
        bar = tqdm(
            train_src.batches(order),
            total=math.ceil(len(order) / config.batch_size),
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not progress,
        )
        for batch in bar:
            optimizer.zero_grad(set_to_none=True)
            with torch.set_grad_enabled(True):
                loss = _loss(config, _forward(config, backbone, head, batch), batch)
                loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            weights.append(int(batch["label"].shape[0]))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        record = {"epoch": epoch, "train_loss": float(np.average(losses, weights=weights))}
        record.update(validate(config, backbone, head, val_src))
        history.append(record)
        _log_epoch(record)
        _write_jsonl(out / "metrics.jsonl", history)
        state = {
            "config": json.dumps(config.resume_key(), sort_keys=True),
            "epoch": epoch,
            "head": head.state_dict(),
            "optimizer": optimizer.state_dict(),
            "order_generator": order_gen.get_state(),
            "history": json.dumps(history),
        }
        if config.finetune:
            state["backbone"] = backbone.state_dict()
        _save_checkpoint(ckpt_path, state)

    _write_jsonl(out / "metrics.jsonl", history)
    weights_path = _export(config, backbone, head, out)
    card_path = _write_card(config, out, history, train_ds, val_ds, complete=last == config.epochs)
    return TrainResult(out=out, weights=weights_path, card=card_path, history=history)


def _log_epoch(record: dict[str, Any]) -> None:
    shown = ", ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
    )
    logger.info("%s", shown)


def _write_jsonl(path: Path, history: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in history:
            fh.write(json.dumps(rec) + "\n")


def _export(config: TrainConfig, backbone: nn.Module, head: nn.Module, out: Path) -> Path:
    meta = {
        "backbone": config.backbone,
        "depth": config.depth,
        "backbone_weights": (
            "backbone.safetensors" if config.finetune else config.backbone_weights
        ),
        "size": config.size,
        "trained_with": "semfid-train",
    }
    path = out / OUTPUT_FILE[config.kind]
    if config.kind == "clip_lpips":
        save_heads(head, path, config=meta)
    else:
        save_decoder(head, path, config=meta)
    if config.finetune:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in backbone.state_dict().items()}
        save_file(state, str(out / "backbone.safetensors"))
    return path


def _write_card(
    config: TrainConfig,
    out: Path,
    history: list[dict[str, Any]],
    train_ds: PairDataset,
    val_ds: PairDataset,
    *,
    complete: bool,
) -> Path:
    option = "heads" if config.kind == "clip_lpips" else "decoder"
    load = f'semfidelity.create_metric("{config.kind}", {option}="{out}")'
    if config.finetune:
        load = load[:-1] + f', weights="{out / "backbone.safetensors"}")'
    card = {
        "kind": config.kind,
        "config": dataclasses.asdict(config),
        "complete": complete,
        "data": {"train": _data_hash(train_ds), "val": _data_hash(val_ds)},
        "final_metrics": {k: v for k, v in history[-1].items() if k != "epoch"},
        "best_epoch_by_val_loss": min(history, key=lambda r: r["val_loss"])["epoch"],
        "history": history,
        "versions": _versions(),
        "load": load,
    }
    path = out / "card.json"
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
