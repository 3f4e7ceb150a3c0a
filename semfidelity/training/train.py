"""Training loop for the CLIP-LPIPS heads (regressor) and the CLU decoder (change maps).

What each kind trains, its loss and its validation metrics: :mod:`semfidelity.training.tasks`.
The run's settings: :class:`~semfidelity.training.config.TrainConfig`.

Optimiser AdamW. The backbone is frozen (default; its stage features are then computed once and
cached when they fit in ``cache_limit_gb``, :mod:`semfidelity.training.features`) or fine-tuned
(``finetune=True``, learning rate ``lr * backbone_lr_scale``, optionally with its first
``freeze_stages`` stages frozen, :mod:`semfidelity.training.params`; its weights are saved as
``backbone.safetensors``, also when ``init`` supplied a fine-tuned backbone). ``init`` starts
from an earlier run's head/decoder and backbone (:mod:`semfidelity.training.warm_start`).

Determinism: parameter initialisation, data order and every random draw derive from ``seed``
through private generators (the global RNG is left as it was). A checkpoint
(``checkpoint.pt``) is written after every epoch with the model, optimiser, data-order
generator and history; ``resume=True`` continues from it and ends with the same weights as an
uninterrupted run (bit-identical on CPU).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm

from semfidelity.backbones.resnet import ResNetFeatures, build_resnet_features
from semfidelity.training.card import write_card, write_jsonl
from semfidelity.training.config import CHECKPOINT, KINDS, TrainConfig, TrainResult
from semfidelity.training.dataset import PairDataset
from semfidelity.training.features import BatchSource, cache_bytes
from semfidelity.training.params import param_groups
from semfidelity.training.tasks import Task, make_task, pixel_weights
from semfidelity.training.warm_start import apply_init, read_init

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train",
    "validate",
    "build_backbone",
    "KINDS",
    "CHECKPOINT",
]

logger = logging.getLogger(__name__)


def build_backbone(config: TrainConfig) -> ResNetFeatures:
    """The run's backbone; a random one is initialised from ``seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build_resnet_features(config.backbone, config.depth, config.backbone_weights)


def _build_head(task: Task, channels: list[int]) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(task.config.seed + 1)
        return task.build_head(channels)


def _forward(task: Task, backbone: nn.Module, head: nn.Module, batch: dict) -> torch.Tensor:
    """Scores ``(B,)`` (clip_lpips) or logits ``(B,1,H,W)`` (clu) for a batch."""
    if "feats_p" in batch:
        fp, ft = batch["feats_p"], batch["feats_t"]
    else:
        n = batch["distorted"].shape[0]
        feats = backbone(torch.cat([batch["distorted"], batch["reference"]]))
        fp, ft = [f[:n] for f in feats], [f[n:] for f in feats]
    return task.forward(head, fp, ft, batch)


@torch.no_grad()
def validate(
    task: Task, backbone: nn.Module, head: nn.Module, source: BatchSource
) -> dict[str, float]:
    """Validation loss and agreement metrics over the whole validation set."""
    head.eval()
    outs: list[torch.Tensor] = []
    collected: dict[str, list[torch.Tensor]] = {"label": [], "mask": [], "weight": []}
    for batch in source.batches(list(range(len(source.dataset)))):
        outs.append(_forward(task, backbone, head, batch).float().cpu())
        collected["label"].append(batch["label"].cpu())
        collected["mask"].append(batch["mask"].cpu())
        collected["weight"].append(pixel_weights(batch).cpu())
    return task.metrics(torch.cat(outs), {k: torch.cat(v) for k, v in collected.items()})


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, config: TrainConfig) -> dict[str, Any]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    # fields added since the checkpoint was written take their defaults
    key, defaults = config.resume_key(), TrainConfig.defaults()
    saved = {**{k: defaults[k] for k in key if k in defaults}, **json.loads(ckpt["config"])}
    if saved != key:
        diff = {k: (saved.get(k), v) for k, v in key.items() if saved.get(k) != v}
        raise ValueError(
            f"resume: checkpoint {path} was written with another configuration "
            f"(field: (checkpoint, now)) {diff}"
        )
    return ckpt


def _use_cache(config: TrainConfig, backbone: ResNetFeatures, n: int) -> bool:
    cache = config.cache_features
    if cache is None:
        need = cache_bytes(config, backbone, n)
        cache = (
            not config.finetune
            and (config.size is not None or config.crop is not None)
            and need < config.cache_limit_gb * 2**30
        )
    if cache and config.finetune:
        raise ValueError("cache_features: cannot cache features of a fine-tuned backbone")
    return cache


def _log_epoch(record: dict[str, Any]) -> None:
    shown = ", ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
    )
    logger.info("%s", shown)


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
    task = make_task(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(config.device)

    geometry = {"size": config.size, "crop": config.crop, "seed": config.seed, "fit": config.fit}
    train_ds = PairDataset(config.train_csv, **geometry)
    val_ds = PairDataset(config.val_csv, **geometry)
    if config.kind == "clu" and not any(r.mask is not None for r in train_ds.records):
        raise ValueError(f"train_csv: training 'clu' needs mask PNGs; {config.train_csv} has none")

    init = read_init(config, task) if config.init is not None else None
    backbone = build_backbone(config).to(device)
    head = _build_head(task, backbone.channels).to(device)
    # --init first, also on resume: a backbone it supplies is not in a frozen run's checkpoint
    if init is not None:
        apply_init(init, backbone, head)
    own_backbone = config.finetune or (init is not None and init.backbone_state is not None)
    optimizer = torch.optim.AdamW(
        param_groups(config, backbone, head), lr=config.lr, weight_decay=config.weight_decay
    )
    order_gen = torch.Generator().manual_seed(config.seed)
    history: list[dict[str, Any]] = []
    start = 0

    ckpt_path = out / CHECKPOINT
    if resume and ckpt_path.is_file():
        ckpt = _load_checkpoint(ckpt_path, config)
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

    cache = _use_cache(config, backbone, len(train_ds) + len(val_ds))
    train_src = BatchSource(train_ds, config, backbone, device, cache, "train", progress)
    val_src = BatchSource(val_ds, config, backbone, device, cache, "val", progress)

    if not history:
        history.append({"epoch": 0, **validate(task, backbone, head, val_src)})
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
                loss = task.loss(_forward(task, backbone, head, batch), batch)
                loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            weights.append(int(batch["label"].shape[0]))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        record = {"epoch": epoch, "train_loss": float(np.average(losses, weights=weights))}
        record.update(validate(task, backbone, head, val_src))
        history.append(record)
        _log_epoch(record)
        write_jsonl(out / "metrics.jsonl", history)
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

    write_jsonl(out / "metrics.jsonl", history)
    weights_path = _export(task, backbone, head, out, own_backbone)
    card_path = write_card(
        config,
        out,
        history,
        train_ds,
        val_ds,
        option=task.option,
        complete=last == config.epochs,
        own_backbone=own_backbone,
        init=init.record() if init is not None else None,
    )
    return TrainResult(out=out, weights=weights_path, card=card_path, history=history)


def _export(task: Task, backbone: nn.Module, head: nn.Module, out: Path, own: bool) -> Path:
    config = task.config
    meta = {
        "backbone": config.backbone,
        "depth": config.depth,
        "backbone_weights": ("backbone.safetensors" if own else config.backbone_weights),
        "size": config.size,
        "fit": config.fit,
        "crop": config.crop,
        "trained_with": "semfid-train",
    }
    path = out / task.output_file
    task.save(head, path, meta)
    if own:
        state = {k: v.detach().cpu().contiguous() for k, v in backbone.state_dict().items()}
        save_file(state, str(out / "backbone.safetensors"))
    return path
