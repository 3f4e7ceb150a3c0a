"""``semfid-eval --metrics a,b --pairs CSV``: agreement of metrics with human/synthetic labels.

Prints a Markdown table of SRCC, PLCC, KRCC, MSE and MSE-bin per metric (``--table thesis``:
MSE, MSE-bin and signed SRCC; orientation handled: see :mod:`semfidelity.training.evaluate`)
and optionally writes JSON. Exit codes: 0 success,
1 failure (missing files, bad CSV), 2 usage error (bad arguments, unknown metric).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from semfidelity.cli._options import parse_metric_options
from semfidelity.registry import get_spec
from semfidelity.training.evaluate import TABLE_STYLES, evaluate_metrics, format_table
from semfidelity.training.stats import FITS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-eval",
        description="Correlate registered metrics with the labels of a pair CSV "
        "(reference,distorted,semantic_error[,mask]; 1 = semantic error).",
    )
    p.add_argument("--metrics", required=True, help="comma-separated metric names, e.g. psnr,ssim")
    p.add_argument("--pairs", required=True, help="pair CSV")
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    p.add_argument(
        "--option",
        "--opt",
        "-o",
        action="append",
        default=[],
        metavar="METRIC.KEY=VALUE",
        help="metric option, e.g. -o clip_lpips.heads=runs/heads (VALUE parsed as JSON when "
        "possible); repeatable",
    )
    p.add_argument(
        "--raw-mse",
        default="",
        metavar="A,B",
        help="metrics whose MSE uses raw scores (lower-better, trained on these labels, e.g. "
        "clip_lpips with trained heads) instead of normalised ones",
    )
    p.add_argument(
        "--plcc-fit",
        choices=FITS,
        default="none",
        help="fit a VQEG logistic (4 or 5 parameters) to the labels before PLCC (none)",
    )
    p.add_argument(
        "--table",
        choices=tuple(TABLE_STYLES),
        default="default",
        help="'default': SRCC PLCC KRCC MSE MSE-bin (oriented); 'thesis': MSE, MSE-bin and the "
        "signed SRCC of the raw scores, as the semantic-fidelity thesis prints them",
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu)")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="bring pairs to SIZE x SIZE as --fit says (default: native size, as the metrics run)",
    )
    p.add_argument(
        "--fit",
        choices=("mask", "resize", "centre"),
        default="mask",
        help="with --size: 'mask' (window holding the change mask, as semfid-train), 'resize' "
        "(whole image to a square) or 'centre' (centre crop)",
    )
    p.add_argument("--batch-size", type=int, default=1, help="batch size (1)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers (0)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def _parse_options(items: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    try:
        return parse_metric_options(items, flag="--option")
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    if not names:
        parser.error("--metrics: give at least one metric name")
    try:
        names = [get_spec(n).name for n in names]
    except ValueError as exc:
        parser.error(f"--metrics: {exc}")
    options = _parse_options(args.option, parser)
    try:
        results = evaluate_metrics(
            names,
            args.pairs,
            device=args.device,
            size=args.size,
            fit=args.fit,
            batch_size=args.batch_size,
            num_workers=args.workers,
            options=options,
            raw=tuple(get_spec(n).name for n in args.raw_mse.split(",") if n.strip()),
            plcc_fit=args.plcc_fit,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError, TypeError) as exc:
        sys.stderr.write(f"semfid-eval: error: {exc}\n")
        return 1
    sys.stdout.write(format_table(results, args.table) + "\n")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump({"pairs": str(args.pairs), "metrics": results}, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
