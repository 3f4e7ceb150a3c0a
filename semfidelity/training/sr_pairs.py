"""HR/SR pairs as the semantic-fidelity work made them: BSRGAN-degraded LQ inputs at several
intensities, run through SR methods, kept when a measure lies inside a window.

Layout of ``out_dir``::

    hr/<image>.png                      the HR image, mod-cropped to a multiple of the scale
    lq/<level>/<image>.png              BSRGAN LQ (same for every method)
    sr/<method>/<level>/<image>.png     the method's output
    manifest.csv                        one row per (image, level, method), failures included
    kept.csv                            the rows inside the window

A failed item (unreadable image, method error, wrong output size) is a ``status=failed`` row
with its error; the run goes on. A rerun keeps every ``ok`` row whose files exist and whose
seed and scale match, and redoes only the rest; the window is re-applied to stored scores.
"""

from __future__ import annotations

import csv
import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from semfidelity.factory import create_metric
from semfidelity.io import load_image, to_pil
from semfidelity.training.bsrgan import check_intensity, degrade_bsrgan
from semfidelity.training.sr_methods import SRMethod, parse_method
from semfidelity.training.synth import list_images

__all__ = ["COLUMNS", "LEVELS", "SRPairsResult", "item_seed", "make_sr_pairs"]

log = logging.getLogger(__name__)

LEVELS = (0.3, 0.7, 1.0)
MEASURES = ("ssim", "lpips")
COLUMNS = [
    "image", "level", "method", "seed", "scale", "reference", "lq", "distorted",
    "ssim", "lpips", "kept", "status", "error",
]  # fmt: skip


@dataclass(frozen=True)
class SRPairsResult:
    """Paths of the manifest and the kept pairs, and row counts of the run."""

    manifest: Path
    kept_csv: Path
    rows: int
    kept: int
    failed: int
    reused: int


def item_seed(seed: int, image: str) -> int:
    """The BSRGAN seed of one image, shared by its levels (the same chain, weaker or stronger);
    it depends on the file name, not on the folder's order or content."""
    key = [int(seed) & 0xFFFFFFFF, zlib.crc32(image.encode("utf-8", "surrogateescape"))]
    return int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0] >> 1)


def _keys(files: list[Path]) -> dict[Path, str]:
    stems = [p.stem for p in files]
    return {p: p.stem if stems.count(p.stem) == 1 else p.name.replace(".", "_") for p in files}


def _in_window(row: dict, on: str, window: tuple[float, float]) -> bool:
    if row["status"] != "ok":
        return False
    if on == "none":
        return True
    value = float(row[on]) if row.get(on) not in (None, "") else float("nan")
    return window[0] <= value <= window[1]


def _validate(scale, levels, window, filter_on, measures) -> tuple[list[float], list[str]]:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale: expected an int >= 1, got {scale!r}")
    levels = [check_intensity(t) for t in levels]
    if not levels or len(set(levels)) != len(levels):
        raise ValueError(f"levels: expected distinct values in [0, 1], got {levels!r}")
    measures = [m.lower() for m in measures]
    if not set(measures) <= set(MEASURES) or len(set(measures)) != len(measures):
        raise ValueError(f"measures: expected a subset of {list(MEASURES)}, got {measures!r}")
    if filter_on not in (*measures, "none"):
        raise ValueError(f"filter: expected one of {[*measures, 'none']}, got {filter_on!r}")
    lo, hi = (float(v) for v in window)
    if not lo <= hi:
        raise ValueError(f"window: expected (low, high) with low <= high, got {window!r}")
    return levels, measures


def _previous(manifest: Path, out: Path) -> dict[tuple[str, str, str], dict]:
    if not manifest.is_file():
        return {}
    with open(manifest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and set(COLUMNS) - set(rows[0]):
        raise ValueError(f"{manifest}: not a make_sr_pairs manifest (columns {list(rows[0])})")
    done = {}
    for r in rows:
        files = [out / r[c] for c in ("reference", "lq", "distorted")]
        if r["status"] == "ok" and all(p.is_file() for p in files):
            done[(r["image"], r["level"], r["method"])] = r
    return done


def _write(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _save(img: torch.Tensor, path: Path) -> torch.Tensor:
    """Write a PNG and return the image as stored (8-bit), so scores match the files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(img.clamp(0, 1)).save(path)
    return (img.clamp(0, 1) * 255).round() / 255


def make_sr_pairs(
    hr_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    methods: Sequence[str | SRMethod],
    *,
    scale: int = 4,
    levels: Sequence[float] = LEVELS,
    seed: int = 0,
    filter_on: str = "ssim",
    window: tuple[float, float] = (0.6, 0.8),
    measures: Sequence[str] = MEASURES,
    metric_options: dict[str, dict] | None = None,
    device: str | torch.device | None = None,
    timeout: float | None = None,
) -> SRPairsResult:
    """Degrade every image of ``hr_dir`` with BSRGAN at each level, run each SR method, score
    SR against HR (``measures``) and keep the pairs whose ``filter_on`` measure lies in
    ``window`` (inclusive; ``filter_on="none"`` keeps every successful pair).

    ``methods`` are specs for :func:`~semfidelity.training.sr_methods.parse_method` or
    ``SRMethod`` objects; ``metric_options`` go to ``create_metric`` (e.g.
    ``{"lpips": {"net": "vgg"}}``); ``timeout`` bounds each command in seconds. Setup errors
    (folder, arguments, methods, metrics that cannot be built) raise ``ValueError`` /
    ``FileNotFoundError`` before anything is written.
    """
    levels, measures = _validate(scale, levels, window, filter_on, measures)
    window = (float(window[0]), float(window[1]))
    parsed = [m if isinstance(m, SRMethod) else parse_method(m) for m in methods]
    names = [m.name for m in parsed]
    if not parsed or len(set(names)) != len(names):
        raise ValueError(f"methods: expected at least one, with distinct names, got {names}")
    files = list_images(hr_dir)
    if not files:
        raise ValueError(f"hr_dir: no images in {os.fspath(hr_dir)!r}")
    opts = metric_options or {}
    try:
        metrics = {m: create_metric(m, device=device, **opts.get(m, {})) for m in measures}
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(
            f"measures: cannot build {measures} ({exc}); pass weights through metric_options "
            "(CLI: -o lpips.weights=PATH) or leave the measure out (CLI: --measures ssim)"
        ) from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.csv"
    done = _previous(manifest, out)
    rows: list[dict] = []
    reused = 0
    keys = _keys(files)
    for path in files:
        name, key = path.name, keys[path]
        img = hr = None
        for level in levels:
            lvl, s = str(level), item_seed(seed, name)
            base = {"image": name, "level": lvl, "seed": str(s), "scale": str(scale)}
            base |= {"reference": f"hr/{key}.png", "lq": f"lq/{lvl}/{key}.png"}
            todo = []
            for m in parsed:
                old = done.get((name, lvl, m.name))
                if old and old["seed"] == str(s) and old["scale"] == str(scale):
                    rows.append({**old, "kept": str(int(_in_window(old, filter_on, window)))})
                    reused += 1
                else:
                    todo.append(m)
            if not todo:
                continue
            try:
                img = load_image(path) if img is None else img
                lq_t, hr_t = degrade_bsrgan(img, level, s, scale=scale)
                if hr is None:
                    hr = _save(hr_t[None], out / base["reference"])
                lq = _save(lq_t[None], out / base["lq"])
            except Exception as exc:  # a batch item: record it, go on
                err = f"{type(exc).__name__}: {exc}"
                log.warning("%s level %s: %s", name, lvl, err)
                rows += [_failed(base, m, err) for m in todo]
                continue
            for m in todo:
                rows.append(_one(m, base, lq, hr, out, scale, metrics, filter_on, window, timeout))
        _write(manifest, _sorted(rows, done, files, levels, names))
    final = _sorted(rows, {}, files, levels, names)
    _write(manifest, final)
    kept = [r for r in final if r["kept"] == "1"]
    _write(out / "kept.csv", kept)
    failed = sum(r["status"] != "ok" for r in final)
    log.info("%d pairs, %d kept, %d failed, %d reused", len(final), len(kept), failed, reused)
    return SRPairsResult(manifest, out / "kept.csv", len(final), len(kept), failed, reused)


def _failed(base: dict, m: SRMethod, err: str) -> dict:
    row = {c: "" for c in COLUMNS} | base | {"method": m.name, "kept": "0"}
    return row | {"status": "failed", "error": err, "distorted": ""}


def _one(m, base, lq, hr, out, scale, metrics, filter_on, window, timeout) -> dict:
    rel = f"sr/{m.name}/{base['level']}/{Path(base['lq']).name}"
    try:
        sr = m.run(lq, out / base["lq"], out / rel, scale, timeout)
        if sr.shape != hr.shape:
            raise ValueError(f"output shape {tuple(sr.shape)}, expected {tuple(hr.shape)}")
        sr = _save(sr, out / rel)
        with torch.no_grad():
            scores = {k: f"{float(fn(sr, hr)[0]):.6f}" for k, fn in metrics.items()}
    except Exception as exc:  # a batch item: record it, go on
        err = f"{type(exc).__name__}: {exc}"
        log.warning("%s level %s method %s: %s", base["image"], base["level"], m.name, err)
        return _failed(base, m, err)
    row = {c: "" for c in COLUMNS} | base | scores
    row |= {"method": m.name, "distorted": rel, "status": "ok"}
    return row | {"kept": str(int(_in_window(row, filter_on, window)))}


def _sorted(rows, done, files, levels, names) -> list[dict]:
    """Rows in (image, level, method) order; ``done`` rows not yet revisited are kept too."""
    have = {(r["image"], r["level"], r["method"]) for r in rows}
    pending = [r for k, r in done.items() if k not in have]
    order = {p.name: i for i, p in enumerate(files)}
    lv = {str(t): i for i, t in enumerate(levels)}
    nm = {n: i for i, n in enumerate(names)}

    def key(r):
        return (order.get(r["image"], 1 << 30), r["image"], lv.get(r["level"], 99), r["level"],
                nm.get(r["method"], 99), r["method"])  # fmt: skip

    return sorted(rows + pending, key=key)
