"""Shared handling of a ``weights=`` option: manifest id, path, state dict or ``"random"``.

Every deep backbone (ResNet, AlexNet, VGG) accepts the same forms, resolved here once:

- ``None``: the backbone's default manifest id (verified download / cache, see docs/weights.md);
- a manifest id (``str`` known to ``weights_manifest.json``);
- a path to a file (loaded safely, no hash known) or to a folder laid out as ``<filename>`` or
  ``<id>/<filename>`` of the default id (hash-checked like any manifest file);
- a ``{name: tensor}`` state dict (tests, fine-tuned weights already in memory);
- ``"random"``: keep the random initialisation. Scores are then meaningless; this exists for
  timing and tests only and logs a warning.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semfidelity import weights as W

__all__ = [
    "WeightsArg",
    "resolve_state_dict",
    "load_into",
    "freeze",
    "resolve_learned_file",
    "save_with_config",
    "load_with_config",
]

logger = logging.getLogger(__name__)

WeightsArg = None | str | os.PathLike | Mapping[str, torch.Tensor]


def _is_manifest_id(name: str) -> bool:
    try:
        W.get_entry(name)
    except (ValueError, KeyError):
        return False
    return True


def resolve_state_dict(
    weights: WeightsArg, default_id: str, *, what: str
) -> dict[str, torch.Tensor] | None:
    """Turn a ``weights=`` option into a CPU state dict, or ``None`` for ``"random"``.

    Args:
        weights: see the module docstring.
        default_id: manifest id used for ``None`` and for folders.
        what: name of the model for messages, e.g. ``"resnet50-imagenet backbone"``.

    Raises:
        TypeError: ``weights`` of an unsupported type.
        ValueError: a string that is neither ``"random"``, a manifest id nor an existing path.
        semfidelity.weights.WeightsError: the weight could not be found, verified or read.
    """
    if weights is None:
        return W.load_state_dict(default_id)
    if isinstance(weights, Mapping):
        return {str(k): v for k, v in weights.items()}
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights: expected None, 'random', a manifest id, a path or a state dict for the "
            f"{what}, got {type(weights).__name__}"
        )
    if isinstance(weights, str) and weights == "random":
        logger.warning(
            "%s: weights='random' keeps a random initialisation; scores are meaningless "
            "(use it for timing and tests only)",
            what,
        )
        return None
    if isinstance(weights, str) and _is_manifest_id(weights):
        return W.load_state_dict(weights)
    path = Path(weights).expanduser()
    if path.is_dir():
        return W.load_state_dict(default_id, path)
    if path.is_file():
        return W.load_state_dict(path=path)
    raise ValueError(
        f"weights: expected None, 'random', a manifest id (e.g. {default_id!r}), an existing "
        f"file or folder, or a state dict for the {what}; got {str(weights)!r}"
    )


def load_into(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    what: str,
    rename: Callable[[str], str | None] = lambda k: k,
) -> None:
    """Copy the entries of ``state`` that ``module`` has into it; missing ones are an error.

    ``rename`` maps a file key to a module key, or ``None`` to drop it (e.g. a classifier the
    feature extractor does not use). BatchNorm's ``num_batches_tracked`` may be absent.

    Raises:
        ValueError: a module parameter or buffer has no entry, or shapes differ.
    """
    own = module.state_dict()
    picked: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = rename(key)
        if new is not None and new in own:
            if own[new].shape != value.shape:
                raise ValueError(
                    f"weights for the {what}: {key!r} has shape {tuple(value.shape)}, "
                    f"expected {tuple(own[new].shape)}"
                )
            picked[new] = value
    missing = [k for k in own if k not in picked and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(
            f"weights for the {what}: {len(missing)} entries missing, e.g. {missing[:4]}; "
            f"is this the right file for this architecture?"
        )
    module.load_state_dict(picked, strict=False)
    for key in own:  # counters the file lacks (the module may have been built uninitialised)
        if key.endswith("num_batches_tracked") and key not in picked:
            module.get_buffer(key).zero_()


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients for every parameter of ``module``."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def resolve_learned_file(arg: str | os.PathLike[str], filename: str, *, option: str) -> Path:
    """File of a trained head/decoder given as a file, a folder holding ``filename``, or a
    manifest id (resolved and hash-checked by :func:`semfidelity.weights.resolve`).

    Raises:
        TypeError: ``arg`` is not a str or path.
        FileNotFoundError: a folder without ``filename``.
        ValueError: neither an existing path nor a manifest id.
    """
    if not isinstance(arg, (str, os.PathLike)):
        raise TypeError(
            f"{option}: expected a file, a folder holding {filename} or a manifest id, "
            f"got {type(arg).__name__}"
        )
    path = Path(arg).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        if (path / filename).is_file():
            return path / filename
        raise FileNotFoundError(f"{option}: folder {path} holds no {filename}")
    if isinstance(arg, str) and _is_manifest_id(arg):
        return W.resolve(arg)
    raise ValueError(
        f"{option}: expected an existing file, a folder holding {filename} or a manifest id; "
        f"got {str(arg)!r}"
    )


def save_with_config(
    module: nn.Module, path: str | os.PathLike[str], config: dict[str, Any], kind: str
) -> Path:
    """Write ``module``'s state dict as safetensors with ``config`` (JSON) in the metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    meta = {"semfidelity_kind": kind, "config": json.dumps(config, sort_keys=True)}
    save_file(state, str(path), metadata=meta)
    return path


def load_with_config(path: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by :func:`save_with_config`; checks its ``kind``."""
    from safetensors import safe_open

    if path.suffix != ".safetensors":
        raise ValueError(f"{kind}: expected a .safetensors file, got {path.name!r}")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("semfidelity_kind") != kind:
        raise ValueError(
            f"{path}: not a semfidelity {kind} file (metadata kind "
            f"{meta.get('semfidelity_kind')!r}); write it with save_{kind.split('_')[-1]}()"
        )
    state = W.load_file_safely(path, "safetensors")
    return state, json.loads(meta.get("config", "{}"))
