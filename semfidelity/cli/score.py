"""``semfid-score``: score every (prediction, reference) pair of two folders with chosen metrics.

    semfid-score REF PRED --metrics psnr,ssim --out scores.csv [--resume] [--workers 4] ...
    torchrun --nproc_per_node=4 -m semfidelity.cli.score REF PRED --metrics tws --out s.jsonl

Exit codes: 0 every pair scored; 1 some pairs or files failed (each listed in the summary, every
other row still written); 2 usage error (bad arguments, unknown metric, unusable output file).
Full documentation: docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch

import semfidelity
from semfidelity.cli._options import parse_metric_options
from semfidelity.data import PairDataset, SizeBatcher, make_loader, to_float
from semfidelity.distributed import DistContext, init_from_env
from semfidelity.heatmap import COLORMAPS, save_heatmap
from semfidelity.metric import Metric, resolve_device
from semfidelity.pairs import Pair, PairingResult, discover_pairs
from semfidelity.registry import MetricSpec, get_spec
from semfidelity.scorefile import (
    OutputError,
    append_rows,
    file_format,
    header_line,
    read_rows,
    write_sorted,
)

__all__ = ["main", "build_parser"]

logger = logging.getLogger("semfidelity.cli.score")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
BASE_COLUMNS = ("key", "ref", "pred", "height", "width")


class UsageError(Exception):
    """Bad arguments or environment detected before scoring starts (exit code 2)."""


def _out(text: str = "", stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


# --------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semfid-score",
        description="Score SR predictions against references; folders are paired by relative "
        "folder and file stem. Rows go to --out (CSV or JSONL), a summary to stdout.",
    )
    p.add_argument("ref", nargs="?", help="reference (ground-truth) image or folder")
    p.add_argument("pred", nargs="?", help="prediction (SR) image or folder")
    p.add_argument("--metrics", help="comma-separated metric names, e.g. psnr,ssim (see --list)")
    p.add_argument("--out", help="output file: .csv, .jsonl or .ndjson (default: CSV on stdout)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if available)")
    p.add_argument("--batch-size", type=int, default=8, help="pairs per batch (default 8)")
    p.add_argument(
        "--max-batch-pixels",
        type=int,
        default=8_000_000,
        help="cap on H*W*batch per batch, so large images go one at a time (default 8e6)",
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
    p.add_argument("--amp", action="store_true", help="autocast for metrics declared amp-safe")
    p.add_argument("--maps", metavar="DIR", help="save heatmap PNGs of metrics with maps here")
    p.add_argument("--cmap", default="viridis", choices=sorted(COLORMAPS), help="heatmap colours")
    p.add_argument("--components", action="store_true", help="add composite metrics' components")
    p.add_argument("--tws-weights", help="TWS weights w_sem,w_edge,w_wav (normalised to sum 1)")
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
    p.add_argument("--list", action="store_true", help="print the metric table and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    return p


def _parse_opts(items: Sequence[str], metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    try:
        return parse_metric_options(items, metrics, flag="--opt")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _tws_weights(raw: str) -> tuple[float, float, float]:
    """Parsed ``--tws-weights`` (the ``weights`` option of ``tws``)."""
    from semfidelity.metrics.tws import parse_tws_weights  # registered with the tws metric

    try:
        return parse_tws_weights(raw)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--tws-weights: {exc}") from None


# ------------------------------------------------------------------------------- setup
@dataclass
class Job:
    """Everything decided before scoring: metrics, columns, pairs to do, output."""

    args: argparse.Namespace
    device: torch.device
    metrics: dict[str, Metric]
    components: dict[str, list[str]]
    columns: list[str]
    pairing: PairingResult
    fmt: str = "csv"
    todo: list[Pair] = field(default_factory=list)


def _metric_columns(name: str, metric: Metric, components: bool) -> list[str]:
    if not (components and metric.spec.has_components):
        return []
    names = metric.spec.extra.get("components")
    if names is None:  # ask the metric once, on a small random pair
        s = max(metric.spec.min_size, 32)
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(1, 3, s, s, generator=g), torch.rand(1, 3, s, s, generator=g)
        with torch.no_grad():
            names = list(metric.components(x, y))
    return [f"{name}.{c}" for c in names if c != name]


def _build_metrics(args: argparse.Namespace, device: torch.device) -> dict[str, Metric]:
    names = [n.strip().lower() for n in (args.metrics or "").split(",") if n.strip()]
    if not names:
        raise UsageError("--metrics: give at least one metric name (see --list)")
    if len(set(names)) != len(names):
        raise UsageError(f"--metrics: a metric is named twice in {args.metrics!r}")
    try:
        specs = {n: get_spec(n) for n in names}
    except ValueError as exc:
        raise UsageError(f"--metrics: {exc}") from None
    opts = _parse_opts(args.opt, names)
    if args.tws_weights is not None:
        if "tws" not in specs:
            raise UsageError("--tws-weights needs 'tws' in --metrics")
        opts["tws"]["weights"] = _tws_weights(args.tws_weights)
    metrics = {}
    for n in names:
        try:
            metrics[n] = semfidelity.create_metric(n, device=device, **opts[n])
        except (TypeError, ValueError) as exc:
            raise UsageError(f"metric {n!r}: {exc}") from None
        except Exception as exc:  # weights missing offline, out of memory...
            raise UsageError(f"cannot build metric {n!r}: {type(exc).__name__}: {exc}") from None
    if args.maps and not any(m.spec.has_map for m in metrics.values()):
        logger.warning("--maps: none of %s has a spatial map; no heatmaps will be written", names)
    if args.components and not any(m.spec.has_components for m in metrics.values()):
        logger.warning("--components: none of %s has components", names)
    return metrics


def _check_numbers(args: argparse.Namespace) -> None:
    for name in ("batch_size", "max_batch_pixels"):
        if getattr(args, name) < 1:
            raise UsageError(
                f"--{name.replace('_', '-')}: expected >= 1, got {getattr(args, name)}"
            )
    if args.workers < 0:
        raise UsageError(f"--workers: expected >= 0, got {args.workers}")


def _existing_rows(out: Path, fmt: str, columns: list[str]) -> list[dict]:
    """Rows already in ``out`` and in part files of an interrupted multi-process run."""
    rows: list[dict] = []
    for path in [out, *sorted(out.parent.glob(out.name + ".rank*.part"))]:
        try:
            have, part = read_rows(path, fmt)
        except OutputError as exc:
            raise UsageError(f"--resume: {exc}") from None
        if have is not None and list(have) != columns:
            raise UsageError(
                f"--resume: {str(path)!r} has columns {have}, this run writes {columns}; use the "
                f"same --metrics/--components, or another --out"
            )
        rows.extend(part)
    seen: dict[str, dict] = {}
    for r in rows:
        seen.setdefault(str(r["key"]), r)
    return list(seen.values())


def _prepare(args: argparse.Namespace) -> Job:
    _check_numbers(args)
    if not args.ref or not args.pred:
        raise UsageError("REF and PRED are required (or use --list)")
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None
    fmt = "csv"
    if args.out:
        try:
            fmt = file_format(args.out)
        except OutputError as exc:
            raise UsageError(str(exc)) from None
    elif args.resume:
        raise UsageError("--resume needs --out")
    if args.resume and args.overwrite:
        raise UsageError("give --resume or --overwrite, not both")
    try:
        suffixes = [s for s in args.pred_suffix.split(",") if s]
        pairing = discover_pairs(args.ref, args.pred, suffixes)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not pairing.pairs:
        raise UsageError(
            f"no pairs found between {args.ref!r} and {args.pred!r} "
            f"({len(pairing.unmatched_ref)} unmatched references, "
            f"{len(pairing.unmatched_pred)} unmatched predictions)"
        )
    metrics = _build_metrics(args, device)
    columns = list(BASE_COLUMNS)
    comps = {}
    for name, m in metrics.items():
        comps[name] = _metric_columns(name, m, args.components)
        columns += [name, *comps[name]]
    columns.append("error")
    return Job(args, device, metrics, comps, columns, pairing, fmt)


# ----------------------------------------------------------------------------- scoring
def _autocast(job: Job, spec: MetricSpec):
    if job.args.amp and spec.amp_safe:
        return torch.autocast(device_type=job.device.type)
    return nullcontext()


def _run_metric(job: Job, name: str, pred: torch.Tensor, ref: torch.Tensor):
    """Scores (B,), components {col: (B,)} and maps (B,1,H,W) or None for one batch."""
    metric = job.metrics[name]
    with torch.no_grad(), _autocast(job, metric.spec):
        comps: dict[str, torch.Tensor] = {}
        if job.components[name]:
            parts = metric.components(pred, ref)
            comps = {f"{name}.{k}": v.float() for k, v in parts.items() if k != name}
            scores = parts[name].float() if name in parts else metric(pred, ref)
        else:
            scores = metric(pred, ref)
        maps = metric.map(pred, ref) if job.args.maps and metric.spec.has_map else None
    return scores, comps, maps


def _save_maps(job: Job, name: str, keys: list[str], maps: torch.Tensor) -> None:
    lo, hi = job.metrics[name].spec.score_range
    vmin = lo if math.isfinite(lo) else None
    vmax = hi if math.isfinite(hi) else None
    for key, m in zip(keys, maps.float().cpu()):
        save_heatmap(m, Path(job.args.maps) / name / f"{key}.png", job.args.cmap, vmin, vmax)


def _score_metric(
    job: Job, name: str, pred: torch.Tensor, ref: torch.Tensor, keys: list[str], rows: list[dict]
) -> None:
    """Fill ``rows`` with metric ``name`` for one same-size batch; on failure retry per item."""
    spec = job.metrics[name].spec
    h, w = pred.shape[-2:]
    if min(h, w) < spec.min_size:
        for row in rows:
            row["_errors"].append(
                f"too_small: {name} needs at least {spec.min_size}x{spec.min_size} pixels, "
                f"got {h}x{w}"
            )
        return
    groups = [list(range(len(rows)))]
    while groups:
        idx = groups.pop()
        sel = slice(idx[0], idx[-1] + 1)  # groups are contiguous: the batch or one item
        try:
            scores, comps, maps = _run_metric(job, name, pred[sel], ref[sel])
        except Exception as exc:
            if len(idx) > 1:
                groups.extend([i] for i in reversed(idx))
                continue
            logger.debug("metric %s failed on %s", name, keys[idx[0]], exc_info=True)
            rows[idx[0]]["_errors"].append(f"metric_error: {name}: {type(exc).__name__}: {exc}")
            continue
        values = scores.detach().float().cpu().tolist()
        comp_values = {c: v.detach().float().cpu().tolist() for c, v in comps.items()}
        for j, i in enumerate(idx):
            rows[i][name] = values[j]
            if not math.isfinite(values[j]):
                rows[i]["_errors"].append(f"nonfinite: {name} gave {values[j]}")
            for c, vals in comp_values.items():
                rows[i][c] = vals[j]
        if maps is not None:
            _save_maps(job, name, [keys[i] for i in idx], maps)


def _score_batch(job: Job, batch: list[dict]) -> list[dict]:
    """Rows for one batch: every item failed decoding alone, or all items share one size."""
    rows = []
    for item in batch:
        pair = job.todo[item["index"]]
        row: dict[str, Any] = {"key": pair.key, "ref": str(pair.ref), "pred": str(pair.pred)}
        row.update({c: None for c in job.columns[3:]})
        row["_errors"] = []
        if item["reason"]:
            row["_errors"].append(f"{item['reason']}: {item['error']}")
        else:
            row["height"], row["width"] = (int(s) for s in item["ref"].shape[-2:])
        rows.append(row)
    if not batch[0]["reason"]:
        dev = job.device
        # Items arrive from (pinned) CPU memory: copy asynchronously, convert on the device.
        pred = to_float(torch.stack([it["pred"].to(dev, non_blocking=True) for it in batch]))
        ref = to_float(torch.stack([it["ref"].to(dev, non_blocking=True) for it in batch]))
        keys = [it["key"] for it in batch]
        for it in batch:  # drop the decoded copies before the metrics run (4K: 50 MB a pair)
            it["ref"] = it["pred"] = None
        for name in job.metrics:
            _score_metric(job, name, pred, ref, keys, rows)
    for row in rows:
        row["error"] = " | ".join(row.pop("_errors")) or None
    return rows


def _score_all(job: Job, sink: TextIO, keep: list[dict] | None = None) -> int:
    """Score ``job.todo``, appending rows to ``sink`` per batch (and to ``keep`` if given)."""
    from tqdm.auto import tqdm

    if not job.todo:
        return 0
    dataset = PairDataset(job.todo, resize_pred_to_ref=job.args.resize_pred_to_ref)
    loader = make_loader(dataset, job.args.workers, pin_memory=job.device.type == "cuda")
    batcher = SizeBatcher(job.args.batch_size, job.args.max_batch_pixels)
    written = 0
    with tqdm(total=len(job.todo), file=sys.stderr, unit="pair", disable=None) as bar:

        def emit(batch: list[dict]) -> None:
            nonlocal written
            rows = _score_batch(job, batch)
            append_rows(sink, rows, job.columns, job.fmt)
            written += len(rows)
            if keep is not None:
                keep.extend(rows)
            bar.update(len(rows))

        for item in loader:
            for batch in batcher.add(item):
                emit(batch)
        for batch in batcher.flush():
            emit(batch)
    return written


# ----------------------------------------------------------------------------- summary
def _reason(error: str) -> str:
    return error.split(":", 1)[0].strip()


def _summary(job: Job, rows: list[dict], stream: TextIO) -> int:
    """Print the summary; returns the number of failed items (rows with errors + pairing)."""
    failed = [r for r in rows if r.get("error")]
    problems = job.pairing.problems
    _out(
        f"semfid-score: {len(rows)} pairs, {len(rows) - len(failed)} scored without error, "
        f"{len(failed)} with errors, {len(problems)} files unpaired",
        stream,
    )
    stat_cols = [c for c in job.columns if c not in BASE_COLUMNS and c != "error"]
    width = max(len("metric"), *(len(c) for c in stat_cols))
    _out(f"{'metric'.ljust(width)}  {'mean':>12}  {'std':>12}  {'count':>7}", stream)
    for col in stat_cols:
        vals = []
        for r in rows:
            v = r.get(col)
            if v not in (None, ""):
                vals.append(float(v))
        t = torch.tensor(vals, dtype=torch.float64)
        mean = f"{t.mean().item():.6g}" if vals else "-"
        std = f"{t.std(unbiased=False).item():.6g}" if vals else "-"
        _out(f"{col.ljust(width)}  {mean:>12}  {std:>12}  {len(vals):>7}", stream)
    by_reason: dict[str, list[str]] = {}
    for r in failed:
        for part in str(r["error"]).split(" | "):
            by_reason.setdefault(_reason(part), []).append(f"{r['key']}: {part}")
    for reason, key, detail in problems:
        by_reason.setdefault(reason, []).append(f"{key}: {detail}")
    if by_reason:
        _out("failures by reason:", stream)
        for reason in sorted(by_reason):
            _out(f"  {reason}: {len(by_reason[reason])}", stream)
            for line in by_reason[reason]:
                _out(f"    {line}", stream)
    return len(failed) + len(problems)


# -------------------------------------------------------------------------------- run
def _print_list() -> None:
    cols = ("name", "range", "better", "ref", "diff", "min", "map", "parts", "amp", "weights")
    rows = []
    for name in semfidelity.list_metrics():
        s = get_spec(name)
        lo, hi = s.score_range
        rng = f"[{lo:g}, {'inf' if math.isinf(hi) else f'{hi:g}'}]"
        yes = {True: "yes", False: "no"}
        rows.append(
            (
                name,
                rng,
                "lower" if s.lower_better else "higher",
                yes[s.requires_reference],
                yes[s.differentiable],
                str(s.min_size),
                yes[s.has_map],
                yes[s.has_components],
                yes[s.amp_safe],
                ",".join(s.weights) or "-",
            )
        )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    _out("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        _out("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


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
        _print_list()
        return EXIT_OK
    job = _prepare(args)
    ctx = init_from_env(job.device)
    try:
        if ctx.active and job.device.type == "cuda":
            if job.device.index is None:
                job.device = torch.device("cuda", ctx.local_rank)
                for m in job.metrics.values():
                    m.to(job.device)
            torch.cuda.set_device(job.device)  # nccl collectives use the current device
        return _run_job(job, ctx)
    finally:
        ctx.close()


def _run_job(job: Job, ctx: DistContext) -> int:
    args = job.args
    if not args.out:
        if ctx.active:
            raise UsageError("--out is required when running under torchrun")
        job.todo = job.pairing.pairs
        sys.stdout.write(header_line(job.columns, "csv"))
        rows: list[dict] = []
        _score_all(job, sys.stdout, keep=rows)
        sys.stdout.flush()
        return EXIT_FAILED if _summary(job, rows, sys.stderr) else EXIT_OK
    out = Path(args.out)
    if out.exists() and out.stat().st_size and not (args.resume or args.overwrite):
        raise UsageError(f"--out {str(out)!r} exists; pass --resume to continue it or --overwrite")
    ctx.barrier()
    if args.overwrite and ctx.is_main:
        for p in [out, *out.parent.glob(out.name + ".rank*.part")]:
            p.unlink(missing_ok=True)
    ctx.barrier()
    done: list[dict] = []
    if args.resume:
        # Rank 0 reads (and repairs a cut last line) first; no rank writes before all have read.
        if ctx.is_main:
            done = _existing_rows(out, job.fmt, job.columns)
        ctx.barrier()
        if not ctx.is_main:
            done = _existing_rows(out, job.fmt, job.columns)
    ctx.barrier()
    done_keys = {str(r["key"]) for r in done}
    remaining = [p for p in job.pairing.pairs if p.key not in done_keys]
    job.todo = remaining[ctx.rank :: ctx.world_size]
    if done:
        logger.info("--resume: %d rows present, %d pairs left", len(done), len(remaining))
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out if not ctx.active else out.with_name(f"{out.name}.rank{ctx.rank}.part")
    with open(part, "a", encoding="utf-8", newline="") as sink:
        if sink.tell() == 0:
            sink.write(header_line(job.columns, job.fmt))
            sink.flush()
        _score_all(job, sink)
    ctx.barrier()
    code = EXIT_OK
    if ctx.is_main:
        rows = _existing_rows(out, job.fmt, job.columns)
        write_sorted(out, rows, job.columns, job.fmt)
        for p in out.parent.glob(out.name + ".rank*.part"):
            p.unlink()
        code = EXIT_FAILED if _summary(job, rows, sys.stdout) else EXIT_OK
    return int(ctx.broadcast(code))


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
    finally:
        pkg = logging.getLogger("semfidelity")
        pkg.removeHandler(handler)
        pkg.setLevel(handler.previous_level)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
