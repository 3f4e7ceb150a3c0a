"""Pseudo-labelled pair CSVs (the semantic-fidelity thesis' C2C / C2I) without human raters.

:func:`pseudo_label` captions the ground-truth (GT) and SR image of every pair with a
:class:`~semfidelity.training.captions.Captioner`, scores the pair with C2C and/or C2I
(:mod:`semfidelity.training.pseudo_scores`) and appends one row per pair to a pair CSV that
:func:`~semfidelity.training.dataset.read_pairs`, ``semfid-train`` and ``semfid-eval`` read::

    reference,distorted,semantic_error,c2c,c2i,gt_caption,sr_caption

``semantic_error`` is the label in the library's orientation, declared by the column name
(:mod:`semfidelity.training.labels`; 1 = semantic error): ``1 - similarity`` of the
chosen score, clipped to [0, 1]; ``c2c``/``c2i`` are the raw cosines (empty when not computed).
A pair whose captioning or scoring fails is left out of the CSV and listed, with the stage and
the reason, in ``<out>.errors.csv``; the run goes on. Rows are flushed per batch, so
``resume=True`` continues a killed run: pairs already in the CSV are skipped (failed pairs are
tried again), and a torn last row is dropped.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from semfidelity.training.captions import Captioner, caption_each
from semfidelity.training.labels import ERROR_COLUMN

__all__ = ["COLUMNS", "PseudoLabelResult", "pseudo_label", "pairs_from_csv", "errors_path"]

logger = logging.getLogger(__name__)

COLUMNS = ("reference", "distorted", ERROR_COLUMN, "c2c", "c2i", "gt_caption", "sr_caption")
ERROR_COLUMNS = ("reference", "distorted", "stage", "error")
Scorer = Callable[[Sequence[str], Sequence[str], Sequence[Path]], torch.Tensor]


@dataclass
class PseudoLabelResult:
    """What a run did: rows ``written`` now, rows ``kept`` from an earlier run (resume), and
    ``errors`` as ``(reference, distorted, stage, message)``, also in ``errors_file``."""

    out: Path
    written: int = 0
    kept: int = 0
    errors: list[tuple[Path, Path, str, str]] = field(default_factory=list)
    errors_file: Path | None = None


def errors_path(out: str | os.PathLike[str]) -> Path:
    """``pairs.csv`` -> ``pairs.errors.csv`` (next to it)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.errors.csv")


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))


def _rel(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows): keep it absolute
        return str(Path(path).absolute())


def _complete(row: dict[str, str | None]) -> bool:
    if any(row.get(c) is None for c in COLUMNS) or None in row:
        return False
    try:
        return 0.0 <= float(row[ERROR_COLUMN] or "nan") <= 1.0
    except ValueError:
        return False


def _existing_rows(out: Path) -> tuple[set[tuple[str, str]], int]:
    """Pairs already in ``out`` (keys of absolute paths); rewrites the file without a torn row."""
    text = out.read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines(keepends=True))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(
            f"{out}: cannot resume: its header is {reader.fieldnames}, expected {list(COLUMNS)}"
        )
    rows = list(reader)
    good = [r for r in rows if _complete(r)]
    if len(good) != len(rows) or not text.endswith("\n"):
        logger.warning(
            "%s: dropping %d incomplete row(s) before resuming", out, len(rows) - len(good)
        )
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(good)
        os.replace(tmp, out)
    base = out.parent
    return {(_key(base / r["reference"]), _key(base / r["distorted"])) for r in good}, len(good)


def _score_each(
    scorer: Scorer, items: list[tuple[Path, Path, str, str]]
) -> tuple[dict[int, float], dict[int, str]]:
    """``{item index: similarity}``, ``{item index: error}``: a failing batch is split up."""
    if not items:
        return {}, {}
    try:
        values = scorer([i[2] for i in items], [i[3] for i in items], [i[1] for i in items])
        values = torch.as_tensor(values, dtype=torch.float64).flatten()
        if values.numel() != len(items) or not torch.isfinite(values).all():
            raise ValueError(f"expected {len(items)} finite similarities, got {values.tolist()}")
        return dict(enumerate(values.tolist())), {}
    except Exception as exc:  # any scorer failure: isolated per item below
        if len(items) == 1:
            return {}, {0: f"{type(exc).__name__}: {exc}"}
    done, failed = {}, {}
    for i, item in enumerate(items):
        d, f = _score_each(scorer, [item])
        if 0 in d:
            done[i] = d[0]
        else:
            failed[i] = f[0]
    return done, failed


def pairs_from_csv(path: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """``(reference, distorted)`` of a CSV with those columns (relative to its folder); other
    columns, labels included, are ignored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pairs CSV not found: {str(path)!r}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"reference", "distorted"} <= set(reader.fieldnames or ()):
            raise ValueError(
                f"{path}: expected reference,distorted columns, got {reader.fieldnames}"
            )
        out = []
        for row, r in enumerate(reader, start=1):
            if not r["reference"] or not r["distorted"]:
                raise ValueError(f"{path}: row {row} (line {row + 1}): empty image path")
            out.append((path.parent / r["reference"], path.parent / r["distorted"]))
    if not out:
        raise ValueError(f"{path}: no data rows")
    return out


def _check_args(scorers: dict[str, Scorer], label: str, batch_size: int) -> None:
    if not scorers:
        raise ValueError("scorers: expected at least one of 'c2c', 'c2i', got none")
    unknown = sorted(set(scorers) - {"c2c", "c2i"})
    if unknown:
        raise ValueError(f"scorers: expected names among 'c2c', 'c2i', got {unknown}")
    if label not in scorers:
        raise ValueError(
            f"label: must be one of the computed scores {sorted(scorers)}, got {label!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")


def pseudo_label(
    pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    captioner: Captioner,
    scorers: dict[str, Scorer],
    *,
    label: str = "c2c",
    batch_size: int = 32,
    resume: bool = False,
    overwrite: bool = False,
) -> PseudoLabelResult:
    """Caption, score and write ``pairs`` (``(GT path, SR path)``) to the pair CSV ``out``.

    Args:
        captioner: any object with ``caption(paths) -> list[str]``.
        scorers: ``{"c2c": C2C(), "c2i": C2I()}`` or a subset (any callable
            ``(gt_captions, sr_captions, sr_paths) -> Tensor[N]`` of similarities).
        label: the score the ``label`` column is ``1 - similarity`` of (clipped to [0, 1]).
        batch_size: pairs captioned and scored together (rows are flushed after each batch).
        resume: continue an existing ``out``; ``overwrite``: replace it. With neither, an
            existing ``out`` raises ``FileExistsError``.

    Returns:
        a :class:`PseudoLabelResult`; errors are also written to :func:`errors_path` ``(out)``.
    """
    _check_args(scorers, label, batch_size)
    if not isinstance(captioner, Captioner):
        raise TypeError(
            f"captioner: expected an object with caption(paths) -> list[str], "
            f"got {type(captioner).__name__}"
        )
    out = Path(out)
    result = PseudoLabelResult(out=out)
    done: set[tuple[str, str]] = set()
    if out.exists() and resume:
        done, result.kept = _existing_rows(out)
    elif out.exists() and not overwrite:
        raise FileExistsError(f"out: {str(out)!r} exists; pass resume=True or overwrite=True")
    todo = [(Path(r), Path(d)) for r, d in pairs if (_key(r), _key(d)) not in done]
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (out.exists() and resume)
    captions: dict[Path, str] = {}
    with open(out, "w" if fresh else "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        if fresh:
            writer.writeheader()
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            rows = _run_batch(batch, captioner, scorers, label, captions, result.errors)
            writer.writerows(_row(r, out.parent) for r in rows)
            fh.flush()
            result.written += len(rows)
            logger.info("pseudo-labels: %d/%d pairs", start + len(batch), len(todo))
    _write_errors(out, result)
    return result


def _run_batch(batch, captioner, scorers, label, captions, errors) -> list[dict]:
    new = [p for pair in batch for p in pair if p not in captions]
    got, failed = caption_each(captioner, new)
    captions.update(got)
    items = []
    for ref, dist in batch:
        bad = [(p, failed[p]) for p in (ref, dist) if p in failed]
        if bad:
            which = "; ".join(f"{'GT' if p == ref else 'SR'} {p.name}: {m}" for p, m in bad)
            errors.append((ref, dist, "caption", which))
        else:
            items.append((ref, dist, captions[ref], captions[dist]))
    values = {}
    for name, scorer in scorers.items():
        values[name], failed_items = _score_each(scorer, items)
        for i, message in sorted(failed_items.items()):
            errors.append((items[i][0], items[i][1], name, message))
    rows = []
    for i, (ref, dist, gt_cap, sr_cap) in enumerate(items):
        if all(i in v for v in values.values()):
            sims = {name: v[i] for name, v in values.items()}
            rows.append({"reference": ref, "distorted": dist, "gt_caption": gt_cap,
                         "sr_caption": sr_cap, **sims,
                         "label": min(1.0, max(0.0, 1.0 - sims[label]))})  # fmt: skip
    return rows


def _row(r: dict, base: Path) -> dict[str, str]:
    return {
        "reference": _rel(r["reference"], base),
        "distorted": _rel(r["distorted"], base),
        ERROR_COLUMN: f"{r['label']:.6f}",
        "c2c": f"{r['c2c']:.6f}" if "c2c" in r else "",
        "c2i": f"{r['c2i']:.6f}" if "c2i" in r else "",
        "gt_caption": r["gt_caption"],
        "sr_caption": r["sr_caption"],
    }


def _write_errors(out: Path, result: PseudoLabelResult) -> None:
    path = errors_path(out)
    if not result.errors:
        path.unlink(missing_ok=True)  # a previous run's list is stale now
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ERROR_COLUMNS)
        for ref, dist, stage, message in result.errors:
            writer.writerow([_rel(ref, out.parent), _rel(dist, out.parent), stage, message])
    result.errors_file = path
    logger.warning("%d pair(s) failed; listed in %s", len(result.errors), path)
