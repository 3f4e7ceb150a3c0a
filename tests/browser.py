"""Headless Chromium for the browser tests (Selenium with the system's chromedriver).

Debian/Ubuntu: ``apt-get install chromium chromium-driver`` (``.ci/run`` does it). Elsewhere set
``SEMFID_CHROMIUM`` and ``SEMFID_CHROMEDRIVER`` to the browser and a matching chromedriver.
Without them the browser tests skip with that message, except under ``CI=true``, where a
missing browser fails the run: CI must never pass without having run them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def _find(env: str, names: tuple[str, ...]) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.path.isfile(os.environ[env]) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium(tmp_path: Path):
    """A Selenium Chrome driver on a fresh profile (call ``.quit()``), or skip/fail as above."""
    browser = _find("SEMFID_CHROMIUM", ("chromium", "chromium-browser"))
    driver = _find("SEMFID_CHROMEDRIVER", ("chromedriver",))
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        browser, driver, missing = None, None, f"selenium ({exc})"
    else:
        missing = ", ".join(
            n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p
        )
    if missing:
        msg = (
            f"browser tests need {missing}: apt-get install chromium chromium-driver, or set "
            "SEMFID_CHROMIUM and SEMFID_CHROMEDRIVER"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg + " (CI=true: the browser tests must run)")
        pytest.skip(msg)
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=opts, service=Service(executable_path=driver))


def console_errors(drv) -> list[str]:
    """Console messages of level SEVERE since the last call (JS errors, failed loads)."""
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]
