"""The loopback Hub of tests/hubserver.py speaks enough of the protocol for huggingface_hub."""

from __future__ import annotations

import json
import os

import pytest
from hubserver import git_oid
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download

from semfidelity import weights
from semfidelity.weights import integrity


def test_lfs_and_regular_file_metadata_match_the_real_hub(hub):
    lfs = hub.add_file("org/m", "w.bin", b"\x00" * 100)
    regular = hub.add_file("org/m", "config.json", b"{}", lfs=False)
    meta = get_hf_file_metadata(hub.url("org/m", "w.bin"))
    assert (meta.etag, meta.size, meta.commit_hash) == (
        lfs.sha256,
        100,
        regular.commit,
    )  # main moved
    assert meta.location.startswith(hub.cdn_endpoint)  # redirect to another origin, like the CDN
    assert get_hf_file_metadata(hub.url("org/m", "w.bin", lfs.commit)).commit_hash == lfs.commit
    meta = get_hf_file_metadata(hub.url("org/m", "config.json"))
    assert (meta.etag, meta.size, meta.commit_hash) == (git_oid(b"{}"), 2, regular.commit)


def test_upload_folder_round_trip_and_resolve_through_semfidelity(hub, tmp_path, monkeypatch):
    api = HfApi(endpoint=hub.endpoint, token="hf_test")
    assert api.create_repo("me/heads") == f"{hub.endpoint}/me/heads"
    api.create_repo("me/heads", exist_ok=True)  # 409 is accepted
    folder = tmp_path / "folder"
    folder.mkdir()
    payload = os.urandom(3000)
    (folder / "heads.safetensors").write_bytes(payload)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# heads\n")
    commit = api.upload_folder(repo_id="me/heads", folder_path=folder, commit_message="add heads")
    path = hf_hub_download(
        "me/heads", "heads.safetensors", cache_dir=tmp_path / "c", endpoint=hub.endpoint
    )
    assert open(path, "rb").read() == payload
    assert commit.oid == hub.repos["me/heads"].refs["main"]

    # uploaded files are regular git files: semfidelity checks them against the git object id
    entry = {
        "id": "heads",
        "repo_id": "me/heads",
        "filename": "heads.safetensors",
        "revision": commit.oid,
        "license": "mit",
        "source": "test",
        "description": "test",
    }
    (tmp_path / "m.json").write_text(json.dumps({"weights": [entry]}))
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(tmp_path / "m.json"))
    assert weights.resolve("heads").read_bytes() == payload
    record = integrity.read_records(weights.get_entry("heads"))[commit.oid]
    assert record["origin"] == "Hub-reported git object id"


def test_regular_file_with_tampered_bytes_is_refused(hub, tmp_path, monkeypatch):
    good = b"a" * 64
    hub_file = hub.add_file("org/m", "w.safetensors", good, lfs=False, served=b"b" * 64)
    entry = {
        "id": "plain",
        "repo_id": "org/m",
        "filename": "w.safetensors",
        "revision": hub_file.commit,
        "license": "test",
        "source": "test",
        "description": "test",
    }
    (tmp_path / "m.json").write_text(json.dumps({"weights": [entry]}))
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(tmp_path / "m.json"))
    with pytest.raises(weights.WeightIntegrityError, match="git object id"):
        weights.resolve("plain")


def test_unsupported_lfs_commit_is_rejected(hub):
    hub.add_file("org/m", "a", b"x")
    status, body = hub._commit("org/m", "main", [{"key": "lfsFile", "value": {"path": "big"}}])
    assert status == 400 and "no LFS" in body["error"]
