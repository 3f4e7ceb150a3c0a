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
