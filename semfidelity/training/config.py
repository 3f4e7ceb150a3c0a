"""The definition of a training run (:class:`TrainConfig`) and its result (:class:`TrainResult`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semfidelity.training.geometry import FITS

__all__ = ["TrainConfig", "TrainResult", "KINDS", "CHECKPOINT"]

KINDS = ("clip_lpips", "clu")
CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in ``card.json``).

    Attributes:
        kind: ``"clip_lpips"`` (regression heads) or ``"clu"`` (change-map decoder).
        train_csv, val_csv: pair CSVs (see :mod:`semfidelity.training.dataset`).
        out: output folder.
        backbone: ``"imagenet"`` or ``"clip"`` (ResNet-50 flavour).
        depth: residual stages 1..4 (stem + layer1..layer<depth>); 2 = the thesis' best model.
        head: ``clip_lpips`` heads, ``"thesis"`` (per-stage linear layer on the raw feature MSE)
            or ``"lpips"`` (non-negative weights on unit-normalised differences).
        form: ``clu`` input/output form, ``"change"`` (``|u_p - u_t|`` in, change probability
            out) or ``"thesis"`` (raw squared-difference maps in, similarity map out).
        backbone_weights: ``None`` (manifest default), manifest id, file path or ``"random"``
            (tests and timing only).
        epochs, lr, weight_decay, batch_size: optimisation (AdamW).
        size: bring every pair to ``size x size`` as ``fit`` says (``None``: native size;
            batch 1 unless ``crop`` is set).
        fit: ``"mask"`` (resize the shorter side, then the window nearest the centre that holds
            the change mask; label > 0 without a mask: resized whole), ``"resize"`` (resized
            whole) or ``"centre"`` (centre crop; may cut the change out). See
            :mod:`semfidelity.training.geometry`.
        crop: seeded square crop after ``size`` (fixed per sample; keeps the change unless
            ``fit="centre"``).
        finetune: train the backbone too (else frozen).
        backbone_lr_scale: backbone learning rate = ``lr * backbone_lr_scale`` when fine-tuning.
        freeze_stages: when fine-tuning, keep the first N backbone stages frozen, the stem
            counted first (0: the whole backbone trains; 1: stem frozen; 2: stem + layer1; ...
            at most ``depth``, so the deepest stage always trains).
        init: start from an earlier run (its output folder, weights file or checkpoint.pt):
            its head/decoder and any backbone it fine-tuned (``None``: fresh start; see
            :mod:`semfidelity.training.warm_start`).
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
    depth: int = 2
    head: str = "thesis"
    form: str = "change"
    backbone_weights: str | None = None
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 16
    size: int | None = 224
    fit: str = "mask"
    crop: int | None = None
    finetune: bool = False
    backbone_lr_scale: float = 0.1
    freeze_stages: int = 0
    init: str | None = None
    dice: float = 0.0
    seed: int = 0
    workers: int = 0
    device: str = "cpu"
    cache_features: bool | None = None
    cache_limit_gb: float = 4.0

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        for name, value, allowed in (
            ("head", self.head, ("thesis", "lpips")),
            ("form", self.form, ("change", "thesis")),
            ("fit", self.fit, FITS),
        ):
            if value not in allowed:
                raise ValueError(f"{name}: expected one of {allowed}, got {value!r}")
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
        self._validate_freeze()
        if self.size is None and self.crop is None and self.batch_size != 1:
            raise ValueError(
                f"batch_size: native-size training (size=None, crop=None) needs batch_size=1, "
                f"got {self.batch_size}; set size (e.g. 224) or crop to batch pairs"
            )

    def _validate_freeze(self) -> None:
        n = self.freeze_stages
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= self.depth:
            raise ValueError(
                f"freeze_stages: expected an int in 0..depth ({self.depth}): the number of "
                f"leading backbone stages (stem first) kept frozen, got {n!r}"
            )
        if n and not self.finetune:
            raise ValueError(
                f"freeze_stages: {n} frozen stages only make sense with finetune=True "
                "(--finetune); without it the whole backbone is frozen"
            )

    @staticmethod
    def defaults() -> dict[str, Any]:
        """Default value of every field that has one."""
        return {
            f.name: f.default
            for f in dataclasses.fields(TrainConfig)
            if f.default is not dataclasses.MISSING
        }

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
