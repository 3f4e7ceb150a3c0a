"""``semfid-report SCORES [--out report.html]``: the HTML report of an existing scoring run.

    semfid-report scores.csv --maps maps/ --out report.html

Reads a ``semfid-score`` output (CSV or JSONL) and writes one self-contained HTML file (see
:mod:`semfidelity.scoring.report` and docs/report.md). Exit codes: 0 written, 2 usage error
(missing or foreign score file, bad option).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from semfidelity.scoring.report import build_report
from semfidelity.scoring.scorefile import OutputError, file_format, read_rows

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-report",
        description="Write a self-contained HTML report (summary, sortable table, worst pairs "
        "per metric with heatmaps, histograms, errors) of a semfid-score output.",
    )
    p.add_argument("scores", help="score file written by semfid-score (.csv, .jsonl, .ndjson)")
    p.add_argument("--out", help="HTML file to write (default: SCORES with .html)")
    p.add_argument("--maps", metavar="DIR", help="the run's --maps folder (metric heatmaps)")
    p.add_argument("--worst", type=int, default=8, help="gallery pairs per metric (default 8)")
    p.add_argument(
        "--image-side", type=int, default=384, help="longest side of embedded pictures (384)"
    )
    p.add_argument("--title", help="page title (default: the output file name)")
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (registers extra metrics, for their orientation; repeatable)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``semfid-report`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(level=logging.WARNING, format="semfid-report: %(levelname)s: %(message)s")
    try:
        for module in args.plugin:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise ValueError(f"--plugin: cannot import {module!r}: {exc}") from None
        scores = Path(args.scores)
        if not scores.is_file():
            raise ValueError(f"SCORES: file not found: {str(scores)!r}")
        if args.maps and not Path(args.maps).is_dir():
            raise ValueError(f"--maps: not a folder: {args.maps!r}")
        columns, rows = read_rows(scores, file_format(scores))
        if columns is None:
            raise ValueError(f"SCORES: {str(scores)!r} is empty")
        out = Path(args.out) if args.out else scores.with_suffix(".html")
        meta = {"score file": str(scores.resolve()), "maps": args.maps or "not given"}
        path = build_report(
            rows,
            columns,
            out,
            meta=meta,
            maps_dir=args.maps,
            worst_n=args.worst,
            image_side=args.image_side,
            title=args.title,
        )
    except (OutputError, ValueError) as exc:
        sys.stderr.write(f"semfid-report: error: {exc}\n")
        return 2
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
