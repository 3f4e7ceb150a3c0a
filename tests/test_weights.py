"""semfidelity.weights: manifest, resolution order, Hub downloads, integrity, safe loading.

Everything runs against a loopback Hub (tests/hubserver.py) or files made here: no internet.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import logging
import multiprocessing
import os
import types
from itertools import count
from pathlib import Path

import pytest
import torch
from hubserver import HubServer, isolate_hub_env
from safetensors.torch import save as safetensors_bytes

from semfidelity import weights
from semfidelity.weights import integrity

REPO = Path(__file__).resolve().parents[1]
_manifest_names = count()


# ----------------------------------------------------------------------------- helpers
def tiny_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"conv.weight": torch.randn(4, 3, 3, 3, generator=gen), "conv.bias": torch.zeros(4)}


def tiny_bytes(seed: int = 0) -> bytes:
    return safetensors_bytes(tiny_state_dict(seed))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(tmp_path: Path, monkeypatch, *entries: dict) -> None:
    """Register test entries through SEMFID_WEIGHTS_MANIFEST (a fresh file each time)."""
    path = tmp_path / f"manifest{next(_manifest_names)}.json"
    defaults = {
        "filename": "w.safetensors",
        "sha256": None,
        "size": None,
        "license": "test",
        "source": "made by the test",
        "description": "tiny test weights",
    }
    path.write_text(json.dumps({"weights": [{**defaults, **e} for e in entries]}), encoding="utf-8")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(path))


def hub_entry(hub: HubServer, weight_id: str, data: bytes, *, pin: bool = True, **kw) -> dict:
    """Serve ``data`` from repo ``test/<id>`` and return its manifest entry (sha256 unknown)."""
    served = kw.pop("served", None)
    fault = kw.pop("fault", None)
    hub_file = hub.add_file(f"test/{weight_id}", "w.safetensors", data, fault=fault, served=served)
    revision = hub_file.commit if pin else "main"
    return {"id": weight_id, "repo_id": f"test/{weight_id}", "revision": revision, **kw}


def cache_files(root: Path) -> list[Path]:
    """Every file under the Hub cache (locks excluded)."""
    cache = root / "hf_home" / "hub"
    return [
        p
        for p in cache.rglob("*")
        if p.is_file() and ".locks" not in p.parts and p.name != "CACHEDIR.TAG"
    ]


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


# ---------------------------------------------------------------------------- manifest
REQUIRED_IDS = {
    "clip-vit-b-32-openai",
    "clip-vit-l-14-openai",
    "clip-rn50-openai",
    "resnet50-imagenet",
    "alexnet-imagenet",
    "vgg16-imagenet",
    "lpips-alex-v0.1",
    "lpips-vgg-v0.1",
}


def test_manifest_copies_are_identical():
    root_copy = (REPO / "weights_manifest.json").read_bytes()
    package_copy = (REPO / "semfidelity" / "weights_manifest.json").read_bytes()
    assert root_copy == package_copy, (
        "edit semfidelity/weights_manifest.json and copy it to the root"
    )


def test_manifest_entries_are_complete_and_traceable():
    entries = {e.id: e for e in weights.list_entries()}
    assert REQUIRED_IDS <= set(entries)
    for entry in entries.values():
        assert entry.license and entry.source and entry.description, entry.id
        assert entry.architecture, entry.id
        if entry.sha256 is None:
            assert "Hub reports" in entry.sha256_note, entry.id
        if entry.kind == "hub" and not entry.pinned:
            assert entry.revision == "main" and "pinned" in entry.revision_note, entry.id
    assert entries["clip-vit-b-32-openai"].format == "safetensors"
    assert [e.id for e in entries.values() if e.kind == "hub" and not e.pinned] == []
    assert {e.id for e in entries.values() if e.bundled} == {
        "lpips-alex-v0.1",
        "lpips-vgg-v0.1",
        "niqe-pris-params",
        "dists-alpha-beta",
    }


@pytest.mark.parametrize("weight_id", ["lpips-alex-v0.1", "lpips-vgg-v0.1"])
def test_bundled_heads_match_their_manifest_hash_and_licence(weight_id):
    entry = weights.get_entry(weight_id)
    path = weights.resolve(weight_id)
    assert path.is_file() and path.parent.parts[-3:] == ("assets", "lpips", "v0.1")
    assert path.stat().st_size == entry.size
    assert weights.sha256_file(path) == entry.sha256
    licence = path.parent / "LICENSE.lpips.txt"
    assert "Redistribution and use in source and binary forms" in licence.read_text(
        encoding="utf-8"
    )


def test_bundled_heads_load_with_weights_only_and_equal_the_lpips_package():
    spec = importlib.util.find_spec("lpips")  # the files only: importing lpips takes seconds
    assert spec is not None and spec.submodule_search_locations, "lpips (test extra) not installed"
    lpips_dir = Path(spec.submodule_search_locations[0]) / "weights" / "v0.1"
    channels = {"alex": [64, 192, 384, 256, 256], "vgg": [64, 128, 256, 512, 512]}
    for net, widths in channels.items():
        ours = weights.load_state_dict(f"lpips-{net}-v0.1")
        reference = torch.load(lpips_dir / f"{net}.pth", map_location="cpu", weights_only=True)
        assert [ours[f"lin{i}.model.1.weight"].shape[1] for i in range(5)] == widths
        assert ours.keys() == reference.keys()
        assert all(torch.equal(ours[k], reference[k]) for k in ours)


def test_unknown_id_suggests_close_ids():
    with pytest.raises(ValueError, match="(?i)did you mean 'clip-vit-b-32-openai'"):
        weights.get_entry("clip-vit-b32-openai")
    with pytest.raises(ValueError, match="unknown weight"):
        weights.resolve("no-such-weight")
    with pytest.raises(TypeError, match="weight_id"):
        weights.get_entry(3)


def test_extra_manifest_cannot_redefine_builtin_ids(tmp_path, monkeypatch):
    write_manifest(tmp_path, monkeypatch, {"id": "lpips-alex-v0.1", "url": "http://x/y.pth"})
    with pytest.raises(ValueError, match="redefines built-in weight ids"):
        weights.list_entries()


def test_manifest_rejects_malformed_entries(tmp_path, monkeypatch):
    write_manifest(
        tmp_path, monkeypatch, {"id": "t", "repo_id": "a/b", "revision": "main", "sha256": "XYZ"}
    )
    with pytest.raises(ValueError, match="sha256 must be 64 lowercase hex"):
        weights.list_entries()
    write_manifest(
        tmp_path, monkeypatch, {"id": "t", "repo_id": "a/b", "revision": "main", "colour": 1}
    )
    with pytest.raises(ValueError, match="unknown keys"):
        weights.list_entries()


# ------------------------------------------------------------------- Hub: happy paths
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


def test_hf_endpoint_and_hf_home_are_read_at_call_time(tmp_path, monkeypatch, hub):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", tiny_bytes()))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    path = weights.resolve("tiny")
    assert (tmp_path / "elsewhere" / "hub") in path.parents
    assert hub.requests("HEAD", "/test/tiny/resolve/")


# ------------------------------------------------------------------ offline behaviour
@pytest.mark.parametrize("variable", ["SEMFID_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_and_missing_names_id_file_places_and_command(tmp_path, monkeypatch, hub, variable):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", tiny_bytes()))
    monkeypatch.setenv(variable, "1")
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path / "wdir"))
    with pytest.raises(weights.WeightNotFoundError) as info:
        weights.resolve("tiny")
    message = str(info.value)
    for needle in (
        "'tiny'",
        "w.safetensors",
        f"{variable}=1",
        str(tmp_path / "wdir" / "tiny" / "w.safetensors"),
        str(tmp_path / "hf_home" / "hub" / "models--test--tiny"),
        "semfid-weights download tiny",
        "$SEMFID_WEIGHTS_DIR/tiny/w.safetensors",
    ):
        assert needle in message
    assert hub.log == []  # not a single request


def test_download_false_never_touches_the_network(tmp_path, monkeypatch, hub):
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", tiny_bytes()))
    with pytest.raises(weights.WeightNotFoundError, match="download=False"):
        weights.resolve("tiny", download=False)
    assert hub.log == []


def _populate_hf_cache(cache: Path, repo_id: str, commit: str, filename: str, data: bytes) -> Path:
    """What hf_hub_download leaves: blobs/<sha256>, snapshots/<commit>/<file> -> blob, refs/main."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    blob = repo / "blobs" / sha(data)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    link = repo / "snapshots" / commit / filename
    link.parent.mkdir(parents=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return link


@pytest.mark.parametrize("pin", [True, False])
def test_prepopulated_hf_cache_resolves_offline(tmp_path, monkeypatch, pin):
    data, commit = tiny_bytes(2), "c0ffee" * 6 + "abcd"
    link = _populate_hf_cache(
        tmp_path / "hf_home" / "hub", "test/cached", commit, "w.safetensors", data
    )
    revision = commit if pin else "main"
    write_manifest(
        tmp_path, monkeypatch, {"id": "cached", "repo_id": "test/cached", "revision": revision}
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert weights.resolve("cached") == link
    assert weights.load_state_dict("cached").keys() == tiny_state_dict().keys()


def test_prepopulated_cache_with_corrupted_blob_is_refused(tmp_path, monkeypatch):
    data, commit = tiny_bytes(2), "ab" * 20
    link = _populate_hf_cache(
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


# ------------------------------------------------------------------- integrity failures
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


# ---------------------------------------------------------------- transport failures
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


# ------------------------------------------------------------------- URL-only entries
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


# ------------------------------------------------- SEMFID_WEIGHTS_DIR and explicit paths
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


def test_export_builds_a_weights_dir_for_an_air_gapped_machine(tmp_path, monkeypatch, hub):
    data = tiny_bytes(8)
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", data, pin=False))
    target = weights.export("tiny", tmp_path / "usb")
    assert target == tmp_path / "usb" / "tiny" / "w.safetensors" and target.read_bytes() == data
    sidecar = target.with_name("w.safetensors.sha256").read_text()
    assert sidecar == f"{sha(data)}  w.safetensors\n"
    # the "other machine": empty caches, offline, only the copied folder
    isolate_hub_env(monkeypatch, tmp_path / "airgapped")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", os.environ.get("SEMFID_WEIGHTS_MANIFEST", ""))
    write_manifest(tmp_path, monkeypatch, hub_entry(hub, "tiny", data, pin=False))
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path / "usb"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    integrity.forget_verified()
    assert weights.resolve("tiny") == target
    target.write_bytes(tiny_bytes(9))
    integrity.forget_verified()
    with pytest.raises(weights.WeightIntegrityError, match="sidecar"):
        weights.resolve("tiny")


def test_explicit_path_wins_and_is_checked_against_the_id(tmp_path):
    heads = weights.resolve("lpips-alex-v0.1")
    copy = tmp_path / "alex.pth"
    copy.write_bytes(heads.read_bytes())
    assert weights.resolve("lpips-alex-v0.1", path=copy) == copy
    assert weights.resolve("lpips-alex-v0.1", path=tmp_path) == copy  # a folder holding the file
    other = tmp_path / "other.pth"
    torch.save({"lin0.model.1.weight": torch.ones(1, 64, 1, 1)}, other)
    with pytest.raises(weights.WeightIntegrityError, match="load_state_dict\\(path=...\\)"):
        weights.load_state_dict("lpips-alex-v0.1", path=other)
    with pytest.raises(FileNotFoundError, match="path: no file"):
        weights.resolve("lpips-alex-v0.1", path=tmp_path / "missing.pth")


def test_path_without_id_loads_without_hash_check(tmp_path):
    user = tmp_path / "finetuned.pth"
    torch.save({"state_dict": {"w": torch.arange(3.0)}, "epoch": 4}, user)
    assert torch.equal(weights.load_state_dict(path=user)["w"], torch.arange(3.0))
    st = tmp_path / "finetuned.safetensors"
    st.write_bytes(tiny_bytes())
    assert weights.load_state_dict(path=st).keys() == tiny_state_dict().keys()
    with pytest.raises(TypeError, match="weight_id, path or both"):
        weights.load_state_dict()


# ----------------------------------------------------------------------- pickle safety
class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_pickle_that_executes_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(1), "payload": _Exploit(marker)}, evil)
    with pytest.raises(weights.WeightLoadError, match="weights_only=True") as info:
        weights.load_state_dict(path=evil)
    assert "never runs code" in str(info.value)
    write_manifest(
        tmp_path, monkeypatch, {"id": "evil", "url": "http://127.0.0.1:9/e", "format": "torch"}
    )
    with pytest.raises(weights.WeightLoadError, match="refused to load"):
        weights.load_state_dict("evil", path=evil)
    assert not marker.exists()


def test_non_tensor_content_and_garbage_are_refused(tmp_path):
    bad = tmp_path / "list.pth"
    torch.save([torch.ones(1)], bad)
    with pytest.raises(weights.WeightLoadError, match="mapping of parameter names"):
        weights.load_state_dict(path=bad)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(weights.WeightLoadError, match="safetensors"):
        weights.load_state_dict(path=junk)


# --------------------------------------------------------------- one way to get weights
_DOWNLOADERS = {
    "hf_hub_download",
    "snapshot_download",
    "load_state_dict_from_url",
    "download_url_to_file",
    "load_url",
}


def _weight_access_violations(source: str, label: str) -> list[str]:
    """Calls in ``source`` that would fetch or unpickle weights outside semfidelity.weights."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        keywords = {k.arg: k.value for k in node.keywords}
        where = f"{label}:{node.lineno}"
        if name in _DOWNLOADERS:
            found.append(f"{where}: {name}() downloads outside semfidelity.weights")
        if name == "load" and getattr(func, "value", None) is not None:
            owner = getattr(func.value, "id", "")
            safe = keywords.get("weights_only")
            if owner == "torch" and not (isinstance(safe, ast.Constant) and safe.value is True):
                found.append(f"{where}: torch.load without weights_only=True")
        pretrained = keywords.get("pretrained")
        if isinstance(pretrained, ast.Constant) and pretrained.value not in (None, False):
            found.append(
                f"{where}: pretrained={pretrained.value!r} lets a library download weights"
            )
        tv_weights = keywords.get("weights")
        if isinstance(tv_weights, ast.Attribute):
            enum = tv_weights.value
            enum_name = enum.attr if isinstance(enum, ast.Attribute) else getattr(enum, "id", "")
            if enum_name.endswith("_Weights"):
                found.append(f"{where}: torchvision weights enum downloads (download.pytorch.org)")
        if isinstance(tv_weights, ast.Constant) and tv_weights.value in (
            "DEFAULT",
            "IMAGENET1K_V1",
        ):
            found.append(f"{where}: torchvision weights={tv_weights.value!r} downloads")
    return found


# The one documented exception: the optional local VLM judge loads a user-chosen transformers
# model with from_pretrained (docs/selection.md); it honours SEMFID_OFFLINE/HF_HUB_OFFLINE.
_FROM_PRETRAINED_ALLOWED = {"semfidelity/selection/judges/hf.py"}


def _from_pretrained_calls(source: str, label: str) -> list[str]:
    return [
        f"{label}:{node.lineno}: from_pretrained() downloads outside semfidelity.weights"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_pretrained"
    ]


def test_no_code_path_fetches_or_unpickles_weights_another_way():
    package = REPO / "semfidelity"
    files = [p for p in package.rglob("*.py") if (package / "weights") not in p.parents]
    violations = [
        v
        for f in files
        for v in _weight_access_violations(f.read_text(encoding="utf-8"), str(f.relative_to(REPO)))
    ]
    for f in files:
        label = f.relative_to(REPO).as_posix()
        if label not in _FROM_PRETRAINED_ALLOWED:
            violations += _from_pretrained_calls(f.read_text(encoding="utf-8"), label)
    assert violations == [], (
        "use semfidelity.weights.resolve/load_state_dict instead:\n" + "\n".join(violations)
    )


def test_the_guard_itself_catches_each_pattern():
    source = (
        "import torch, open_clip, torchvision\n"
        "torch.load('x')\n"
        "torch.load('x', weights_only=False)\n"
        "open_clip.create_model('ViT-B-32', pretrained='openai')\n"
        "torchvision.models.resnet50(weights=torchvision.models.ResNet50_Weights.DEFAULT)\n"
        "torch.hub.load_state_dict_from_url('u')\n"
        "torch.load('x', weights_only=True)\n"
        "open_clip.create_model('ViT-B-32', pretrained=None)\n"
    )
    violations = _weight_access_violations(source, "probe.py")
    assert sorted(int(v.split(":")[1]) for v in violations) == [2, 3, 4, 5, 6], violations
