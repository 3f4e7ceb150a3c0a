"""Score files: crash repair, round trips, atomic sorted rewrite."""

from __future__ import annotations

import pytest

from semfidelity.scoring.scorefile import (
    OutputError,
    append_rows,
    file_format,
    header_line,
    read_rows,
    write_sorted,
)

COLS = ["key", "psnr", "error"]
ROWS = [
    {"key": "b", "psnr": 1 / 3, "error": None},
    {"key": "a, x", "psnr": float("nan"), "error": "e"},
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_round_trip_repair_and_sorted_rewrite(tmp_path, fmt):
    path = tmp_path / f"s.{fmt}"
    with open(path, "w", newline="") as fh:
        fh.write(header_line(COLS, fmt))
        append_rows(fh, ROWS, COLS, fmt)
    intact = path.read_bytes()
    with open(path, "a") as fh:
        fh.write('"c",0.5')  # a line cut by SIGKILL
    columns, rows = read_rows(path, fmt)
    assert path.read_bytes() == intact and columns == COLS
    assert [r["key"] for r in rows] == ["b", "a, x"]
    first = rows[0]["psnr"]
    assert float(first) == 1 / 3  # repr round-trips exactly
    assert rows[1]["psnr"] in ("", None)  # NaN written as missing
    write_sorted(path, rows, COLS, fmt)
    assert [r["key"] for r in read_rows(path, fmt)[1]] == ["a, x", "b"]
    assert not list(tmp_path.glob("*.tmp"))


def test_foreign_files_and_formats(tmp_path):
    assert file_format("x.CSV") == "csv" and file_format("x.ndjson") == "jsonl"
    with pytest.raises(OutputError, match="got 'x.parquet'"):
        file_format("x.parquet")
    bad = tmp_path / "b.csv"
    bad.write_text("name,value\nx,1\n")
    with pytest.raises(OutputError, match="no 'key' column"):
        read_rows(bad, "csv")
    only_partial = tmp_path / "p.csv"
    only_partial.write_text("key,ps")
    assert read_rows(only_partial, "csv") == (None, []) and only_partial.read_text() == ""


HOSTILE = [
    "a\rb",
    "line\u2028sep",
    "next\x85line",
    "=HYPERLINK(1)",
    "+1",
    "-x",
    "@sum",
    "'q",
    "-0.5",
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_any_name_round_trips_and_formulas_are_neutralised(tmp_path, fmt):
    path = tmp_path / f"s.{fmt}"
    rows = [{"key": k, "psnr": -1.5, "error": k} for k in HOSTILE]
    write_sorted(path, rows, COLS, fmt)
    columns, back = read_rows(path, fmt)
    assert columns == COLS and sorted(r["key"] for r in back) == sorted(HOSTILE)
    assert all(r["error"] == r["key"] for r in back)
    write_sorted(path, back, COLS, fmt)  # a resumed run rewrites rows it read back
    assert sorted(r["key"] for r in read_rows(path, fmt)[1]) == sorted(HOSTILE)
    if fmt == "csv":
        text = path.read_text(encoding="utf-8")
        assert "'=HYPERLINK(1)" in text and "'@sum" in text and "''q" in text
        assert ",-1.5," in text and "'-0.5" not in text  # numbers are not text
        assert float(read_rows(path, fmt)[1][0]["psnr"]) == -1.5
