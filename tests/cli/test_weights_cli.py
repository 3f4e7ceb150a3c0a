"""semfid-weights: list / download / verify / path, exit codes 0 (ok), 1 (failure), 2 (usage)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hubserver import HubServer, isolate_hub_env
from safetensors.torch import save as safetensors_bytes

from semfidelity.cli.weights import main
from semfidelity.weights import integrity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    isolate_hub_env(monkeypatch, tmp_path)
    integrity.forget_verified()
    yield
    integrity.forget_verified()


@pytest.fixture
def hub_tiny(monkeypatch, tmp_path):
    """A loopback Hub serving one tiny file, registered as weight id 'tiny' (sha256 unknown)."""
    data = safetensors_bytes({"w": torch.arange(6.0).reshape(2, 3)})
    with HubServer() as hub:
        hub_file = hub.add_file("test/tiny", "w.safetensors", data)
        entry = {
            "id": "tiny",
            "repo_id": "test/tiny",
            "filename": "w.safetensors",
            "revision": hub_file.commit,
            "license": "test",
            "source": "test",
            "description": "tiny",
        }
        manifest = tmp_path / "extra.json"
        manifest.write_text(json.dumps({"weights": [entry]}), encoding="utf-8")
        monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(manifest))
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield data


def test_list_shows_every_id_with_size_licence_and_cache_state(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert {"clip-vit-b-32-openai", "resnet50-imagenet", "lpips-alex-v0.1"} <= set(lines)
    assert (
        lines["lpips-alex-v0.1"].split()[-1] == "bundled" and "6009 B" in lines["lpips-alex-v0.1"]
    )
    assert (
        lines["clip-vit-b-32-openai"].split()[-1] == "no"
        and "~605 MB" in lines["clip-vit-b-32-openai"]
    )
    assert main(["list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["lpips-vgg-v0.1"]["path"].endswith("vgg.pth")
    assert (
        rows["resnet50-imagenet"]["sha256"]
        == "5d061a3c593d795bfe682d9b152bafbcf550579873492def3515b46db1189888"
    )


def test_download_verify_path_and_export(tmp_path, capsys, hub_tiny):
    assert main(["list"]) == 0
    assert [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("tiny ")][
        0
    ].endswith("no")
    assert main(["download", "tiny", "--to", str(tmp_path / "usb")]) == 0
    exported = tmp_path / "usb" / "tiny" / "w.safetensors"
    assert capsys.readouterr().out.strip() == f"tiny: {exported}"
    assert exported.read_bytes() == hub_tiny
    assert (tmp_path / "usb" / "tiny" / "w.safetensors.sha256").is_file()

    assert main(["path", "tiny"]) == 0
    cached = Path(capsys.readouterr().out.strip())
    assert cached.read_bytes() == hub_tiny and (tmp_path / "hf_home" / "hub") in cached.parents

    assert main(["verify", "tiny"]) == 0
    assert capsys.readouterr().out.startswith("ok")
    blob = Path(os.path.realpath(cached))
    blob.chmod(0o644)
    blob.write_bytes(hub_tiny[:-1] + b"!")
    assert main(["verify"]) == 1
    err = capsys.readouterr().err
    assert "MISMATCH tiny" in err and hashlib.sha256(hub_tiny).hexdigest() in err
    assert hashlib.sha256(blob.read_bytes()).hexdigest() in err


def test_offline_download_and_path_fail_with_exit_1(monkeypatch, capsys, hub_tiny):
    monkeypatch.setenv("SEMFID_OFFLINE", "1")
    assert main(["download", "tiny"]) == 1
    assert "semfid-weights download tiny" in capsys.readouterr().err
    assert main(["path", "tiny"]) == 1
    assert "SEMFID_OFFLINE=1" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["path", "clip-vit-b32"]) == 2
    assert "Did you mean 'clip-vit-b-32-openai'" in capsys.readouterr().err
    for argv in ([], ["download"], ["download", "--all", "tiny"], ["frobnicate"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2


def test_download_of_bundled_weights_is_a_no_op(capsys):
    assert main(["download", "lpips-alex-v0.1", "lpips-vgg-v0.1"]) == 0
    assert capsys.readouterr().out.count("bundled with semfidelity") == 2


def test_module_entry_point_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "semfidelity.cli.weights", "path", "lpips-alex-v0.1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        Path(proc.stdout.strip()) == REPO / "semfidelity" / "assets" / "lpips" / "v0.1" / "alex.pth"
    )
