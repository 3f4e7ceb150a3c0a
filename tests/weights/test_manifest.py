"""The weights manifest: shipped copies, entries, bundled heads, id lookup, extra manifests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from weights_testkit import (
    REPO,
    write_manifest,
)

from semfidelity import weights

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
