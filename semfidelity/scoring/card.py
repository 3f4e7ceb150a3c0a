"""Evaluation cards: a JSON record, next to the scores, of exactly how a run computed them.

The card answers the questions that make SR tables hard to reproduce: which versions, device
and dtype, which metric variant with which options, which weight files (id, revision, sha256),
which input checks, how many pairs, which files (a hash of the list), and the per-metric means.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from semfidelity import weights as W
from semfidelity._version import __version__
from semfidelity.scoring.job import Job
from semfidelity.scoring.protocols import MISSING_REASON, PROTOCOLS, formula_result
from semfidelity.scoring.setlevel import SetResult

__all__ = ["build_card", "card_path", "write_card", "CARD_SUFFIX"]

CARD_SUFFIX = ".card.json"
_PACKAGES = ("torch", "torchvision", "open_clip_torch", "numpy", "pillow")


def card_path(out: str | Path) -> Path:
    """``scores.csv`` -> ``scores.csv.card.json`` (beside the score file)."""
    out = Path(out)
    return out.with_name(out.name + CARD_SUFFIX)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _weights(ids: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for wid in ids:
        e = W.get_entry(wid)
        out.append(
            {
                "id": wid,
                "source": e.repo_id or e.url or ("bundled" if e.bundled else None),
                "filename": e.filename,
                "revision": e.revision,
                "sha256": e.sha256,
                **({"sha256_note": e.sha256_note} if e.sha256 is None and e.sha256_note else {}),
                "license": e.license,
            }
        )
    return out


def _metric(job: Job, name: str) -> dict[str, Any]:
    m = job.metrics[name]
    options = dict(m.spec.options())
    options.update(job.config.options.get(name, {}))
    return {
        "options": _jsonable(options),
        "weights": _weights(m.spec.weights),
        "lower_better": m.lower_better,
        "score_range": _jsonable(list(m.score_range)),
        "requires_reference": m.requires_reference,
        "min_size": m.min_size,
        "amp": bool(job.config.amp and m.spec.amp_safe),
    }


def file_list_hash(job: Job) -> str:
    """sha256 of the sorted ``key<TAB>ref<TAB>pred`` lines of every pair of the run."""
    lines = sorted(f"{p.key}\t{p.ref}\t{p.pred}" for p in job.pairing.pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _means(job: Job, rows: list[dict]) -> dict[str, Any]:
    means: dict[str, Any] = {}
    for col in job.columns:
        if col not in job.metrics and not any(col in c for c in job.components.values()):
            continue
        vals = []
        for r in rows:
            try:
                v = float(r.get(col))
            except (TypeError, ValueError):
                continue
            if math.isfinite(v):
                vals.append(v)
        means[col] = {"mean": sum(vals) / len(vals) if vals else None, "count": len(vals)}
    return means


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _set_metric(job: Job, result: SetResult) -> dict[str, Any]:
    m = job.set_metrics[result.name]
    options = {"weights": None, **job.config.options.get(result.name, {})}
    given = options["weights"]
    weights_file = None  # a weights file given by path: its own hash, the manifest's is moot
    if isinstance(given, str) and Path(given).expanduser().is_file():
        path = Path(given).expanduser()
        weights_file = {"path": str(path), "sha256": _file_sha256(path)}
    return {
        "options": _jsonable(options),
        "weights": _weights(m.weight_ids),
        "weights_file": weights_file,
        "features": 2048,
        "lower_better": m.lower_better,
        "score_range": _jsonable(list(m.score_range)),
        "method": "Inception features of every decodable pair of the run (resumed pairs "
        "included), recomputed at the end of the run; pairs that do not decode or whose sizes "
        "differ are excluded (listed)",
        **_jsonable(result.as_dict()),
    }


def build_card(job: Job, rows: list[dict], sets: Sequence[SetResult] = ()) -> dict[str, Any]:
    """The card of a finished run (``rows``: every row of the score file; ``sets``: the
    set-level metrics' results, e.g. ``fid``)."""
    cfg = job.config
    protocol = None
    means = _means(job, rows)
    if cfg.protocol:
        p = PROTOCOLS[cfg.protocol]
        protocol = {"name": cfg.protocol, "source": p.source}
        if p.missing:
            protocol["missing_metrics"] = list(p.missing)
            protocol["missing_reason"] = MISSING_REASON
        values = {k: v["mean"] for k, v in means.items()}
        values.update({r.name: r.value for r in sets})
        formula = formula_result(cfg.protocol, values)
        if formula is not None:
            protocol["combined_score"] = _jsonable(formula)
    failed = sum(1 for r in rows if r.get("error"))
    return {
        "schema": "semfidelity-evaluation-card/1",
        "semfidelity": __version__,
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "device": str(job.device),
        "dtype": "float32",
        "protocol": protocol,
        "reference": cfg.ref,
        "prediction": cfg.pred,
        "metric_order": list(cfg.metrics),
        "metrics": {name: _metric(job, name) for name in job.metrics},
        "set_metrics": {r.name: _set_metric(job, r) for r in sets},
        "checks": {
            "input": "decoded to RGB float32 in [0, 1] (16-bit, palette, RGBA, CMYK, EXIF "
            "orientation converted); NaN/Inf and values outside [0, 1] rejected",
            "size_mismatch": "prediction resized to the reference (bicubic, antialiased)"
            if cfg.resize_pred_to_ref
            else "error row",
            "min_size": {name: m.min_size for name, m in job.metrics.items()},
        },
        "pairs": len(job.pairing.pairs),
        "rows": len(rows),
        "rows_with_errors": failed,
        "unpaired_files": len(job.pairing.unmatched_ref) + len(job.pairing.unmatched_pred),
        "file_list_sha256": file_list_hash(job),
        "means": means,
    }


def write_card(out: str | Path, card: dict[str, Any]) -> Path:
    """Write ``card`` beside the score file ``out``; returns the card's path."""
    path = card_path(out)
    path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def protocol_lines(card: dict[str, Any]) -> list[str]:
    """Summary lines about the card's protocol: metrics it lacks, its combined score (or why
    there is none) with the available terms."""
    p = card.get("protocol") or {}
    lines = []
    if p.get("missing_metrics"):
        lines.append(
            f"protocol {p['name']}: not computed (not implemented): "
            f"{', '.join(p['missing_metrics'])}"
        )
    combined = p.get("combined_score")
    if combined:
        terms = ", ".join(
            f"{k} {'-' if v is None else f'{v:.4f}'}" for k, v in combined["terms"].items()
        )
        score = combined["score"]
        head = f"{score:.4f}" if score is not None else combined["reason"]
        lines.append(f"protocol {p['name']} score = {combined['formula']}: {head}")
        lines.append(f"  terms: {terms}")
    return lines


def table_lines(card: dict[str, Any], fmt: str, label: str) -> list[str]:
    """The per-metric means of ``card`` as one table row, ``fmt`` ``"md"`` (with a header) or
    ``"latex"`` (a ``%`` comment naming the columns, then ``label & v1 & v2 \\\\``)."""
    sets = card.get("set_metrics", {})
    info = {**card["metrics"], **sets}
    names = [n for n in card.get("metric_order", []) if n in info]
    names += [n for n in info if n not in names]
    arrows = ["↓" if info[n]["lower_better"] else "↑" for n in names]
    values = []
    for n in names:
        mean = sets[n]["value"] if n in sets else card["means"].get(n, {}).get("mean")
        values.append("-" if mean is None else f"{mean:.4f}")
    if fmt == "md":
        head = " | ".join(f"{n} {a}" for n, a in zip(names, arrows))
        return [
            f"| run | {head} |",
            "|---" * (len(names) + 1) + "|",
            f"| {label} | {' | '.join(values)} |",
        ]
    if fmt == "latex":
        head = " & ".join(f"{n} ({a})" for n, a in zip(names, arrows))
        return [f"% run & {head}", f"{label} & {' & '.join(values)} \\\\"]
    raise ValueError(f"fmt: expected 'md' or 'latex', got {fmt!r}")
