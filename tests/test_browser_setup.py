"""tests/browser.py: without a browser the browser tests skip on a user's machine, and fail
under CI=true (CI must never go green without having run them)."""

from __future__ import annotations

import pytest
from browser import chromium


def test_missing_browser_skips_locally_and_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMFID_CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        chromium(tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: the browser tests must run"):
        chromium(tmp_path)
