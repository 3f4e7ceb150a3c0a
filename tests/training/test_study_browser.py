"""semfid-study in headless Chromium: a rater completes a session through the UI while the
server is killed (SIGKILL) and restarted in the middle; no vote is lost, none is doubled, and
the export round-trips through mos_from_votes (see tests/browser.py for the browser setup)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium, console_errors
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from semfidelity.cli.study import main as study_main
from semfidelity.training import mos_from_votes
from semfidelity.training.study_app import StudyStore

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, *folders: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "semfidelity.cli.study", "serve", *folders, "--db", str(db)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()  # printed once the socket listens
    assert "raters open http://127.0.0.1:" in line, line
    return proc


def answer_for(store: StudyStore, item: int) -> str:
    it = store.items()[item]
    return it.trap or ("yes" if it.a.endswith("butterfly.png") else "no")


def vote_once(drv, store: StudyStore) -> int:
    item = int(drv.find_element(By.NAME, "item").get_attribute("value"))
    button = drv.find_element(By.ID, f"answer-{answer_for(store, item)}")
    button.click()
    WebDriverWait(drv, 20).until(staleness_of(button))  # the next page replaced this one
    return item


@pytest.fixture()
def driver(tmp_path):
    drv = chromium(tmp_path)
    yield drv
    drv.quit()


def test_session_survives_a_server_kill_and_exports(tmp_path, driver):
    db, port = tmp_path / "study.sqlite", free_port()
    proc = start_server(db, port, "examples/ref", "examples/pred")
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        driver.find_element(By.ID, "rater").send_keys("ann")
        start = driver.find_element(By.ID, "start")
        start.click()
        WebDriverWait(driver, 20).until(staleness_of(start))
        store = StudyStore(db)
        total = len(store.items())
        assert driver.find_element(By.ID, "progress-text").text == f"0 of {total} answered"
        imgs = "return [...document.images].map(i => i.naturalWidth)"
        assert all(w > 0 for w in driver.execute_script(imgs))
        done = [vote_once(driver, store), vote_once(driver, store)]
        assert driver.find_element(By.ID, "progress-text").text == f"2 of {total} answered"
        os.kill(proc.pid, signal.SIGKILL)  # crash mid-session
        proc.wait(10)
        proc = start_server(db, port)  # reopen the same study
        driver.refresh()
        assert driver.find_element(By.ID, "progress-text").text == f"2 of {total} answered"
        while not driver.find_elements(By.ID, "done"):
            done.append(vote_once(driver, store))
        # the last form posted again from the rater's browser (a resubmit): must not count
        repost = (
            "const [item, answer, done] = arguments; fetch('/vote', {method: 'POST', body: new "
            "URLSearchParams({item: item, answer: answer})}).then(r => done(r.status))"
        )
        flipped = "no" if answer_for(store, done[-1]) == "yes" else "yes"
        assert driver.execute_async_script(repost, done[-1], flipped) == 200  # redirected to "done"
        driver.refresh()
        assert driver.find_elements(By.ID, "done")
        driver.save_screenshot(str(tmp_path / "done.png"))
        assert console_errors(driver) == []
    finally:
        proc.kill()
        proc.wait(10)
    assert sorted(done) == sorted(store.items())  # every item once, in the rater's order
    assert done == store.order("ann") and len(store.votes()) == total
    assert [v[2] for v in store.votes()] == [answer_for(store, i) for i in done]
    out = tmp_path / "export" / "votes.csv"
    assert study_main(["export", "--db", str(db), "--out", str(out)]) == 0
    s = mos_from_votes(out, out.parent / "pairs.csv", min_votes=1)
    assert s.raters_kept == ("ann",) and s.trap_accuracy == {"ann": 1.0} and s.n_pairs == 3
    labels = (out.parent / "pairs.csv").read_text().splitlines()[1:]
    assert sorted(ln.split(",")[1].rsplit("/", 1)[1] + ln.split(",")[2] for ln in labels) == [
        "bird.png0", "butterfly.png1", "head.png0"]  # fmt: skip
