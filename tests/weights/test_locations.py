"""Where weight files may live: environment read at call time, Hub cache, SEMFID_WEIGHTS_DIR."""

from __future__ import annotations

import pytest
from weights_testkit import (
    hub_entry,
    populate_hf_cache,
    sha,
    tiny_bytes,
    tiny_state_dict,
    write_manifest,
)

from semfidelity import weights
from semfidelity.weights import integrity


def test_hf_endpoint_and_hf_home_are_read_at_call_time(tmp_path, monkeypatch, hub):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", tiny_bytes()))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    path = weights.resolve("tiny")
    assert (tmp_path / "elsewhere" / "hub") in path.parents
    assert hub.requests("HEAD", "/test/tiny/resolve/")


@pytest.mark.parametrize("pin", [True, False])
def test_prepopulated_hf_cache_resolves_offline(tmp_path, monkeypatch, pin):
    data, commit = tiny_bytes(2), "c0ffee" * 6 + "abcd"
    link = populate_hf_cache(
        tmp_path / "hf_home" / "hub", "test/cached", commit, "w.safetensors", data
    )
    revision = commit if pin else "main"
    write_manifest(
        tmp_path, monkeypatch, {"id": "cached", "repo_id": "test/cached", "revision": revision}
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert weights.resolve("cached") == link
    assert weights.load_state_dict("cached").keys() == tiny_state_dict().keys()


def test_weights_dir_comes_before_the_hub_cache_and_needs_no_network(tmp_path, monkeypatch):
    data = tiny_bytes(6)
    wdir = tmp_path / "wdir"
    (wdir / "local").mkdir(parents=True)
    (wdir / "local" / "w.safetensors").write_bytes(data)
    write_manifest(
        tmp_path,
        monkeypatch,
        {"id": "local", "repo_id": "t/l", "revision": "a" * 40, "sha256": sha(data)},
    )
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(wdir))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert weights.resolve("local") == wdir / "local" / "w.safetensors"
    (wdir / "local" / "w.safetensors").write_bytes(tiny_bytes(7))
    integrity.forget_verified()
    with pytest.raises(weights.WeightIntegrityError, match=sha(data)):
        weights.resolve("local")
