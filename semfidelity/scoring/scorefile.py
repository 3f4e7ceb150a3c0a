"""Score files: per-image rows as CSV or JSON Lines, appended crash-safely and read back to resume.

* The format follows the extension: ``.csv``, or ``.jsonl`` / ``.ndjson``.
* Rows are appended and flushed per batch; a row is complete once its line ends with ``\\n``.
* :func:`read_rows` repairs a file cut off mid-line (a run killed with SIGKILL) by truncating it
  after its last complete line, so appending continues from a clean state.
* :func:`write_sorted` rewrites rows sorted by key through a temporary file and ``os.replace``,
  so the file is never seen half-written.

CSV values are kept as the strings that were written (empty = missing); JSONL values keep their
JSON types (``null`` = missing). Floats are written with ``repr`` (shortest round-trip form).

Any name a file system allows round-trips: a CSV row with a ``\\r`` in a cell is written fully
quoted, files are read without newline translation, and JSONL is split on ``\\n`` only (not on
U+2028, U+0085, ... as ``str.splitlines`` would). CSV text cells (not numbers) starting with
``=``, ``+``, ``-``, ``@``, a tab or ``\\r`` (a spreadsheet formula) get a leading ``'``, as do
cells that already start with ``'``; reading removes exactly one leading ``'`` (numbers never
start with one), so every value round-trips.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["file_format", "read_rows", "append_rows", "write_sorted", "format_row", "OutputError"]

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class OutputError(ValueError):
    """The output file cannot be used (wrong extension, foreign content, other columns)."""


def file_format(path: str | os.PathLike) -> str:
    """``"csv"`` or ``"jsonl"`` from the extension; anything else raises :class:`OutputError`."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise OutputError(
            f"--out: expected a file ending in .csv, .jsonl or .ndjson, got {str(path)!r}"
        )
    return FORMATS[ext]


def _repair_tail(path: Path) -> int:
    """Truncate ``path`` after its last newline; returns the number of bytes dropped."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        chunk = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            if start + len(data) == size and data.endswith(b"\n"):
                return 0
            nl = data.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                fh.truncate(keep)
                return size - keep
            pos = start
        fh.truncate(0)
        return size


def read_rows(path: str | os.PathLike, fmt: str) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """Read a score file; returns ``(columns, rows)`` (``columns`` is ``None`` for an empty file).

    A last line without its newline (interrupted write) is removed from the file first.

    Raises:
        OutputError: a complete line cannot be parsed (not a score file).
    """
    p = Path(path)
    if not p.exists():
        return None, []
    dropped = _repair_tail(p)
    if dropped:
        logger.warning(
            "%s: dropped an incomplete last line (%d bytes) left by an interrupted run", p, dropped
        )
    with open(p, encoding="utf-8", newline="") as fh:  # no newline translation: "\r" is data
        text = fh.read()
    if not text:
        return None, []
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        columns = next(reader)
        if "key" not in columns:
            raise OutputError(f"{str(p)!r} has no 'key' column: not a semfid-score output")
        rows = []
        for n, values in enumerate(reader, start=2):
            if len(values) != len(columns):
                raise OutputError(
                    f"{str(p)!r} line {n}: expected {len(columns)} fields, got {len(values)}"
                )
            rows.append(dict(zip(columns, (_csv_unescape(v) for v in values))))
        return columns, rows
    rows = []
    for n, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise OutputError(f"{str(p)!r} line {n} is not valid JSON ({exc})") from None
        if not isinstance(row, dict) or "key" not in row:
            raise OutputError(f"{str(p)!r} line {n}: not a semfid-score row (no 'key')")
        rows.append(row)
    return (list(rows[0]) if rows else None), rows


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _is_number(v):
        return "'" + v  # a spreadsheet shows it as text, never runs it as a formula
    return str(v)


def _is_number(v: str) -> bool:
    """A score read back from CSV (``"-0.5"``) stays as written; only text is escaped."""
    try:
        float(v)
    except ValueError:
        return False
    return True


def _csv_unescape(v: str) -> str:
    return v[1:] if v.startswith("'") else v


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    # Minimal quoting does not quote "\r" (only the "\n" line terminator): quote that row fully.
    quoting = csv.QUOTE_ALL if any("\r" in v for v in values) else csv.QUOTE_MINIMAL
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerow(values)
    return buf.getvalue()


def format_row(row: dict[str, Any], columns: Sequence[str], fmt: str) -> str:
    """One row as a complete line (with its newline) in ``fmt``; non-finite floats -> missing."""
    clean = {
        c: (None if isinstance(row.get(c), float) and not math.isfinite(row[c]) else row.get(c))
        for c in columns
    }
    if fmt == "jsonl":
        return json.dumps(clean, ensure_ascii=False) + "\n"
    return _csv_line([_csv_value(clean[c]) for c in columns])


def header_line(columns: Sequence[str], fmt: str) -> str:
    """The CSV header line; JSONL has none (``""``)."""
    if fmt == "jsonl":
        return ""
    return _csv_line(list(columns))


def append_rows(
    fh: TextIO, rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str
) -> None:
    """Append complete lines in one write and flush them to the OS."""
    fh.write("".join(format_row(r, columns, fmt) for r in rows))
    fh.flush()


def write_sorted(
    path: str | os.PathLike, rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str
) -> None:
    """Atomically replace ``path`` with ``rows`` sorted by ``key``."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    ordered = sorted(rows, key=lambda r: str(r["key"]))
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(header_line(columns, fmt))
        fh.write("".join(format_row(r, columns, fmt) for r in ordered))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)
