"""Pretrained weights: one manifest, one way to get a verified local file, one safe loader.

>>> from semfidelity import weights
>>> path = weights.resolve("clip-vit-b-32-openai")           # Path, sha256-checked
>>> sd = weights.load_state_dict("lpips-alex-v0.1")          # dict[str, Tensor]

Every pretrained file the library uses is an entry of ``weights_manifest.json``
(:func:`get_entry`, :func:`list_entries`). :func:`resolve` looks, in order, at an explicit
path, ``$SEMFID_WEIGHTS_DIR/<id>/<filename>``, the Hugging Face cache at the pinned revision,
then downloads with ``huggingface_hub.hf_hub_download`` unless offline (``HF_HUB_OFFLINE=1`` or
``SEMFID_OFFLINE=1``). Files are checked against their sha256 before the first load and loaded
only with safetensors or ``torch.load(weights_only=True)``. See ``docs/weights.md``.
"""

from __future__ import annotations

from semfidelity.weights.errors import (
    WeightDownloadError,
    WeightIntegrityError,
    WeightLoadError,
    WeightNotFoundError,
    WeightsError,
)
from semfidelity.weights.integrity import sha256_file, verify_file
from semfidelity.weights.loading import load_file_safely, load_state_dict
from semfidelity.weights.locations import offline_reason
from semfidelity.weights.manifest import WeightEntry, get_entry, list_entries
from semfidelity.weights.resolve import download, export, find_local, resolve

__all__ = [
    "WeightEntry",
    "get_entry",
    "list_entries",
    "resolve",
    "load_state_dict",
    "load_file_safely",
    "download",
    "export",
    "find_local",
    "verify_file",
    "sha256_file",
    "offline_reason",
    "WeightsError",
    "WeightNotFoundError",
    "WeightDownloadError",
    "WeightIntegrityError",
    "WeightLoadError",
]
