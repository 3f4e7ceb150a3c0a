"""One scoring run from start to summary: :func:`run_scoring`, the library side of semfid-score.

Single process: rows go to ``out`` (or CSV on stdout) as batches finish; the rows stay in memory
for the summary and for the one rewrite sorted by key that images of several sizes (batched by
size, so written out of order) need. Under ``torchrun`` each
rank scores every ``world_size``-th remaining pair into ``<out>.rank<r>.part``; rank 0 then
merges the parts with ``out`` into one file sorted by key and writes the evaluation card
(:mod:`semfidelity.scoring.card`) beside it. ``resume`` skips keys already in
``out`` or in part files an interrupted run left.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import TextIO

import torch

from semfidelity.scoring.batches import score_all
from semfidelity.scoring.card import build_card, protocol_lines, write_card
from semfidelity.scoring.config import ScoreConfig, UsageError
from semfidelity.scoring.distributed import DistContext, init_from_env
from semfidelity.scoring.job import Job, existing_rows, prepare
from semfidelity.scoring.report import build_report
from semfidelity.scoring.scorefile import header_line, write_sorted
from semfidelity.scoring.setlevel import SetResult, compute_set_metric
from semfidelity.scoring.summary import write_summary

__all__ = ["run_scoring"]

logger = logging.getLogger(__name__)


def run_scoring(
    config: ScoreConfig, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Score every pair of ``config``; returns the number of failed items (0: all scored).

    Rows go to ``config.out`` (or, without it, as CSV to ``stdout`` with the summary on
    ``stderr``); with ``out`` the summary goes to ``stdout``. Under ``torchrun`` every rank
    returns the same count.

    Raises:
        UsageError: a problem found before scoring starts (output, pairs, metrics).
    """
    job = prepare(config)
    ctx = init_from_env(job.device)
    try:
        if ctx.active and job.device.type == "cuda":
            if job.device.index is None:
                job.device = torch.device("cuda", ctx.local_rank)
                for m in job.metrics.values():
                    m.to(job.device)
            torch.cuda.set_device(job.device)  # nccl collectives use the current device
        return _run_job(job, ctx, stdout or sys.stdout, stderr or sys.stderr)
    finally:
        ctx.close()


def _run_job(job: Job, ctx: DistContext, stdout: TextIO, stderr: TextIO) -> int:
    config = job.config
    if not config.out:
        if ctx.active:
            raise UsageError("--out is required when running under torchrun")
        job.todo = job.pairing.pairs
        stdout.write(header_line(job.columns, "csv"))
        rows: list[dict] = []
        score_all(job, stdout, keep=rows)
        stdout.flush()
        sets = _set_results(job)
        failed = write_summary(job.columns, job.pairing, rows, stderr, sets)
        _report(job, rows)
        return failed
    out = Path(config.out)
    if out.exists() and out.stat().st_size and not (config.resume or config.overwrite):
        raise UsageError(f"--out {str(out)!r} exists; pass --resume to continue it or --overwrite")
    ctx.barrier()
    if config.overwrite and ctx.is_main:
        for p in [out, *out.parent.glob(out.name + ".rank*.part")]:
            p.unlink(missing_ok=True)
    ctx.barrier()
    done: list[dict] = []
    if config.resume:
        # Rank 0 reads (and repairs a cut last line) first; no rank writes before all have read.
        if ctx.is_main:
            done = existing_rows(out, job.fmt, job.columns)
        ctx.barrier()
        if not ctx.is_main:
            done = existing_rows(out, job.fmt, job.columns)
    ctx.barrier()
    done_keys = {str(r["key"]) for r in done}
    remaining = [p for p in job.pairing.pairs if p.key not in done_keys]
    job.todo = remaining[ctx.rank :: ctx.world_size]
    if done:
        logger.info("--resume: %d rows present, %d pairs left", len(done), len(remaining))
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out if not ctx.active else out.with_name(f"{out.name}.rank{ctx.rank}.part")
    # One process, fresh file: every row is in memory, so nothing is read back, and the file is
    # rewritten only when size batching wrote rows out of key order.
    stale_parts = any(out.parent.glob(out.name + ".rank*.part"))  # merged below, as before
    fresh = not (ctx.active or config.resume or stale_parts)
    kept: list[dict] | None = [] if fresh else None
    with open(part, "a", encoding="utf-8", newline="") as sink:
        if sink.tell() == 0:
            sink.write(header_line(job.columns, job.fmt))
            sink.flush()
        score_all(job, sink, keep=kept)
    if kept is not None:
        keys = [str(r["key"]) for r in kept]
        if keys != sorted(keys):
            write_sorted(out, kept, job.columns, job.fmt)
        return _finish(job, kept, stdout)
    ctx.barrier()
    failed = 0
    if ctx.is_main:
        rows = existing_rows(out, job.fmt, job.columns)
        write_sorted(out, rows, job.columns, job.fmt)
        for p in out.parent.glob(out.name + ".rank*.part"):
            p.unlink()
        failed = _finish(job, rows, stdout)
    return int(ctx.broadcast(failed))


def _finish(job: Job, rows: list[dict], stdout: TextIO) -> int:
    """Card and report first, then the summary: a closed stdout (``| head``) loses only text."""
    sets = _set_results(job)
    summary = io.StringIO()
    failed = write_summary(job.columns, job.pairing, rows, summary, sets)
    card = build_card(job, rows, sets)
    write_card(Path(job.config.out), card)
    for line in protocol_lines(card):
        summary.write(line + "\n")
    _report(job, rows)
    stdout.write(summary.getvalue())
    stdout.flush()
    return failed


def _set_results(job: Job) -> list[SetResult]:
    """The set-level metrics (``fid``) over every pair of the run, resumed ones included."""
    cfg = job.config
    results = []
    for name, metric in job.set_metrics.items():
        logger.info("%s: features of %d pairs", name, len(job.pairing.pairs))
        results.append(
            compute_set_metric(
                name,
                metric,
                job.pairing.pairs,
                reference=cfg.ref is not None,
                resize_pred_to_ref=cfg.resize_pred_to_ref,
                max_pixels=cfg.max_pixels,
                batch_size=cfg.batch_size,
                max_batch_pixels=cfg.max_batch_pixels,
                workers=cfg.workers,
            )
        )
    return results


def _report(job: Job, rows: list[dict]) -> None:
    """Write ``--report`` (if asked) from the final rows, with the run's settings."""
    config = job.config
    if not config.report:
        return
    skip = ("metrics", "options", "report", "report_worst")
    meta = {k: v for k, v in vars(config).items() if k not in skip}
    meta.update(device=str(job.device), options=config.options, problems=job.pairing.problems)
    build_report(
        rows, job.columns, config.report, meta=meta, maps_dir=config.maps,
        worst_n=config.report_worst,
    )  # fmt: skip
    logger.info("report written to %s", config.report)
