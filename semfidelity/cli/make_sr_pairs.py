"""``semfid-make-sr-pairs HR_DIR OUT_DIR --method SPEC ...``: BSRGAN LQ -> SR -> window filter.

See :func:`semfidelity.training.sr_pairs.make_sr_pairs` and docs/training.md. Exit codes: 0 every
item succeeded, 1 some items failed (listed in manifest.csv, the others are written), 2 usage
error before anything ran, 130 interrupted (finished images stay in manifest.csv; rerun resumes).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from semfidelity.cli._options import parse_metric_options
from semfidelity.training.sr_pairs import LEVELS, make_sr_pairs

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-make-sr-pairs",
        description="Degrade HR images with BSRGAN's model at several intensities, super-resolve "
        "them with one or more methods, and keep the HR/SR pairs whose SSIM (or LPIPS) lies in "
        "a window; writes OUT_DIR/manifest.csv and OUT_DIR/kept.csv.",
    )
    p.add_argument("hr_dir", help="folder of HR images (png, jpg, ...)")
    p.add_argument("out_dir", help="output folder (created; an earlier run there is resumed)")
    p.add_argument(
        "--method",
        "-m",
        action="append",
        required=True,
        metavar="SPEC",
        help="[NAME=]bicubic | [NAME=]module:function | [NAME=]'command {in} {out}' "
        "(repeatable; {scale} is also replaced)",
    )
    p.add_argument("--scale", type=int, default=4, help="SR factor (4)")
    p.add_argument(
        "--levels", type=float, nargs="+", default=list(LEVELS), help="intensities (0.3 0.7 1.0)"
    )
    p.add_argument("--seed", type=int, default=0, help="base seed (0)")
    p.add_argument(
        "--filter",
        default="ssim",
        choices=["ssim", "lpips", "none"],
        help="measure the window applies to (ssim)",
    )
    p.add_argument(
        "--window", type=float, nargs=2, default=[0.6, 0.8], metavar=("LOW", "HIGH"),
        help="keep pairs with LOW <= measure <= HIGH (0.6 0.8)",
    )  # fmt: skip
    p.add_argument("--measures", default="ssim,lpips", help="scores stored per pair (ssim,lpips)")
    p.add_argument(
        "-o",
        "--opt",
        action="append",
        default=[],
        metavar="METRIC.NAME=VALUE",
        help="metric option, e.g. lpips.net=vgg (repeatable)",
    )
    p.add_argument("--device", default=None, help="device of the measures (default: auto)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per command (none)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    try:
        opts = parse_metric_options(args.opt, measures, flag="--opt")
        result = make_sr_pairs(
            args.hr_dir,
            args.out_dir,
            args.method,
            scale=args.scale,
            levels=args.levels,
            seed=args.seed,
            filter_on=args.filter,
            window=tuple(args.window),
            measures=measures,
            metric_options=opts,
            device=args.device,
            timeout=args.timeout,
        )
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError) as exc:
        sys.stderr.write(f"semfid-make-sr-pairs: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("semfid-make-sr-pairs: interrupted; rerun the command to resume\n")
        return 130
    sys.stdout.write(
        f"{result.manifest}: {result.rows} pairs, {result.kept} kept ({result.kept_csv}), "
        f"{result.failed} failed, {result.reused} reused from an earlier run\n"
    )
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
