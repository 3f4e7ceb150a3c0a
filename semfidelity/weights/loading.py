"""Safe loading of state dicts: safetensors or ``torch.load(weights_only=True)``, never pickle."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from semfidelity.weights.errors import WeightLoadError
from semfidelity.weights.manifest import get_entry
from semfidelity.weights.resolve import resolve

__all__ = ["load_state_dict", "load_file_safely"]


def _as_state_dict(obj: Any, file: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise WeightLoadError(
            f"{file}: expected a mapping of parameter names to tensors, got {type(obj).__name__}"
        )
    bad = [k for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise WeightLoadError(
            f"{file}: expected a mapping of parameter names to tensors; "
            f"entries {bad[:5]} are not (str, Tensor)"
        )
    return dict(obj)


def load_file_safely(
    file: str | os.PathLike[str], file_format: str, map_location: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Read a state dict without executing code.

    Args:
        file: the file.
        file_format: ``"safetensors"`` or ``"torch"`` (pickle of tensors; read with
            ``torch.load(weights_only=True)``, whose restricted unpickler refuses anything else).
        map_location: device for the tensors.

    Raises:
        WeightLoadError: unreadable file, or a pickle that would construct arbitrary objects.
    """
    file = Path(file)
    if file_format == "safetensors":
        try:
            return load_file(str(file), device=str(torch.device(map_location)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightLoadError(f"{file}: not a readable safetensors file ({exc})") from exc
    if file_format != "torch":
        raise ValueError(f"file_format: expected 'safetensors' or 'torch', got {file_format!r}")
    try:
        obj = torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightLoadError(
            f"refused to load {file}: it is a pickle that references more than tensors, and "
            "semfidelity only loads pickles with torch.load(weights_only=True), which never runs "
            "code from the file. "
            f"If you trust the file, convert it to safetensors on a sandboxed machine. ({detail})"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise WeightLoadError(f"{file}: not a readable torch checkpoint ({exc})") from exc
    return _as_state_dict(obj, file)


def load_state_dict(
    weight_id: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, torch.Tensor]:
    """Load a state dict by manifest id and/or from a file, safely.

    With ``weight_id`` the file is resolved (``path`` overrides where it is looked for) and its
    sha256 checked before the first load. With only ``path`` (user weights, e.g. fine-tuned
    heads) no hash is known: the file is loaded without a hash check, but still safely.
    A checkpoint of the form ``{"state_dict": {...}, ...}`` is unwrapped.

    Returns:
        ``{name: tensor}`` on ``map_location``.

    Raises:
        TypeError: neither ``weight_id`` nor ``path`` given.
        FileNotFoundError: ``path`` does not exist.
        WeightIntegrityError, WeightNotFoundError, WeightDownloadError: see :func:`resolve`.
        WeightLoadError: unreadable file or unsafe pickle.
    """
    if weight_id is None and path is None:
        raise TypeError("load_state_dict: expected weight_id, path or both; got neither")
    if weight_id is not None:
        entry = get_entry(weight_id)
        return load_file_safely(resolve(weight_id, path), entry.format, map_location)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"path: no file at {file}")
    file_format = "safetensors" if file.suffix == ".safetensors" else "torch"
    return load_file_safely(file, file_format, map_location)
