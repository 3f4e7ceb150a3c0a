"""``semfid-pseudo-label REF PRED --out pairs.csv``: the thesis' C2C / C2I pseudo-labels.

Pairs come from two folders (paired as ``semfid-score`` pairs them) or from ``--pairs CSV``
(its ``reference``/``distorted`` columns). Captions come from ``--captions CSV`` (columns
``image,caption``), a local VLM (``--vlm MODEL``, extra ``vlm``) or a plug-in
(``--captioner module:attr``). See :func:`semfidelity.training.pseudo_label.pseudo_label`.
Exit codes: 0 every pair labelled, 1 some pairs failed (listed in ``<out>.errors.csv``),
2 usage error (bad arguments, no pairs, ``--out`` exists without ``--resume``/``--overwrite``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from semfidelity.scoring.pairs import discover_pairs
from semfidelity.selection.judges.caption import HFCaptioner
from semfidelity.training.captions import Captioner, CaptionsFile
from semfidelity.training.pseudo_label import pairs_from_csv, pseudo_label
from semfidelity.training.pseudo_scores import C2C, C2I, CLIP_VIEWS
from semfidelity.weights import WeightsError

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-pseudo-label",
        description="Caption GT and SR images and write a pair CSV whose labels are the "
        "semantic-fidelity thesis' C2C (caption-caption MiniLM cosine) and C2I (GT caption - "
        "SR image CLIP cosine) similarities; label = 1 - similarity (1 = semantic error).",
    )
    p.add_argument("ref", nargs="?", help="ground-truth image or folder")
    p.add_argument("pred", nargs="?", help="SR image or folder (paired by relative path + stem)")
    p.add_argument("--pairs", help="a CSV with reference,distorted columns instead of REF PRED")
    p.add_argument("--out", required=True, help="pair CSV to write")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--captions", help="captions CSV with columns image,caption")
    how.add_argument("--vlm", metavar="MODEL", help="local VLM (Hub id or folder) that captions")
    how.add_argument("--captioner", metavar="MODULE:ATTR", help="plug-in captioner (or factory)")
    p.add_argument("--vlm-prompt", default="", help="prompt given to --vlm with each image ('')")
    p.add_argument("--scores", default="c2c,c2i", help="scores to compute (c2c,c2i)")
    p.add_argument("--label", default="c2c", choices=("c2c", "c2i"), help="label source (c2c)")
    p.add_argument("--clip-model", default="ViT-B-32", help="open_clip model for C2I (ViT-B-32)")
    p.add_argument("--clip-pretrained", default="openai", help="its pretrained tag (openai)")
    p.add_argument("--clip-weights", help="a local open_clip state dict, or 'random' (tests)")
    p.add_argument("--clip-view", default="centre", choices=CLIP_VIEWS, help="SR image view")
    p.add_argument("--pred-suffix", default="", help="comma-separated SR stem suffixes (_x4)")
    p.add_argument("--ref-suffix", default="", help="comma-separated GT stem suffixes")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per batch (32)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA when available)")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue an existing --out")
    again.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return p


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _pairs(args: argparse.Namespace) -> list[tuple]:
    if args.pairs and (args.ref or args.pred):
        raise UsageError("give REF PRED or --pairs, not both")
    if args.pairs:
        try:
            return pairs_from_csv(args.pairs)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if not (args.ref and args.pred):
        raise UsageError("expected REF and PRED (files or folders), or --pairs CSV")
    try:
        found = discover_pairs(
            args.ref, args.pred, _split(args.pred_suffix), _split(args.ref_suffix)
        )
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    for reason, key, detail in found.problems:
        logging.getLogger(__name__).warning("%s: %s (%s)", reason, key, detail)
    if not found.pairs:
        raise UsageError(f"no pairs found between {args.ref!r} and {args.pred!r}")
    return [(pair.ref, pair.pred) for pair in found.pairs]


def _captioner(args: argparse.Namespace) -> Captioner:
    if args.captions:
        try:
            return CaptionsFile(args.captions)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"--captions: {exc}") from None
    if args.vlm:
        return HFCaptioner(args.vlm, prompt=args.vlm_prompt, device=args.device)
    module, _, attr = args.captioner.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"--captioner: cannot load {args.captioner!r} ({exc})") from None
    if not isinstance(obj, Captioner) and callable(obj):
        obj = obj()  # a factory or class
    if not isinstance(obj, Captioner):
        raise UsageError(
            f"--captioner: {args.captioner!r} is not a captioner (an object with "
            f"caption(paths) -> list[str], or a factory returning one)"
        )
    return obj


def _scorers(args: argparse.Namespace) -> dict:
    names = _split(args.scores)
    unknown = sorted(set(names) - {"c2c", "c2i"})
    if unknown or not names:
        raise UsageError(f"--scores: expected names among c2c,c2i, got {args.scores!r}")
    if args.label not in names:
        raise UsageError(f"--label {args.label}: not among --scores {args.scores}")
    out = {}
    if "c2c" in names:
        out["c2c"] = C2C(device=args.device)
    if "c2i" in names:
        out["c2i"] = C2I(
            args.clip_model,
            args.clip_pretrained,
            args.clip_weights,
            view=args.clip_view,
            device=args.device,
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if isinstance(args.batch_size, int) and args.batch_size < 1:
        sys.stderr.write("semfid-pseudo-label: error: --batch-size must be at least 1\n")
        return 2
    try:
        pairs = _pairs(args)
        captioner = _captioner(args)
        scorers = _scorers(args)
        result = pseudo_label(
            pairs,
            args.out,
            captioner,
            scorers,
            label=args.label,
            batch_size=args.batch_size,
            resume=args.resume,
            overwrite=args.overwrite,
        )
    except (WeightsError, ImportError) as exc:
        sys.stderr.write(f"semfid-pseudo-label: error: {exc}\n")
        return 1
    except (UsageError, FileExistsError, ValueError) as exc:
        message = str(exc)
        if isinstance(exc, FileExistsError):
            message = f"--out {args.out!r} exists; add --resume or --overwrite"
        sys.stderr.write(f"semfid-pseudo-label: error: {message}\n")
        return 2
    sys.stdout.write(
        f"{result.out}: {result.written} pairs written, {result.kept} kept from before, "
        f"{len(result.errors)} failed\n"
    )
    if result.errors:
        sys.stderr.write(f"failed pairs: {result.errors_file}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
