"""Helpers shared by the tests of semfidelity.weights (imported by module name: tests/weights is
on sys.path under pytest's default import mode)."""

from __future__ import annotations

import hashlib
import json
import os
from itertools import count
from pathlib import Path

import torch
from hubserver import HubServer
from safetensors.torch import save as safetensors_bytes

REPO = Path(__file__).resolve().parents[2]
_manifest_names = count()


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


def populate_hf_cache(cache: Path, repo_id: str, commit: str, filename: str, data: bytes) -> Path:
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
