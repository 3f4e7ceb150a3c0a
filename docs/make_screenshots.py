"""Remake the screenshots of docs/report.md and docs/study.md (headless Chromium, as the tests).

python docs/make_screenshots.py        # writes docs/report*.png and docs/study*.png
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser import chromium  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from semfidelity.cli.score import main as score_main  # noqa: E402

DOCS = REPO / "docs"


def report_shots(work: Path, drv) -> None:
    html = work / "report.html"
    argv = ["examples/ref", "examples/pred", "--metrics", "psnr,ssim,edge_ssim,wavelet", "-q"]
    argv += ["--out", str(work / "s.csv"), "--maps", str(work / "maps"), "--report", str(html)]
    score_main(argv)
    drv.set_window_size(1400, 1100)
    drv.get(html.as_uri())
    drv.save_screenshot(str(DOCS / "report.png"))
    drv.execute_script("document.querySelector('#gallery-tabs button[data-metric=ssim]').click()")
    drv.execute_script("document.querySelector('#gallery-grid .card').click()")
    for _ in range(2):
        drv.find_element(By.ID, "zoom-in").click()
    drv.save_screenshot(str(DOCS / "report-zoom.png"))
    drv.execute_script("document.getElementById('modal-close').click()")
    drv.execute_script("document.getElementById('pairs').scrollIntoView()")
    drv.execute_script("document.querySelector('#table th[data-col=psnr]').click()")
    drv.save_screenshot(str(DOCS / "report-table.png"))


def study_shot(work: Path, drv) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "semfidelity.cli.study", "serve", "examples/ref", "examples/pred"]
    cmd += ["--db", str(work / "study.sqlite"), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        drv.set_window_size(1300, 850)
        drv.get(f"http://127.0.0.1:{port}/")
        drv.find_element(By.ID, "rater").send_keys("rater01")
        drv.find_element(By.ID, "start").click()
        drv.find_element(By.ID, "answer-no").click()
        drv.save_screenshot(str(DOCS / "study.png"))
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        drv = chromium(work)
        try:
            report_shots(work, drv)
            study_shot(work, drv)
        finally:
            drv.quit()


if __name__ == "__main__":
    main()
