"""``semfid-score``: score every (prediction, reference) pair of two folders with chosen metrics.

    semfid-score REF PRED --metrics psnr,ssim --out scores.csv [--resume] [--workers 4] ...
    torchrun --nproc_per_node=4 -m semfidelity.cli.score REF PRED --metrics tws --out s.jsonl

Exit codes: 0 every pair scored; 1 some pairs or files failed (each listed in the summary, every
other row still written); 2 usage error (bad arguments, unknown metric, unusable output path);
3 a write failed during the run (disk full); 130 interrupted (Ctrl-C; --resume continues);
141 stdout closed by its reader (``| head``), ended quietly.
Full documentation: docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from semfidelity._docs import docs_url
from semfidelity.cli._options import parse_metric_options
from semfidelity.registry import get_spec
from semfidelity.scoring import ScoreConfig, UsageError, run_scoring
from semfidelity.scoring.card import card_path, table_lines
from semfidelity.scoring.heatmap import COLORMAPS
from semfidelity.scoring.protocols import MISSING_REASON, PROTOCOLS, protocol_metrics
from semfidelity.scoring.setlevel import SET_METRICS
from semfidelity.scoring.summary import metric_table

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semfidelity.cli.score")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_IO = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141  # 128 + SIGINT, 128 + SIGPIPE (as a shell reports them)


def _out(text: str = "", stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def _err(text: str) -> None:
    try:
        _out(text, sys.stderr)
    except OSError:  # stderr closed too: nothing left to tell
        pass


def _silence_stdout() -> None:
    """Point the process's stdout at devnull, so the exit-time flush of a stdout that failed
    (closed pipe, full device) raises nothing (the recipe of Python's ``signal`` docs)."""
    if sys.stdout is None or sys.stdout is not sys.__stdout__:
        return  # redirected in-process (tests, callers): not ours to touch
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-score",
        description="Score SR predictions against references; folders are paired by relative "
        "folder and file stem. Rows go to --out (CSV or JSONL), a summary to stdout.",
    )
    p.add_argument(
        "ref",
        nargs="?",
        help="reference (ground-truth) image or folder; omit it (give PRED alone) when every "
        "metric is no-reference (niqe, clipiqa)",
    )
    p.add_argument("pred", nargs="?", help="prediction (SR) image or folder")
    p.add_argument(
        "--metrics",
        help="comma-separated metric names, e.g. psnr,ssim,fid (see --list; fid is one value "
        "over the whole run, in the summary and the card)",
    )
    p.add_argument("--out", help="output file: .csv, .jsonl or .ndjson (default: CSV on stdout)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if available)")
    p.add_argument("--batch-size", type=int, default=8, help="pairs per batch (default 8)")
    p.add_argument(
        "--max-batch-pixels",
        type=int,
        default=8_000_000,
        help="cap on H*W*batch per batch, so large images go one at a time (default 8e6)",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=50_000_000,
        help="images with more pixels (W*H) become 'too_large' error rows (default 5e7)",
    )
    p.add_argument("--workers", type=int, default=0, help="DataLoader decoding processes")
    p.add_argument("--resume", action="store_true", help="continue --out, skipping rows present")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument(
        "--resize-pred-to-ref",
        action="store_true",
        help="resize predictions to the reference size (else a size mismatch is an error row)",
    )
    p.add_argument(
        "--pred-suffix",
        default="",
        help="comma-separated stem suffixes of PRED files to ignore when pairing, e.g. _x4,_SR",
    )
    p.add_argument(
        "--ref-suffix",
        default="",
        help="comma-separated stem suffixes of REF files to ignore when pairing, e.g. _HR",
    )
    p.add_argument("--amp", action="store_true", help="autocast for metrics declared amp-safe")
    p.add_argument("--maps", metavar="DIR", help="save heatmap PNGs of metrics with maps here")
    p.add_argument("--cmap", default="viridis", choices=sorted(COLORMAPS), help="heatmap colours")
    p.add_argument("--components", action="store_true", help="add composite metrics' components")
    p.add_argument("--report", metavar="HTML", help="also write an HTML report of the run")
    p.add_argument(
        "--report-worst", type=int, default=8, help="worst pairs per metric in --report (8)"
    )
    p.add_argument(
        "--tws-mix",
        "--tws-weights",
        dest="tws_mix",
        help="TWS mix w_sem,w_edge,w_wav (normalised to sum 1; --tws-weights: deprecated name)",
    )
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="METRIC.NAME=VALUE",
        help="metric option, e.g. ssim.y_channel=true (repeatable; VALUE parsed as JSON if it can)",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (registers extra metrics; repeatable)",
    )
    p.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        help="a named evaluation protocol: its metrics and options; --metrics adds metrics, "
        f"--opt overrides options ({docs_url('protocols.md')})",
    )
    p.add_argument(
        "--scale", type=int, default=4, help="SR scale factor for --protocol (crop_border)"
    )
    p.add_argument(
        "--allow-missing-metrics",
        action="store_true",
        help="run a --protocol whose table has metrics semfidelity lacks (musiq, maniqa) with "
        "the available ones; the card records the omission",
    )
    p.add_argument(
        "--table",
        choices=("md", "latex"),
        help="after the run, print the per-metric means as a Markdown or LaTeX table row "
        "(read from the evaluation card; needs --out)",
    )
    p.add_argument("--list", action="store_true", help="print the metric table and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    return p


def _check_numbers(args: argparse.Namespace) -> None:
    for name in ("batch_size", "max_batch_pixels", "max_pixels"):
        if getattr(args, name) < 1:
            raise UsageError(
                f"--{name.replace('_', '-')}: expected >= 1, got {getattr(args, name)}"
            )
    if args.workers < 0:
        raise UsageError(f"--workers: expected >= 0, got {args.workers}")


def _tws_mix(raw: str) -> tuple[float, float, float]:
    """Parsed ``--tws-mix`` (the ``mix`` option of ``tws``)."""
    from semfidelity.metrics.tws import parse_tws_mix  # registered with the tws metric

    try:
        return parse_tws_mix(raw)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--tws-mix: {exc}") from None


def _metric_options(args: argparse.Namespace) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """``--metrics`` names and their options (``--opt``, ``--tws-mix``)."""
    names = [n.strip().lower() for n in (args.metrics or "").split(",") if n.strip()]
    preset: dict[str, dict[str, Any]] = {}
    if args.protocol:
        try:
            proto, preset, _ = protocol_metrics(args.protocol, args.scale)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        missing = PROTOCOLS[args.protocol].missing
        if missing and not args.allow_missing_metrics:
            raise UsageError(
                f"--protocol {args.protocol}: its table also has {', '.join(missing)}, which "
                f"semfidelity does not implement ({MISSING_REASON}). Pass "
                "--allow-missing-metrics to compute the other columns (the card lists the "
                "omission and no combined score is computed from a partial set), and compute "
                f"{', '.join(missing)} with another tool"
            )
        names = list(proto) + [n for n in names if n not in proto]
    if not names:
        raise UsageError("--metrics: give at least one metric name (see --list)")
    if len(set(names)) != len(names):
        raise UsageError(f"--metrics: a metric is named twice in {args.metrics!r}")
    try:
        for n in names:
            if n not in SET_METRICS:  # fid: set-level, not in the per-row registry
                get_spec(n)
    except ValueError as exc:
        raise UsageError(f"--metrics: {exc}") from None
    try:
        opts = parse_metric_options(args.opt, names, flag="--opt")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for name, values in preset.items():  # --opt overrides the protocol
        opts[name] = {**values, **opts.get(name, {})}
    if args.tws_mix is not None:
        if "tws" not in names:
            raise UsageError("--tws-mix needs 'tws' in --metrics")
        if "weights" in opts["tws"] or "mix" in opts["tws"]:
            raise UsageError("--tws-mix: the mix is also given by --opt; give it once")
        opts["tws"]["mix"] = _tws_mix(args.tws_mix)
    return names, opts


def _config(args: argparse.Namespace) -> ScoreConfig:
    _check_numbers(args)
    if not args.ref:
        raise UsageError("REF and PRED are required (PRED alone for no-reference metrics)")
    names, opts = _metric_options(args)
    ref, pred = (args.ref, args.pred) if args.pred else (None, args.ref)
    return ScoreConfig(
        ref=ref,
        pred=pred,
        metrics=names,
        options=opts,
        out=args.out,
        device=args.device,
        batch_size=args.batch_size,
        max_batch_pixels=args.max_batch_pixels,
        max_pixels=args.max_pixels,
        workers=args.workers,
        resume=args.resume,
        overwrite=args.overwrite,
        resize_pred_to_ref=args.resize_pred_to_ref,
        pred_suffixes=[s for s in args.pred_suffix.split(",") if s],
        ref_suffixes=[s for s in args.ref_suffix.split(",") if s],
        amp=args.amp,
        maps=args.maps,
        cmap=args.cmap,
        components=args.components,
        protocol=args.protocol,
        report=args.report,
        report_worst=args.report_worst,
    )


def _setup_logging(args: argparse.Namespace) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("semfid-score: %(levelname)s: %(message)s"))
    level = (
        logging.ERROR
        if args.quiet
        else (
            logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING
        )
    )
    handler.setLevel(level)
    pkg = logging.getLogger("semfidelity")
    handler.previous_level = pkg.level  # type: ignore[attr-defined]
    pkg.addHandler(handler)
    pkg.setLevel(level)
    return handler


def _run(args: argparse.Namespace) -> int:
    for module in args.plugin:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UsageError(f"--plugin: cannot import {module!r}: {exc}") from None
    if args.list:
        for line in metric_table():
            _out(line)
        return EXIT_OK
    config = _config(args)
    if args.table and not config.out:
        raise UsageError("--table needs --out (it reads the evaluation card written beside it)")
    failed = run_scoring(config)
    if args.table:
        card = json.loads(card_path(config.out).read_text(encoding="utf-8"))
        for line in table_lines(card, args.table, Path(config.pred).name):
            _out(line)
    return EXIT_FAILED if failed else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``semfid-score`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    handler = _setup_logging(args)
    try:
        return _run(args)
    except UsageError as exc:
        _out(f"semfid-score: error: {exc}", sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        kept = f"; rows written to {args.out!r} are kept: rerun with --resume" if args.out else ""
        _err(f"semfid-score: interrupted{kept}")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout closed by its reader (| head): end quietly
        _silence_stdout()
        return EXIT_PIPE
    except OSError as exc:  # a write failed during the run: disk full, /dev/full, ...
        _silence_stdout()
        kept = f"; rows written to {args.out!r} are kept: rerun with --resume" if args.out else ""
        _err(f"semfid-score: error: I/O error during the run: {exc}{kept}")
        return EXIT_IO
    finally:
        pkg = logging.getLogger("semfidelity")
        pkg.removeHandler(handler)
        pkg.setLevel(handler.previous_level)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
