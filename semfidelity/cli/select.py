"""``semfid-select``: rank a folder of SR samples of one input, fuse the best, map disagreement.

    semfid-select SAMPLES_DIR --out OUT_DIR [--reference GT] [--lr LR --scale 4]
                  [--judge none|openai|hf] [--reference-role select|validate] [--k 5]

Made for samples of one model for one input (e.g. diffusion samples); candidates that look
like outputs of different methods get a warning that the no-ground-truth ranking is then only
a heuristic. Ties are marked (``=`` in the printout, a ``tie`` column in the CSV).

Writes ``OUT_DIR/ranking.csv`` (every scorer's score and rank per sample), ``ensemble.png``
(the top-k fusion), ``uncertainty.png`` (per-pixel std over all samples, colour heatmap) and
prints a summary. Exit codes: 0 done; 1 failure while running (judge endpoint, unreadable
file); 2 usage error (bad arguments, mismatched sizes). Documentation: docs/selection.md.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from semfidelity.io import IMAGE_EXTENSIONS, load_image, to_pil
from semfidelity.scoring.heatmap import COLORMAPS, save_heatmap
from semfidelity.selection import ensemble, rank
from semfidelity.selection.ensemble import UNCERTAINTY_OVER
from semfidelity.selection.judges import JudgeError
from semfidelity.selection.rank import REFERENCE_ROLES, resolve_reference_role, resolve_scorers
from semfidelity.selection.scorers import ScoringContext, TWSScorer

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semfidelity.cli.select")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or inputs detected before ranking (exit code 2)."""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-select",
        description="Rank SR samples of ONE model for ONE input (e.g. diffusion samples), fuse "
        "the top k and map where the samples disagree. Without --reference: with --lr/--scale, "
        "samples faithful to the LR input (within a tolerance of the most LR-consistent) are "
        "ordered by realistic fine detail, the others follow; without --lr, by consensus. "
        "Outputs of different SR methods are not what this is for: when the samples look like "
        "that (very different noise or sharpness) a warning says the ranking is a heuristic. "
        "Tied samples are marked '=' and in the 'tie' column of ranking.csv.",
    )
    p.add_argument("samples", help="folder of candidate SR images of one input (same size)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--reference", help="ground-truth image: ranks by TWS (the paper's check)")
    p.add_argument(
        "--reference-role",
        choices=REFERENCE_ROLES,
        default=None,
        help="with --reference: 'select' ranks by TWS, 'validate' only reports TWS (column "
        "tws_validation) next to the ranking of the other scorers. Default: validate with "
        "--judge (the TWS paper: the judge selects, TWS validates), else select",
    )
    p.add_argument("--lr", help="the low-resolution input image (enables lr_consistency)")
    p.add_argument("--scale", type=int, help="SR factor, required with --lr")
    p.add_argument(
        "--judge",
        choices=("none", "openai", "hf"),
        default="none",
        help="VLM judge: openai = OpenAI-compatible endpoint ($OPENAI_BASE_URL, "
        "$OPENAI_API_KEY); hf = local transformers model (extra 'vlm')",
    )
    p.add_argument("--judge-model", help="judge model (default gpt-4o / Salesforce/blip2-opt-2.7b)")
    p.add_argument(
        "--scorers",
        default="auto",
        help="comma-separated: auto, tws, faithful_realism, lr_consistency, consensus, vlm "
        "(default auto)",
    )
    p.add_argument(
        "--tws-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the tws metric, e.g. clip_model=ViT-L-14 (repeatable)",
    )
    p.add_argument("--k", type=int, default=5, help="samples fused into ensemble.png (default 5)")
    p.add_argument("--reducer", choices=("mean", "median"), default="mean")
    p.add_argument(
        "--uncertainty-over",
        choices=UNCERTAINTY_OVER,
        default="all",
        help="uncertainty.png: std over all samples (default; what the LR input leaves open) "
        "or over the k fused ones (what the fusion averages away)",
    )
    p.add_argument(
        "--cmap", choices=sorted(COLORMAPS), default="viridis", help="colours of uncertainty.png"
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if available)")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return p


def _load_samples(folder: Path) -> tuple[torch.Tensor, list[str]]:
    if not folder.is_dir():
        raise UsageError(f"SAMPLES_DIR: not a folder: {str(folder)!r}")
    files = sorted(
        f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
    )
    if len(files) < 2:
        raise UsageError(
            f"SAMPLES_DIR: need at least 2 images to rank, found {len(files)} in {str(folder)!r}"
        )
    images = [load_image(f) for f in files]
    sizes = {tuple(im.shape[-2:]) for im in images}
    if len(sizes) != 1:
        listed = ", ".join(
            f"{f.name} {im.shape[-1]}x{im.shape[-2]}" for f, im in zip(files, images)
        )
        raise UsageError(f"SAMPLES_DIR: all samples must have one size (WxH), got {listed}")
    return torch.cat(images), [f.name for f in files]


def _option_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _tws_options(items: Sequence[str]) -> dict[str, Any]:
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tws-option: expected KEY=VALUE, got {item!r}")
        options[key.strip()] = _option_value(value.strip())
    return options


def _make_judge(args: argparse.Namespace) -> Any:
    if args.judge == "openai":
        from semfidelity.selection.judges import OpenAIJudge

        return OpenAIJudge(args.judge_model or "gpt-4o")
    if args.judge == "hf":
        from semfidelity.selection.judges.hf import DEFAULT_MODEL, HFJudge

        return HFJudge(args.judge_model or DEFAULT_MODEL, device=args.device)
    if args.judge_model:
        raise UsageError("--judge-model: given without --judge openai|hf")
    return None


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def _run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise UsageError(f"--k: expected a positive number of samples, got {args.k}")
    device = torch.device(args.device) if args.device else None
    samples, names = _load_samples(Path(args.samples))
    if device is not None:
        samples = samples.to(device)
    reference = load_image(args.reference) if args.reference else None
    lr = load_image(args.lr) if args.lr else None
    judge = _make_judge(args)
    if args.reference_role and reference is None:
        raise UsageError("--reference-role: given without --reference")
    role = resolve_reference_role(
        args.reference_role, has_reference=reference is not None, has_judge=judge is not None
    )
    scorers = resolve_scorers(
        [s for s in args.scorers.split(",") if s.strip()],
        has_reference=reference is not None,
        has_lr=lr is not None,
        has_judge=judge is not None,
        reference_role=role,
    )
    options = _tws_options(args.tws_option)
    validates = reference is not None and role == "validate"
    if options:
        if not validates and not any(isinstance(s, TWSScorer) for s in scorers):
            raise UsageError(
                "--tws-option: given but the tws scorer is not used (needs --reference)"
            )
        scorers = [TWSScorer(**options) if isinstance(s, TWSScorer) else s for s in scorers]
    tws_check = TWSScorer(**options) if validates else None
    ranking = rank(
        samples, reference=reference, lr=lr, scale=args.scale, scorers=scorers, judge=judge,
        names=names, reference_role=role, validator=tws_check,
    )  # fmt: skip
    k = min(args.k, len(names))
    image, uncertainty = ensemble(
        samples, ranking, k=k, reducer=args.reducer, uncertainty_over=args.uncertainty_over
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = ranking.to_rows()
    _write_csv(rows, out / "ranking.csv")
    to_pil(image).save(out / "ensemble.png")
    save_heatmap(uncertainty, out / "uncertainty.png", cmap=args.cmap)

    _out(f"ranked {len(names)} samples with {', '.join(ranking.scores)} (lower combined = better)")
    width = max(len(n) for n in names)
    header = f"{'#':>3}  {'sample':<{width}}  {'combined':>8}  " + "  ".join(
        f"{s:>14}" for s in ranking.scores
    )
    _out(header)
    for row in rows:
        cells = "  ".join(f"{row[f'{s}_score']:>14.4f}" for s in ranking.scores)
        pos = f"{row['tie']}=" if row["tie"] else str(row["position"])
        _out(f"{pos:>3}  {row['name']:<{width}}  {row['combined_rank']:>8.2f}  {cells}")
    for group in ranking.ties:
        _out(f"tie: {', '.join(names[i] for i in group)} (same combined rank; listed by tie-break)")
    for warning in ranking.warnings:
        if not warning.startswith("tie: "):
            _out(f"warning: {warning}")
    _out(f"best: {names[ranking.best]}" + (" (tied)" if row_tied(rows[0]) else ""))
    _out(f"ensemble ({args.reducer} of top {k}): {', '.join(names[i] for i in ranking.top(k))}")
    _out(
        f"uncertainty: mean std {float(uncertainty.mean()):.4f}, max {float(uncertainty.max()):.4f}"
    )
    tws = tws_check or next((s for s in scorers if isinstance(s, TWSScorer)), None)
    if tws is not None and reference is not None:
        fused = tws(image[None], ScoringContext(reference=reference.to(image.device))).score
        best_single = (ranking.validation or ranking.scores)["tws"][ranking.best]
        role_note = " (validation only)" if validates else ""
        _out(
            f"tws vs reference{role_note}: ensemble {float(fused[0]):.4f}, best sample "
            f"{best_single:.4f}"
        )
    _out(f"wrote {out / 'ranking.csv'}, {out / 'ensemble.png'}, {out / 'uncertainty.png'}")
    return EXIT_OK


def row_tied(row: dict[str, Any]) -> bool:
    return bool(row.get("tie"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``semfid-select``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        return _run(args)
    except (UsageError, ValueError, TypeError, FileNotFoundError) as exc:
        sys.stderr.write(f"semfid-select: error: {exc}\n")
        return EXIT_USAGE
    except (JudgeError, OSError, ImportError) as exc:
        sys.stderr.write(f"semfid-select: failed: {exc}\n")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
