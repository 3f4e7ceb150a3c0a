"""Where weight files may live, read from the environment at every call (never cached).

``huggingface_hub`` reads ``HF_HOME``/``HF_ENDPOINT``/``HF_HUB_OFFLINE`` once, at import; this
module re-reads them each time and passes ``cache_dir=``/``endpoint=`` explicitly, so a change
of the environment after import is honoured.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache

from semfidelity.weights.manifest import WeightEntry

__all__ = [
    "Place",
    "offline_reason",
    "hf_home",
    "hub_cache_dir",
    "semfid_cache_dir",
    "weights_dir",
    "torch_checkpoints_dir",
    "endpoint",
    "bundled_path",
    "local_places",
    "hub_blob_sha256",
    "hub_snapshot_commit",
]

OFFLINE_VARS = ("SEMFID_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Place:
    """One place a weight file was looked for: a label for messages and the candidate path."""

    label: str
    path: Path | None
    found: bool
    detail: str = ""

    def describe(self) -> str:
        where = str(self.path) if self.path is not None else "-"
        state = "found" if self.found else "missing"
        return f"{self.label}: {where} ({self.detail or state})"


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(os.path.expandvars(value)).expanduser() if value else None


def offline_reason() -> str | None:
    """The variable that forbids network access (``"HF_HUB_OFFLINE=1"``...), or ``None``."""
    for var in OFFLINE_VARS:
        if _is_true(os.environ.get(var)):
            return f"{var}={os.environ[var]}"
    if hf_constants.is_offline_mode():
        return "HF_HUB_OFFLINE (set when huggingface_hub was imported)"
    return None


def hf_home() -> Path:
    """``$HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface``."""
    home = _env_path("HF_HOME")
    if home is not None:
        return home
    xdg = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return xdg / "huggingface"


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache: ``$HF_HUB_CACHE`` (or legacy name), else ``$HF_HOME/hub``."""
    return _env_path("HF_HUB_CACHE") or _env_path("HUGGINGFACE_HUB_CACHE") or hf_home() / "hub"


def semfid_cache_dir() -> Path:
    """semfidelity's records (hashes, CLIP semantic floors): ``$SEMFID_CACHE_DIR``, else
    ``$HF_HOME/semfidelity``."""
    return _env_path("SEMFID_CACHE_DIR") or hf_home() / "semfidelity"


def weights_dir() -> Path | None:
    """``$SEMFID_WEIGHTS_DIR``: a folder laid out as ``<dir>/<weight id>/<filename>``."""
    return _env_path("SEMFID_WEIGHTS_DIR")


def torch_checkpoints_dir() -> Path:
    """torch.hub's download folder ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def endpoint() -> str:
    """The Hub endpoint: ``$HF_ENDPOINT`` (a mirror) or huggingface_hub's default."""
    value = os.environ.get("HF_ENDPOINT")
    return (value or hf_constants.ENDPOINT).rstrip("/")


def bundled_path(entry: WeightEntry) -> Path:
    """Path of a bundled file inside the installed package.

    Raises:
        ValueError: the path (symlinks resolved) leads outside the package.
    """
    package_root = Path(__file__).resolve().parents[1]
    path = package_root.joinpath(*str(entry.package_path).split("/"))
    if package_root not in path.resolve().parents:
        raise ValueError(
            f"weight {entry.id!r}: package_path {entry.package_path!r} resolves to "
            f"{path.resolve()}, outside the semfidelity package {package_root}"
        )
    return path


def _weights_dir_place(entry: WeightEntry) -> Place:
    root = weights_dir()
    if root is None:
        return Place("SEMFID_WEIGHTS_DIR", None, False, "not set")
    path = root / entry.id / entry.filename
    return Place("SEMFID_WEIGHTS_DIR", path, path.is_file())


def _hub_cache_place(entry: WeightEntry) -> Place:
    cache = hub_cache_dir()
    label = f"Hugging Face cache (revision {entry.revision})"
    hit = try_to_load_from_cache(
        entry.repo_id, entry.filename, cache_dir=cache, revision=entry.revision
    )
    if isinstance(hit, str):
        return Place(label, Path(hit), True)
    repo_folder = "models--" + str(entry.repo_id).replace("/", "--")
    return Place(
        label, cache / repo_folder / "snapshots" / str(entry.revision) / entry.filename, False
    )


def _torch_hub_place(entry: WeightEntry) -> Place:
    path = torch_checkpoints_dir() / entry.filename
    return Place("torch.hub checkpoints", path, path.is_file())


def _pip_place(entry: WeightEntry) -> Place:
    # importlib.metadata reads the distribution's RECORD: the package is never imported
    # (face_recognition_models' __init__ imports pkg_resources, which new setuptools lacks).
    label = f"pip package {entry.pip_package}"
    try:
        dist = importlib.metadata.distribution(str(entry.pip_package))
    except importlib.metadata.PackageNotFoundError:
        return Place(label, None, False, "not installed")
    path = Path(str(dist.locate_file(str(entry.pip_path))))
    return Place(label, path, path.is_file())


def local_places(entry: WeightEntry) -> list[Place]:
    """Every local place searched for ``entry``, in resolution order (no network, no hashing)."""
    if entry.bundled:
        path = bundled_path(entry)
        return [Place("bundled with semfidelity", path, path.is_file())]
    if entry.kind == "pip":
        second = _pip_place(entry)
    elif entry.kind == "hub":
        second = _hub_cache_place(entry)
    else:
        second = _torch_hub_place(entry)
    return [_weights_dir_place(entry), second]


def hub_blob_sha256(path: Path) -> str | None:
    """The blob name of a Hub cache file if it is a sha256 (the LFS etag), else ``None``."""
    real = Path(os.path.realpath(path))
    if real.parent.name == "blobs" and _SHA256.fullmatch(real.name):
        return real.name
    return None


def hub_snapshot_commit(path: Path) -> str | None:
    """The commit of a ``.../snapshots/<commit>/<file>`` path in a Hub cache, else ``None``."""
    parent = Path(path).parent
    if parent.parent.name == "snapshots" and _COMMIT.fullmatch(parent.name):
        return parent.name
    return None
