"""push_to_hub against the loopback Hub: upload, model card, download back through the manifest.

Verified here (tests/hubserver.py speaks the Hub upload protocol for regular files): repo
creation, ``upload_folder`` of the weights, card.json, metrics.jsonl and the generated README,
exclusion of checkpoints, byte-identical download with ``hf_hub_download`` and with
``semfidelity.weights.resolve`` from the returned manifest entry (sha256-checked). Not
verified: LFS/Xet uploads of large files and private-repo permissions (the real Hub's side).
"""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import hf_hub_download
from safetensors.torch import save_file

from semfidelity import weights
from semfidelity.training import model_card, push_to_hub


@pytest.fixture
def run_dir(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    save_file({"lin0.weight": torch.rand(1, 8, 1, 1)}, out / "heads.safetensors")
    card = {
        "kind": "clip_lpips",
        "config": {"backbone": "imagenet", "depth": 2, "lr": 0.001},
        "data": {"train": {"csv_sha256": "ab" * 32, "n": 96}},
        "final_metrics": {"val_mse": 0.12, "val_srcc": 0.61},
        "versions": {"semfidelity": "0.1.0"},
    }
    (out / "card.json").write_text(json.dumps(card))
    (out / "metrics.jsonl").write_text('{"epoch": 0}\n')
    (out / "checkpoint.pt").write_bytes(b"not for upload")
    return out


def test_push_then_download_back(hub, run_dir, tmp_path, monkeypatch):
    result = push_to_hub(run_dir, "me/clip-lpips-heads", token="hf_test", endpoint=hub.endpoint)
    repo = hub.repos["me/clip-lpips-heads"]
    assert result.commit == repo.refs["main"]
    assert result.files == ("README.md", "card.json", "heads.safetensors", "metrics.jsonl")
    readme = hf_hub_download(
        "me/clip-lpips-heads", "README.md", cache_dir=tmp_path / "c", endpoint=hub.endpoint
    )
    text = open(readme, encoding="utf-8").read()
    assert text.startswith("---\nlicense: apache-2.0\n") and "val_srcc | 0.6100" in text
    assert 'create_metric("clip_lpips", heads=folder)' in text
    with pytest.raises(Exception, match="checkpoint.pt|404|Entry"):
        hf_hub_download(
            "me/clip-lpips-heads", "checkpoint.pt", cache_dir=tmp_path / "c", endpoint=hub.endpoint
        )

    (entry,) = result.manifest_entries
    assert entry["revision"] == result.commit and entry["id"] == "clip-lpips-heads"
    (tmp_path / "m.json").write_text(json.dumps({"weights": [entry]}))
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(tmp_path / "m.json"))
    got = weights.load_state_dict("clip-lpips-heads")
    assert torch.equal(
        got["lin0.weight"],
        weights.load_state_dict(path=run_dir / "heads.safetensors")["lin0.weight"],
    )


def test_existing_readme_is_kept_and_errors(hub, run_dir):
    (run_dir / "README.md").write_text("# my own card\n")
    push_to_hub(run_dir, "me/h", token="hf_test", endpoint=hub.endpoint)
    assert (run_dir / "README.md").read_text() == "# my own card\n"
    with pytest.raises(ValueError, match="repo_id"):
        push_to_hub(run_dir, "no-owner", token="hf_test", endpoint=hub.endpoint)
    (run_dir / "heads.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="heads.safetensors or decoder.safetensors"):
        push_to_hub(run_dir, "me/h", token="hf_test", endpoint=hub.endpoint)


def test_model_card_for_clu(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"kind": "clu", "config": {}}))
    text = model_card(tmp_path, "me/clu")
    assert 'create_metric("clu", decoder=folder)' in text and "- clu" in text
