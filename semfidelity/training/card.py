"""The record of a training run: ``metrics.jsonl``, ``card.json`` (config, data hashes,
history, library versions, how to load the result)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semfidelity._version import __version__
from semfidelity.training.config import TrainConfig
from semfidelity.training.dataset import PairDataset, file_sha256

__all__ = ["data_hash", "versions", "write_card", "write_jsonl"]


def data_hash(dataset: PairDataset) -> dict[str, Any]:
    """CSV hash, a content hash over every image, mask and label, and counts."""
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


def versions() -> dict[str, str]:
    """Versions of the libraries that shape the result."""
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


def write_jsonl(path: Path, history: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in history:
            fh.write(json.dumps(rec) + "\n")


def write_card(
    config: TrainConfig,
    out: Path,
    history: list[dict[str, Any]],
    train_ds: PairDataset,
    val_ds: PairDataset,
    *,
    option: str,
    complete: bool,
    own_backbone: bool | None = None,
    init: dict[str, Any] | None = None,
) -> Path:
    """Write ``out/card.json``; ``option`` is the create_metric option that loads the result,
    ``own_backbone`` whether ``backbone.safetensors`` was written (default: ``finetune``),
    ``init`` what ``--init`` started from."""
    load = f'semfidelity.create_metric("{config.kind}", {option}="{out}")'
    if config.finetune if own_backbone is None else own_backbone:
        load = load[:-1] + f', weights="{out / "backbone.safetensors"}")'
    card = {
        "kind": config.kind,
        "config": dataclasses.asdict(config),
        "complete": complete,
        "data": {"train": data_hash(train_ds), "val": data_hash(val_ds)},
        "final_metrics": {k: v for k, v in history[-1].items() if k != "epoch"},
        "best_epoch_by_val_loss": min(history, key=lambda r: r["val_loss"])["epoch"],
        "history": history,
        "versions": versions(),
        "load": load,
    }
    if init is not None:
        card["init"] = init
    path = out / "card.json"
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
