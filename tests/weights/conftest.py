"""Fixtures for the semfidelity.weights tests: everything runs against a loopback Hub
(tests/hubserver.py) or files made here, never the internet."""

from __future__ import annotations

import types

import pytest
from hubserver import HubServer, isolate_hub_env

from semfidelity.weights import integrity


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    isolate_hub_env(monkeypatch, tmp_path)
    integrity.forget_verified()
    yield
    integrity.forget_verified()


@pytest.fixture
def hub(monkeypatch):
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def no_retry_sleep(monkeypatch):
    """huggingface_hub sleeps 1 s between resume attempts; keep failure tests fast."""
    from huggingface_hub import file_download

    monkeypatch.setattr(file_download, "time", types.SimpleNamespace(sleep=lambda _s: None))
