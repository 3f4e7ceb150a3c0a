"""sha256 checks: manifest, Hub-reported and recorded hashes, sizes, sidecars."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from weights_testkit import (
    cache_files,
    hub_entry,
    populate_hf_cache,
    sha,
    tiny_bytes,
    write_manifest,
)

from semfidelity import weights
from semfidelity.weights import integrity


def test_prepopulated_cache_with_corrupted_blob_is_refused(tmp_path, monkeypatch):
    data, commit = tiny_bytes(2), "ab" * 20
    link = populate_hf_cache(
        tmp_path / "hf_home" / "hub", "test/cached", commit, "w.safetensors", data
    )
    Path(os.path.realpath(link)).write_bytes(tiny_bytes(3))
    write_manifest(
        tmp_path, monkeypatch, {"id": "cached", "repo_id": "test/cached", "revision": commit}
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(weights.WeightIntegrityError) as info:
        weights.load_state_dict("cached")
    assert sha(data) in str(info.value) and sha(tiny_bytes(3)) in str(info.value)
    assert "LFS sha256" in str(info.value)


def test_served_bytes_not_matching_manifest_sha256_are_refused_and_deleted(
    tmp_path, monkeypatch, hub
):
    good, evil = tiny_bytes(0), tiny_bytes(9)
    entry = hub_entry(
        hub, "tiny", evil, sha256=sha(good)
    )  # the Hub is consistent, but not the file
    write_manifest(tmp_path, monkeypatch, entry)
    with pytest.raises(weights.WeightIntegrityError) as info:
        weights.load_state_dict("tiny")
    assert sha(good) in str(info.value) and sha(evil) in str(info.value)
    assert cache_files(tmp_path) == []
    assert not (tmp_path / "hf_home" / "semfidelity" / "sha256" / "tiny.json").exists()


def test_served_bytes_not_matching_the_hub_reported_sha256_are_refused(tmp_path, monkeypatch, hub):
    announced, served = tiny_bytes(0), tiny_bytes(9)
    assert len(announced) == len(served)
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", announced, served=served))
    for _ in range(2):  # nothing bad stays behind to be picked up by a second attempt
        with pytest.raises(weights.WeightIntegrityError, match="reported by the Hub") as info:
            weights.resolve("tiny")
        assert sha(announced) in str(info.value) and sha(served) in str(info.value)
        assert cache_files(tmp_path) == []


def test_recorded_hash_catches_a_later_change_of_the_cached_file(tmp_path, monkeypatch, hub):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", tiny_bytes()))
    path = weights.resolve("tiny")
    blob = Path(os.path.realpath(path))
    blob.chmod(0o644)
    blob.write_bytes(tiny_bytes(5))
    integrity.forget_verified()
    with pytest.raises(weights.WeightIntegrityError, match="recorded on") as info:
        weights.resolve("tiny")
    assert sha(tiny_bytes()) in str(info.value) and sha(tiny_bytes(5)) in str(info.value)


def test_size_mismatch_is_refused_before_loading(tmp_path, monkeypatch):
    file = tmp_path / "w.safetensors"
    file.write_bytes(tiny_bytes())
    write_manifest(tmp_path, monkeypatch, {"id": "sized", "url": "http://127.0.0.1:9/w", "size": 7})
    with pytest.raises(weights.WeightIntegrityError, match="expected 7"):
        weights.load_state_dict("sized", path=file)


def test_weights_dir_file_without_known_hash_uses_sidecar_or_warns(tmp_path, monkeypatch, caplog):
    wdir = tmp_path / "wdir"
    file = wdir / "local" / "w.safetensors"
    file.parent.mkdir(parents=True)
    file.write_bytes(tiny_bytes(6))
    write_manifest(tmp_path, monkeypatch, {"id": "local", "repo_id": "t/l", "revision": "main"})
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(wdir))
    with caplog.at_level(logging.WARNING, logger="semfidelity.weights"):
        assert weights.resolve("local") == file
    assert "no reference sha256" in caplog.text
    integrity.write_sidecar(file, "1" * 64)
    integrity.forget_verified()
    with pytest.raises(weights.WeightIntegrityError, match="sidecar"):
        weights.resolve("local")
