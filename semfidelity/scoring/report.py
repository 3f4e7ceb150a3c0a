"""One self-contained HTML report of a scoring run (``semfid-score --report``, ``semfid-report``).

The file works offline, opened from disk: styles, script, data and pictures are inside it. It
holds the run summary (metrics, orientation, options, weights, versions), a paged, sortable and
filterable table of every pair, per-metric histograms, the error rows with their reasons, and a
gallery of the worst ``worst_n`` pairs of each metric: reference, prediction and a heatmap side
by side (the metric's own map from ``--maps`` when there is one, else the absolute difference),
with a synchronised zoom. Only gallery pairs carry pictures (JPEGs of at most ``image_side``
pixels), so the size grows with the gallery, not with the run; every other row links to its
original files by a path relative to the report.
"""

from __future__ import annotations

import datetime as _dt
import html
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from semfidelity._version import __version__
from semfidelity.registry import get_spec
from semfidelity.scoring.report_media import diff_map, histogram_svg, jpeg_data_uri, load_rgb
from semfidelity.weights.manifest import get_entry

__all__ = ["build_report", "BASE_COLUMNS"]

logger = logging.getLogger(__name__)

BASE_COLUMNS = ("key", "ref", "pred", "height", "width")
_PACKAGES = ("semfidelity", "torch", "torchvision", "open_clip_torch", "numpy", "pillow")


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _version(pkg: str) -> str:
    if pkg == "semfidelity":  # also right for a source checkout that was never pip-installed
        return __version__
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _metric_info(col: str) -> dict[str, Any]:
    """Orientation, range and weights of a score column (``None`` fields if unregistered)."""
    try:
        spec = get_spec(col)
    except ValueError:
        return {"name": col, "known": False, "lower_better": None, "range": None, "weights": []}
    weights = []
    for wid in spec.weights:
        try:
            e = get_entry(wid)
            where = f"{e.repo_id}@{e.revision[:12]}" if e.repo_id and e.revision else "bundled"
            weights.append(f"{wid} ({where})")
        except (KeyError, ValueError):
            weights.append(wid)
    lo, hi = spec.score_range
    return {
        "name": col,
        "known": True,
        "lower_better": bool(spec.lower_better),
        "range": [lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None],
        "weights": weights,
    }


def _rel_href(path: str, base: Path) -> str:
    if not path:  # no-reference rows have no reference file
        return ""
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        rel = os.path.relpath(p, base)
    except ValueError:  # another drive (Windows)
        return p.as_uri()
    return quote(rel.replace(os.sep, "/"))


def _worst(rows: list[dict], col: str, lower_better: bool, n: int) -> list[str]:
    scored = [(v, str(r["key"])) for r in rows if (v := _num(r.get(col))) is not None]
    scored.sort(key=lambda t: (-t[0], t[1]) if lower_better else (t[0], t[1]))
    return [k for _, k in scored[:n]]


def _images(
    rows_by_key: dict[str, dict], gallery: dict[str, list[str]], maps_dir: Path | None, side: int
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for metric, keys in gallery.items():
        for key in keys:
            row = rows_by_key[key]
            if key not in out:
                entry: dict[str, Any] = {"maps": {}, "bars": {}}
                try:
                    pred = load_rgb(row["pred"])
                    entry["pred"] = jpeg_data_uri(pred, side)
                    sizes[key] = pred.size
                    if row.get("ref"):  # else a no-reference run: the prediction alone
                        ref = load_rgb(row["ref"])
                        entry["ref"] = jpeg_data_uri(ref, side)
                        diff, peak, bar = diff_map(ref, pred)
                        entry["diff"], entry["diff_max"] = jpeg_data_uri(diff, side), peak
                        entry["diff_bar"] = jpeg_data_uri(bar, side, like=ref.size)
                        sizes[key] = ref.size
                except (OSError, ValueError) as exc:
                    logger.warning("report: cannot read the images of %s: %s", key, exc)
                    entry["missing"] = f"{type(exc).__name__}: {exc}"
                out[key] = entry
            own = maps_dir / metric / f"{key}.png" if maps_dir else None
            if own is not None and own.is_file() and "missing" not in out[key]:
                w, h = sizes[key]
                m = load_rgb(own)
                if m.height == h and m.width > w:  # a saved map carries its colour bar on the right
                    bar = m.crop((w, 0, m.width, h))
                    out[key]["bars"][metric] = jpeg_data_uri(bar, side, like=(w, h))
                    m = m.crop((0, 0, w, h))  # the map alone: it zooms in step with the images
                out[key]["maps"][metric] = jpeg_data_uri(m, side)
    return out


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "std": None, "median": None, "min": None, "max": None}
    a = np.asarray(values, dtype=np.float64)
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "std": float(a.std()),
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _fmt(v: Any) -> str:
    return "–" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def _summary_html(meta: Mapping[str, Any], infos: list[dict], stats: dict, counts: dict) -> str:
    e = html.escape
    lines = [
        f"<p><b>{counts['pairs']}</b> pairs: <b>{counts['ok']}</b> scored without error, "
        f"<b>{counts['errors']}</b> with errors, <b>{counts['unpaired']}</b> files unpaired.</p>",
        '<table class="kv"><tbody>',
    ]
    for k, v in meta.items():
        if k in ("options", "problems"):
            continue
        lines.append(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>")
    versions = ", ".join(f"{p} {_version(p)}" for p in _PACKAGES)
    lines.append(
        f"<tr><th>versions</th><td>{e(versions)}; python {platform.python_version()}</td></tr>"
    )
    lines.append("</tbody></table>")
    options = meta.get("options")
    head = "<th>metric</th><th>better</th><th>range</th><th>n</th><th>mean</th><th>std</th>"
    head += "<th>median</th><th>min</th><th>max</th><th>options</th><th>weights</th>"
    lines.append(f'<table class="stats"><thead><tr>{head}</tr></thead><tbody>')
    for info in infos:
        s = stats[info["name"]]
        better = {True: "lower", False: "higher", None: "?"}[info["lower_better"]]
        rng = (
            "–"
            if info["range"] is None
            else "[{}, {}]".format(*("∞" if x is None else f"{x:g}" for x in info["range"]))
        )
        opts = "not recorded" if options is None else json.dumps(options.get(info["name"], {}))
        cells = [info["name"], better, rng] + [_fmt(s[k]) for k in ("n", "mean", "std")]
        cells += [_fmt(s[k]) for k in ("median", "min", "max")]
        cells += [opts, ", ".join(info["weights"]) or "–"]
        lines.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _errors_html(rows: list[dict], problems: Sequence[Sequence[str]]) -> str:
    by_reason: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        for part in str(r.get("error") or "").split(" | "):
            if part:
                by_reason.setdefault(part.split(":", 1)[0].strip(), []).append(
                    (str(r["key"]), part)
                )
    for reason, key, detail in problems:
        by_reason.setdefault(str(reason), []).append((str(key), str(detail)))
    if not by_reason:
        return '<p class="ok">No error rows.</p>'
    e = html.escape
    out = []
    for reason in sorted(by_reason):
        items = by_reason[reason]
        out.append(f'<details open><summary>{e(reason)}: {len(items)}</summary><ul class="errs">')
        out.extend(f"<li><code>{e(k)}</code> {e(d)}</li>" for k, d in items[:500])
        if len(items) > 500:
            out.append(
                f"<li>… and {len(items) - 500} more (filter the table with <code>error</code>)</li>"
            )
        out.append("</ul></details>")
    return "\n".join(out)


def _asset(name: str) -> str:
    return resources.files("semfidelity").joinpath("assets", "report", name).read_text("utf-8")


def _script_json(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def build_report(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    out: str | os.PathLike,
    *,
    meta: Mapping[str, Any] | None = None,
    maps_dir: str | os.PathLike | None = None,
    worst_n: int = 8,
    image_side: int = 384,
    title: str | None = None,
) -> Path:
    """Write the HTML report of score ``rows`` (as :mod:`semfidelity.scoring.scorefile` reads them).

    Args:
        rows: one mapping per pair with ``key``, ``ref``, ``pred``, score columns and ``error``.
        columns: the score file's columns (their order is the table's).
        out: the ``.html`` file to write (its folder is the base of the links to originals).
        meta: run facts shown in the summary (e.g. command, ref, pred, device); the special key
            ``options`` maps metric -> options, ``problems`` lists ``(reason, key, detail)`` of
            files that found no partner.
        maps_dir: a ``--maps`` folder; ``maps_dir/METRIC/KEY.png`` is used as that metric's map.
        worst_n: gallery size per metric (0 = no gallery).
        image_side: longest side of the embedded JPEGs, pixels.
        title: the page title (default: the output file name).

    Returns:
        The path written.
    """
    if not isinstance(worst_n, int) or worst_n < 0:
        raise ValueError(f"worst_n: expected an integer >= 0, got {worst_n!r}")
    if not isinstance(image_side, int) or image_side < 16:
        raise ValueError(f"image_side: expected an integer >= 16, got {image_side!r}")
    if "key" not in columns:
        raise ValueError(f"columns: expected a 'key' column, got {list(columns)}")
    out_path = Path(out)
    rows = [dict(r) for r in rows]
    meta = dict(meta or {})
    problems = list(meta.get("problems") or [])
    score_cols = [c for c in columns if c not in BASE_COLUMNS and c != "error"]
    infos = [_metric_info(c) for c in score_cols]
    values = {c: [v for r in rows if (v := _num(r.get(c))) is not None] for c in score_cols}
    stats = {c: _stats(values[c]) for c in score_cols}
    gallery = {
        i["name"]: _worst(rows, i["name"], i["lower_better"], worst_n) for i in infos if i["known"]
    }
    gallery = {k: v for k, v in gallery.items() if v}
    by_key = {str(r["key"]): r for r in rows}
    images = _images(by_key, gallery, Path(maps_dir) if maps_dir else None, image_side)
    base = out_path.resolve().parent
    table_cols = [c for c in columns if c not in ("ref", "pred")]
    data = {
        "columns": table_cols,
        "numeric": [c for c in table_cols if c in score_cols or c in ("height", "width")],
        "metrics": infos,
        "rows": [
            [
                _num(r.get(c)) if c in score_cols or c in ("height", "width") else (r.get(c) or "")
                for c in table_cols
            ]
            + [_rel_href(str(r.get("ref", "")), base), _rel_href(str(r.get("pred", "")), base)]
            for r in rows
        ],
        "gallery": gallery,
        "images": images,
    }
    n_err = sum(1 for r in rows if r.get("error"))
    counts = {
        "pairs": len(rows),
        "ok": len(rows) - n_err,
        "errors": n_err,
        "unpaired": len(problems),
    }
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    parts = {
        "TITLE": html.escape(title or out_path.name),
        "CSS": _asset("report.css"),
        "SUMMARY": _summary_html(meta, infos, stats, counts),
        "HISTOGRAMS": "\n".join(histogram_svg(values[c], c) for c in score_cols),
        "ERRORS": _errors_html(rows, problems),
        "DATA": _script_json(data),
        "JS": _asset("report.js"),
    }
    page = re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], _asset("report.html"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out_path)
    logger.info("report: %s (%d pairs, %d gallery pairs)", out_path, len(rows), len(images))
    return out_path
