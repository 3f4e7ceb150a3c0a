"""``semfid-train clip_lpips|clu --train CSV --val CSV --out DIR``: train heads or a decoder.

Writes ``DIR/heads.safetensors`` (clip_lpips) or ``DIR/decoder.safetensors`` (clu),
``DIR/card.json``, ``DIR/metrics.jsonl`` and ``DIR/checkpoint.pt``; see
:mod:`semfidelity.training.train` and ``docs/training.md``. Exit codes: 0 success, 1 failure,
2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from semfidelity.training.train import KINDS, TrainConfig, train

__all__ = ["main", "build_parser"]


def _size(value: str) -> int | None:
    return None if value.lower() in ("none", "native") else int(value)


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig(kind="clip_lpips", train_csv="", val_csv="", out="")
    p = argparse.ArgumentParser(
        prog="semfid-train",
        description="Train CLIP-LPIPS linear heads (regressor, MSE) or the CLU decoder "
        "(change maps, BCE [+ Dice]) on pair CSVs.",
    )
    p.add_argument("kind", choices=KINDS, help="what to train")
    p.add_argument("--train", required=True, help="training pair CSV")
    p.add_argument("--val", required=True, help="validation pair CSV")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--backbone", choices=("imagenet", "clip"), default=d.backbone)
    p.add_argument(
        "--depth",
        type=int,
        default=d.depth,
        help="residual stages used, 1..4: stem + layer1..layerDEPTH (2, the thesis' best model)",
    )
    p.add_argument(
        "--head",
        choices=("thesis", "lpips"),
        default=d.head,
        help="clip_lpips heads: 'thesis' (linear layer on the raw per-stage MSE; default) or "
        "'lpips' (non-negative weights on unit-normalised differences)",
    )
    p.add_argument(
        "--form",
        choices=("change", "thesis"),
        default=d.form,
        help="clu decoder: 'change' (abs. normalised differences -> change probability; default) "
        "or 'thesis' (raw squared-error maps -> similarity map)",
    )
    p.add_argument(
        "--backbone-weights",
        default=None,
        help="backbone weights: manifest id, file, or 'random' (tests only); default: manifest",
    )
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument(
        "--size", type=_size, default=d.size, help="training side (224; 'native': no resizing)"
    )
    p.add_argument(
        "--fit",
        choices=("mask", "resize", "centre"),
        default=d.fit,
        help="how pairs reach --size: 'mask' (default: resize the shorter side, window holding "
        "the change mask; labelled pairs without a mask resized whole), 'resize' (whole image "
        "to a square) or 'centre' (centre crop; can cut the change out)",
    )
    p.add_argument(
        "--crop", type=int, default=None, help="seeded square crop after --size (keeps the mask)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--freeze-backbone", dest="finetune", action="store_false", help="(default)")
    mode.add_argument("--finetune", dest="finetune", action="store_true", help="train backbone")
    p.set_defaults(finetune=False)
    p.add_argument("--backbone-lr-scale", type=float, default=d.backbone_lr_scale)
    p.add_argument(
        "--freeze-stages",
        type=int,
        default=d.freeze_stages,
        metavar="N",
        help="with --finetune: keep the first N backbone stages frozen, stem counted first "
        "(0: all train; 1: stem; 2: stem + layer1; at most --depth)",
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="DIR",
        help="start from an earlier run: its output folder (heads/decoder + any fine-tuned "
        "backbone), weights file or checkpoint.pt; kind, backbone, depth, head/form must match",
    )
    p.add_argument("--dice", type=float, default=d.dice, help="Dice loss weight (clu; 0)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--workers", type=int, default=d.workers, help="DataLoader workers (0)")
    p.add_argument("--device", default=d.device)
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache-features", dest="cache", action="store_true", default=None)
    cache.add_argument("--no-cache-features", dest="cache", action="store_false")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--quiet", action="store_true", help="only warnings")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(name)s: %(message)s"
    )
    config = TrainConfig(
        kind=args.kind,
        train_csv=args.train,
        val_csv=args.val,
        out=args.out,
        backbone=args.backbone,
        depth=args.depth,
        head=args.head,
        form=args.form,
        backbone_weights=args.backbone_weights,
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        size=args.size,
        fit=args.fit,
        crop=args.crop,
        finetune=args.finetune,
        backbone_lr_scale=args.backbone_lr_scale,
        freeze_stages=args.freeze_stages,
        init=args.init,
        dice=args.dice,
        seed=args.seed,
        workers=args.workers,
        device=args.device,
        cache_features=args.cache,
    )
    try:
        result = train(config, resume=args.resume, progress=not args.no_progress)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        sys.stderr.write(f"semfid-train: error: {exc}\n")
        return 1
    final = result.history[-1]
    sys.stdout.write(
        f"{result.weights}\n"
        + " ".join(f"{k}={v:.4f}" for k, v in final.items() if isinstance(v, float))
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
