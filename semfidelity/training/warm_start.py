"""``--init``: start a run from the trained head/decoder (and backbone) of an earlier run.

The source is an earlier ``semfid-train`` output folder (its ``heads.safetensors`` /
``decoder.safetensors``, else its ``checkpoint.pt``), or one of those files. Its head/decoder
weights replace the freshly initialised ones; a backbone it fine-tuned (``backbone.safetensors``
beside the weights, or the checkpoint's backbone) replaces the run's backbone weights. What
fixes the architecture must match the run: ``kind``, ``backbone``, ``depth`` and ``head``
(clip_lpips) or ``form`` (clu); a mismatch raises ``ValueError`` naming each field.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from semfidelity.training.config import CHECKPOINT, TrainConfig
from semfidelity.training.dataset import file_sha256
from semfidelity.training.tasks import Task

__all__ = ["InitSource", "read_init", "apply_init"]

logger = logging.getLogger(__name__)

BACKBONE_FILE = "backbone.safetensors"


@dataclass
class InitSource:
    """What ``--init`` read: the file, its training settings and the weights to start from."""

    file: Path
    config: dict[str, Any]
    head_state: dict[str, torch.Tensor]
    backbone_state: dict[str, torch.Tensor] | None

    def record(self) -> dict[str, Any]:
        """For card.json: the file, its sha256 and whether it supplied the backbone."""
        return {
            "file": str(self.file),
            "sha256": file_sha256(self.file),
            "backbone": self.backbone_state is not None,
        }


def _source_file(config: TrainConfig, task: Task) -> Path:
    path = Path(str(config.init)).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"init: {config.init!r} is neither a file nor a folder")
    for name in (task.output_file, CHECKPOINT):
        if (path / name).is_file():
            return path / name
    raise ValueError(
        f"init: folder {path} holds neither {task.output_file} nor {CHECKPOINT}; pass the output "
        f"folder of an earlier `semfid-train {task.kind}` run"
    )


def _from_checkpoint(file: Path) -> InitSource:
    ckpt = torch.load(file, map_location="cpu", weights_only=True)
    return InitSource(file, json.loads(ckpt["config"]), ckpt["head"], ckpt.get("backbone"))


def _from_weights(file: Path, task: Task) -> InitSource:
    try:
        module, saved = task.load(file)
    except ValueError as exc:
        raise ValueError(f"init: {exc}") from None
    # what the loaded module is (files older than the head/form keys hold defaults of their own)
    arch = module.kind if task.arch_field == "head" else module.form
    saved = {**saved, "kind": task.kind, task.arch_field: arch}
    backbone = None
    if saved.get("backbone_weights") == BACKBONE_FILE and (file.parent / BACKBONE_FILE).is_file():
        backbone = load_file(str(file.parent / BACKBONE_FILE))
    return InitSource(file, saved, module.state_dict(), backbone)


def read_init(config: TrainConfig, task: Task) -> InitSource:
    """Read ``config.init`` and check that it fits the run (see the module docstring)."""
    file = _source_file(config, task)
    source = _from_checkpoint(file) if file.suffix == ".pt" else _from_weights(file, task)
    defaults = TrainConfig.defaults()
    fields = ("kind", "backbone", "depth", task.arch_field)
    diff = {
        f: (source.config.get(f, defaults.get(f)), getattr(config, f))
        for f in fields
        if source.config.get(f, defaults.get(f)) != getattr(config, f)
    }
    if diff:
        raise ValueError(
            f"init: {file} was trained with other settings (field: (init, this run)) {diff}; "
            "run with the same settings or without --init"
        )
    if source.backbone_state is None and source.config.get("backbone_weights") != (
        config.backbone_weights
    ):
        logger.warning(
            "init: %s was trained on backbone weights %r, this run uses %r",
            file,
            source.config.get("backbone_weights"),
            config.backbone_weights,
        )
    return source


def apply_init(source: InitSource, backbone: nn.Module, head: nn.Module) -> None:
    """Load the source's weights into ``head`` (and ``backbone`` when it supplies one)."""
    head.load_state_dict(source.head_state)
    if source.backbone_state is not None:
        backbone.load_state_dict(source.backbone_state)
    logger.info("init: started from %s", source.file)
