"""Votes out of the study: the votes CSV of :mod:`semfidelity.training.study`, and 2AFC
preferences in the form ``fit_tws_weights(components, human, kind="pairwise")`` takes.

``yesno`` studies export ``rater,reference,distorted,semantic_error,trap`` (the answer to
"does it contain a semantic error?", so the column declares the library's orientation: ``yes``
= semantic error; read by ``mos_from_votes``, whose pair CSV ``semfid-train`` and
``semfid-eval`` read); ``2afc`` studies export
``rater,reference,a,b,choice,trap``. Paths are written relative to the CSV's folder.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from semfidelity.training.labels import ERROR_COLUMN
from semfidelity.training.study_app.store import StudyStore

__all__ = ["export_votes", "preferences_from_votes"]


def _rel(path: str, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return path


def export_votes(store: StudyStore, out_csv: str | os.PathLike) -> int:
    """Write every vote of ``store`` to ``out_csv`` (atomically); returns the number of rows."""
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = out.resolve().parent
    items = store.items()
    yesno = store.question == "yesno"
    head = ["rater", "reference", "distorted", ERROR_COLUMN, "trap"]
    if not yesno:
        head = ["rater", "reference", "a", "b", "choice", "trap"]
    tmp = out.with_name(out.name + ".tmp")
    votes = store.votes()
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for rater, item, answer, _, _ in votes:
            it = items[item]
            paths = [it.reference, it.a] + ([] if yesno else [it.b])
            w.writerow([rater, *(_rel(p, base) for p in paths), answer, it.trap or ""])
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return len(votes)


def preferences_from_votes(
    votes_csv: str | os.PathLike, *, min_trap_accuracy: float = 1.0
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """2AFC votes -> ``(images, prefs)`` for ``fit_tws_weights(..., kind="pairwise")``.

    ``images`` lists ``(reference, candidate)`` pairs (score each one to get the components);
    ``prefs`` is ``(M, 3)``: rows ``(i, j, share of kept raters preferring images[i])``, one per
    compared pair. Raters below ``min_trap_accuracy`` on the traps are dropped; traps are never
    preferences.
    """
    with open(votes_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"rater", "reference", "a", "b", "choice"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{votes_csv}: missing column(s) {sorted(missing)}; expected "
                "rater,reference,a,b,choice[,trap] (a 2afc study export)"
            )
        rows = list(reader)
    traps: dict[str, list[bool]] = defaultdict(list)
    for i, r in enumerate(rows, start=2):
        if r["choice"] not in ("a", "b"):
            raise ValueError(f"{votes_csv}: line {i}: choice must be a or b, got {r['choice']!r}")
        if r.get("trap"):
            traps[r["rater"]].append(r["choice"] == r["trap"])
    dropped = {k for k, v in traps.items() if sum(v) / len(v) < min_trap_accuracy}
    index: dict[tuple[str, str], int] = {}
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r.get("trap") or r["rater"] in dropped:
            continue
        i = index.setdefault((r["reference"], r["a"]), len(index))
        j = index.setdefault((r["reference"], r["b"]), len(index))
        c = counts[(i, j)]
        c[0 if r["choice"] == "a" else 1] += 1
    prefs = np.array([(i, j, a / (a + b)) for (i, j), (a, b) in counts.items()], dtype=float)
    return list(index), prefs.reshape(-1, 3)
