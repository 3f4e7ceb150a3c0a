"""Downloads from the loopback Hub and URL-only entries: happy paths and transport failures."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
import torch
from hubserver import HubServer
from weights_testkit import (
    cache_files,
    hub_entry,
    sha,
    tiny_bytes,
    tiny_state_dict,
    write_manifest,
)

from semfidelity import weights
from semfidelity.weights import integrity


def test_first_download_then_load_with_server_stopped(tmp_path, monkeypatch):
    data = tiny_bytes()
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        write_manifest(tmp_path, monkeypatch, hub_entry(server, "tiny", data))
        path = weights.resolve("tiny")
        gets = server.requests("GET")
    assert len(gets) == 1 and gets[0].startswith("/cdn/")
    assert path.read_bytes() == data and (tmp_path / "hf_home" / "hub") in path.parents
    record = json.loads((tmp_path / "hf_home" / "semfidelity" / "sha256" / "tiny.json").read_text())
    assert [r["sha256"] for r in record.values()] == [sha(data)]
    assert "Hub-reported" in next(iter(record.values()))["origin"]

    integrity.forget_verified()  # a new process: served from the cache, no server needed
    again = weights.load_state_dict("tiny")
    assert weights.resolve("tiny") == path
    assert all(torch.equal(again[k], v) for k, v in tiny_state_dict().items())


def test_unpinned_revision_downloads_and_records_per_commit(tmp_path, monkeypatch, hub):
    data = tiny_bytes(1)
    entry = hub_entry(hub, "tiny-main", data, pin=False)
    write_manifest(tmp_path, monkeypatch, entry)
    path = weights.resolve("tiny-main")
    commit = path.parent.name
    assert (
        tmp_path / "hf_home" / "hub" / "models--test--tiny-main" / "refs" / "main"
    ).read_text() == commit
    records = integrity.read_records(weights.get_entry("tiny-main"))
    assert list(records) == [commit] and records[commit]["sha256"] == sha(data)


def test_connection_dropped_mid_file_leaves_no_file(tmp_path, monkeypatch, hub, no_retry_sleep):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", os.urandom(200_000), fault="drop"))
    with pytest.raises(weights.WeightDownloadError, match="connection was lost") as info:
        weights.resolve("tiny")
    assert "Nothing was kept" in str(info.value) and "semfid-weights download tiny" in str(
        info.value
    )
    assert cache_files(tmp_path) == []
    assert len(hub.requests("GET", "/cdn/")) > 1  # huggingface_hub tried to resume first


def test_dropped_connection_is_retried_to_a_good_file(tmp_path, monkeypatch, hub, no_retry_sleep):
    data = os.urandom(200_000)
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", data, fault="drop_once"))
    assert weights.resolve("tiny").read_bytes() == data
    assert len(hub.requests("GET", "/cdn/")) == 2
    assert [p.name for p in cache_files(tmp_path) if p.parent.name == "blobs"] == [sha(data)]


def test_truncated_download_leaves_no_file(tmp_path, monkeypatch, hub):
    write_manifest(
        tmp_path, monkeypatch, hub_entry(hub, "tiny", os.urandom(50_000), fault="truncate")
    )
    with pytest.raises(weights.WeightDownloadError, match="truncated"):
        weights.resolve("tiny")
    assert cache_files(tmp_path) == []


def test_timeout_leaves_no_file(tmp_path, monkeypatch, hub, no_retry_sleep):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 0.2)
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", os.urandom(10_000), fault="stall"))
    with pytest.raises(weights.WeightDownloadError, match="did not answer in time"):
        weights.resolve("tiny")
    assert cache_files(tmp_path) == []


@pytest.mark.parametrize("missing", ["repo", "revision", "file"])
def test_404_gives_a_clear_error(tmp_path, monkeypatch, hub, missing):
    entry = hub_entry(hub, "tiny", tiny_bytes())
    if missing == "repo":
        entry["repo_id"] = "test/absent"
    elif missing == "revision":
        entry["revision"] = "f" * 40
    else:
        entry["filename"] = "absent.safetensors"
    write_manifest(tmp_path, monkeypatch, entry)
    with pytest.raises(weights.WeightDownloadError, match="not found on the server") as info:
        weights.resolve("tiny")
    assert hub.endpoint in str(info.value) and "HTTP 404" in str(info.value)
    assert cache_files(tmp_path) == []


def test_unreachable_endpoint_gives_a_clear_error(tmp_path, monkeypatch):
    with HubServer() as server:
        write_manifest(tmp_path, monkeypatch, hub_entry(server, "tiny", tiny_bytes()))
        endpoint = server.endpoint
    monkeypatch.setenv("HF_ENDPOINT", endpoint)  # the server is gone: connection refused
    with pytest.raises(weights.WeightDownloadError, match="could not connect") as info:
        weights.resolve("tiny")
    assert endpoint in str(info.value) and "HF_ENDPOINT" in str(info.value)
    assert cache_files(tmp_path) == []


def _resolve_in_child(weight_id: str, results) -> None:
    try:
        results.put(("ok", str(weights.resolve(weight_id))))
    except BaseException as exc:  # report anything to the parent
        results.put(("error", repr(exc)))


def test_two_processes_downloading_at_once_end_with_one_good_file(tmp_path, monkeypatch, hub):
    data = os.urandom(400_000)  # served in 4 kB chunks with pauses: the downloads overlap
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", data, fault="slow"))
    # fork: the children inherit the imported package and the environment (no 2 s torch import)
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_resolve_in_child, args=("tiny", results)) for _ in range(2)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)
    assert [p.exitcode for p in procs] == [0, 0]
    assert [status for status, _ in outcomes] == ["ok", "ok"], outcomes
    paths = {path for _, path in outcomes}
    assert len(paths) == 1
    assert Path(paths.pop()).read_bytes() == data
    blobs = [p for p in cache_files(tmp_path) if p.parent.name == "blobs"]
    assert [b.name for b in blobs] == [sha(data)]
    assert not list((tmp_path / "hf_home" / "hub").rglob("*.incomplete"))
    assert len(hub.requests("GET", "/cdn/")) == 1  # the second process waited on the blob lock


def test_url_entry_downloads_into_torch_hub_checkpoints(tmp_path, monkeypatch, hub):
    data = tiny_bytes(4)
    hub.add_file("cdn/only", "x", data)
    url = f"{hub.cdn_endpoint}/cdn/{sha(data)}"
    entry = {"id": "tv", "url": url, "filename": "tv-1234.pth", "sha256": sha(data)}
    write_manifest(tmp_path, monkeypatch, entry)
    path = weights.resolve("tv")
    assert path == tmp_path / "torch_home" / "hub" / "checkpoints" / "tv-1234.pth"
    assert path.read_bytes() == data
    monkeypatch.setenv("SEMFID_OFFLINE", "1")
    integrity.forget_verified()
    assert weights.resolve("tv") == path


def test_url_entry_with_wrong_bytes_is_refused_and_not_kept(tmp_path, monkeypatch, hub):
    data = tiny_bytes(4)
    hub.add_file("cdn/only", "x", data)
    url = f"{hub.cdn_endpoint}/cdn/{sha(data)}"
    write_manifest(
        tmp_path, monkeypatch, {"id": "tv", "url": url, "filename": "tv.pth", "sha256": "0" * 64}
    )
    with pytest.raises(weights.WeightIntegrityError, match="0" * 64):
        weights.resolve("tv")
    left = (tmp_path / "torch_home" / "hub" / "checkpoints").glob("*tv.pth*")
    assert [p.name for p in left] == ["tv.pth.lock"]  # only the (empty) lock file
