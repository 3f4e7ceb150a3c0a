"""Weight id -> local file: offline messages, download=False, explicit paths, export."""

from __future__ import annotations

import os

import pytest
import torch
from hubserver import isolate_hub_env
from weights_testkit import (
    hub_entry,
    sha,
    tiny_bytes,
    write_manifest,
)

from semfidelity import weights
from semfidelity.weights import integrity


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
