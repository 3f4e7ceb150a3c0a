"""semfid-score's output problems: refused before any scoring, or ended with a documented code.

Tests run as root, where a chmod'ed folder stays writable: a read-only folder is simulated by
patching ``os.access`` / ``tempfile.mkstemp``; a parent that is a file, a folder as ``--out`` and
``/dev/full`` are real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import toy_metrics
from imgs import write_pairs

from semfidelity.cli.score import main

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{Path(__file__).parent}"}


@pytest.fixture(autouse=True, scope="module")
def _toys():
    with toy_metrics.registered():
        yield


@pytest.fixture
def no_scoring(monkeypatch):
    """Fail the test if any pair gets scored (the checks must come first)."""

    def boom(*a, **k):
        raise AssertionError("scoring started before the output was checked")

    monkeypatch.setattr("semfidelity.scoring.run.score_all", boom)


def _score(tmp_path, out, capsys) -> tuple[int, str]:
    ref, pred = write_pairs(tmp_path, n=2)
    code = main([str(ref), str(pred), "--metrics", "psnr", "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("below", ["out.csv", "sub/out.csv"])
def test_a_parent_that_is_a_file_is_a_usage_error(tmp_path, capsys, no_scoring, below):
    (tmp_path / "afile").write_text("x")
    code, err = _score(tmp_path, tmp_path / "afile" / below, capsys)
    assert code == 2
    assert "is a file, not a folder" in err and "Traceback" not in err


def test_a_folder_as_out_is_named_a_folder(tmp_path, capsys, no_scoring):
    (tmp_path / "d.csv").mkdir()
    code, err = _score(tmp_path, tmp_path / "d.csv", capsys)
    assert code == 2
    assert "is a folder" in err and "--resume" not in err


def test_a_read_only_folder_is_refused_up_front(tmp_path, capsys, no_scoring, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: Path(p) != folder and real(p, mode, **k))
    code, err = _score(tmp_path, folder / "out.csv", capsys)
    assert code == 2 and "not writable" in err
    code, err = _score(tmp_path, folder / "new" / "out.csv", capsys)  # folder to create
    assert code == 2 and "cannot create the folder" in err


def test_no_temporary_file_beside_a_writable_out_is_refused(
    tmp_path, capsys, no_scoring, monkeypatch
):
    """A writable out.csv in a folder where no file can be created (the final sorted rewrite
    needs ``out.csv.tmp``) used to fail only after scoring, leaving an unsorted file."""
    out = tmp_path / "out.csv"
    out.write_text("")  # exists, empty, writable

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    code, err = _score(tmp_path, out, capsys)
    assert code == 2 and "cannot create a file in" in err and "Permission denied" in err


def test_a_full_device_is_exit_3_without_traceback(tmp_path, capsys):
    if not os.path.exists("/dev/full"):
        pytest.fail("this test needs Linux's /dev/full")
    ref, pred = write_pairs(tmp_path, n=2)
    (tmp_path / "full.csv").symlink_to("/dev/full")
    cmd = [str(ref), str(pred), "--metrics", "psnr"]
    assert main([*cmd, "--out", str(tmp_path / "full.csv")]) == 3
    assert "No space left on device" in capsys.readouterr().err
    with open("/dev/full", "w") as full:  # rows to the process's stdout, which is full
        proc = subprocess.run(
            [sys.executable, "-m", "semfidelity.cli.score", *cmd],
            env=ENV,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert proc.returncode == 3, proc.stderr
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr  # the exit-time flush of stdout


def test_a_closed_stdout_ends_quietly_and_keeps_the_card(tmp_path):
    ref, pred = write_pairs(tmp_path, n=4)
    out = tmp_path / "s.csv"
    cmd = [sys.executable, "-m", "semfidelity.cli.score", str(ref), str(pred), "--metrics", "psnr"]
    procs = []
    for args in ([], ["--out", str(out)]):  # rows, then the summary, to a closed stdout
        r, w = os.pipe()
        os.close(r)  # the reader is gone before the first line: every stdout write is EPIPE
        procs.append(subprocess.Popen([*cmd, *args], env=ENV, stdout=w, stderr=subprocess.PIPE))
        os.close(w)
    for proc in procs:
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 141, err
        assert err == b""
    assert len(out.read_text().splitlines()) == 5  # rows and card written before the summary
    assert Path(f"{out}.card.json").exists()


def test_ctrl_c_is_exit_130_and_resume_finishes_the_run(tmp_path, capsys):
    ref, pred = write_pairs(tmp_path, n=10, sizes=((8, 8),))
    full, out = tmp_path / "full.jsonl", tmp_path / "s.jsonl"
    base = [str(ref), str(pred), "--metrics", "toy_slow,psnr", "--batch-size", "1"]
    assert main([*base, "--out", str(full)]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "semfidelity.cli.score", *base, "--out", str(out)]
        + ["--plugin", "toy_plugin"],
        env={**ENV, "SEMFID_TOY_SLEEP": "0.3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and out.read_text().count("\n") >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        f"semfid-score: interrupted; rows written to {str(out)!r} are kept: rerun with --resume"
    ]
    assert 2 <= out.read_text().count("\n") < 10
    assert main([*base, "--out", str(out), "--resume"]) == 0
    assert out.read_bytes() == full.read_bytes()
