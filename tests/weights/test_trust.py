"""Weights trust: what makes a file verified, package paths, re-hashing a swapped file."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import pytest
import torch
from safetensors.torch import save as safetensors_bytes

from semfidelity import weights
from semfidelity.cli.weights import main as weights_cli

DATA = safetensors_bytes({"w": torch.arange(6.0)})
OTHER = safetensors_bytes({"w": torch.arange(6.0) + 1})  # same size, other bytes


def _manifest(tmp_path, monkeypatch, **entry) -> None:
    base = {"filename": "w.safetensors", "license": "t", "source": "t", "description": "t"}
    path = tmp_path / f"m{len(list(tmp_path.glob('m*.json')))}.json"
    path.write_text(json.dumps({"weights": [{**base, **entry}]}), encoding="utf-8")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(path))


def test_a_symlink_to_a_blob_named_by_its_own_hash_is_unverified(
    tmp_path, monkeypatch, caplog, capsys
):
    fake = tmp_path / "evil" / "blobs" / hashlib.sha256(DATA).hexdigest()
    fake.parent.mkdir(parents=True)
    fake.write_bytes(DATA)
    link = tmp_path / "wdir" / "clipish" / "w.safetensors"
    link.parent.mkdir(parents=True)
    link.symlink_to(fake)
    _manifest(tmp_path, monkeypatch, id="clipish", repo_id="t/c", revision="a" * 40)
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path / "wdir"))
    with caplog.at_level(logging.WARNING, logger="semfidelity.weights"):
        assert weights.resolve("clipish") == link
    assert "no trusted sha256" in caplog.text and "unverified" in caplog.text
    assert weights_cli(["verify", "clipish"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("UNVERIFIED clipish") and not out.startswith("ok")


def test_download_records_the_hubs_hash_for_a_file_already_in_the_cache(
    tmp_path, monkeypatch, hub, capsys
):
    hub_file = hub.add_file("test/pre", "w.safetensors", DATA)
    _manifest(tmp_path, monkeypatch, id="pre", repo_id="test/pre", revision=hub_file.commit)
    cached = tmp_path / "hf_home" / "hub" / "models--test--pre"
    blob = cached / "blobs" / hashlib.sha256(DATA).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(DATA)  # as another tool (open_clip) would leave it: no semfidelity record
    snap = cached / "snapshots" / hub_file.commit / "w.safetensors"
    snap.parent.mkdir(parents=True)
    snap.symlink_to(os.path.relpath(blob, snap.parent))
    assert weights_cli(["verify", "pre"]) == 0
    assert capsys.readouterr().out.startswith("UNVERIFIED")
    assert weights_cli(["download", "pre"]) == 0
    assert len(hub.requests("GET", "/cdn/")) == 0  # a HEAD for the hash, no transfer
    capsys.readouterr()
    assert weights_cli(["verify", "pre"]) == 0
    assert capsys.readouterr().out.startswith("ok")


@pytest.mark.parametrize(
    "package_path", ["../../../../etc/passwd", "/etc/passwd", "assets/../../x", "a\\b"]
)
def test_bundled_package_paths_stay_inside_the_package(tmp_path, monkeypatch, package_path):
    _manifest(
        tmp_path, monkeypatch, id="escape", package_path=package_path, bundled=True, sha256="0" * 64
    )
    with pytest.raises(ValueError, match="package_path must be a relative path inside"):
        weights.resolve("escape")


def test_bundled_entries_need_a_sha256(tmp_path, monkeypatch):
    _manifest(tmp_path, monkeypatch, id="nohash", package_path="assets/x.pth", bundled=True)
    with pytest.raises(ValueError, match="bundled file needs its sha256"):
        weights.get_entry("nohash")


@pytest.mark.parametrize("how", ["rename", "in_place"])
def test_a_swapped_file_with_size_and_mtime_restored_is_hashed_again(tmp_path, monkeypatch, how):
    file = tmp_path / "wdir" / "pinned" / "w.safetensors"
    file.parent.mkdir(parents=True)
    file.write_bytes(DATA)
    _manifest(
        tmp_path,
        monkeypatch,
        id="pinned",
        repo_id="t/p",
        revision="b" * 40,
        sha256=hashlib.sha256(DATA).hexdigest(),
    )
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path / "wdir"))
    assert weights.load_state_dict("pinned")["w"].equal(torch.arange(6.0))
    before = file.stat()
    if how == "rename":
        swap = file.with_name("swap")
        swap.write_bytes(OTHER)
        os.replace(swap, file)
    else:
        time.sleep(0.05)  # past the file system's timestamp granularity: ctime must move
        with open(file, "r+b") as handle:
            handle.write(OTHER)
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (file.stat().st_size, file.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(weights.WeightIntegrityError, match="sha256 mismatch"):
        weights.load_state_dict("pinned")


def test_every_hub_entry_is_pinned_to_a_commit():
    hub_entries = [e for e in weights.list_entries() if e.kind == "hub"]
    assert hub_entries and all(e.pinned for e in hub_entries), [
        (e.id, e.revision) for e in hub_entries if not e.pinned
    ]
    vitl = weights.get_entry("clip-vit-l-14-openai")
    assert vitl.revision == "18d0535469bb561bf468d76c1d73aa35156c922b" and vitl.sha256
