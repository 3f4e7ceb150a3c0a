"""SpLiCE concept dictionaries: vocabularies, CLIP text embeddings of the concepts, image means.

SpLiCE (Bhalla et al., NeurIPS 2024) decomposes a CLIP image embedding over the CLIP text
embeddings of a vocabulary of concepts. This module provides the parts that come from the CLIP
model and from SpLiCE's data (``semfidelity/assets/splice``, Apache-2.0, see SOURCES.md there):

- :func:`load_vocabulary`: the shipped default (the 10 000 most frequent words of LAION-400M
  captions, SpLiCE's ``laion`` vocabulary at its recommended size), a text file (one concept a
  line), or a sequence of strings;
- :func:`concept_embeddings`: unit-norm text embeddings ``(K, D)`` of the concepts, each concept
  tokenised as it is (SpLiCE uses no prompt template); cached in memory per weights and
  vocabulary and, for manifest weights, on disk in ``$SEMFID_CACHE_DIR/splice_concepts/``;
- :func:`splice_image_mean`: SpLiCE's published image mean for the backbones it supports.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load, load_file, save_file

from semfidelity.backbones.clip import _config_name, clip_weight_id
from semfidelity.backbones.clip_text import ClipTextEncoder
from semfidelity.weights.locations import semfid_cache_dir

__all__ = [
    "DEFAULT_VOCABULARY",
    "concept_embeddings",
    "load_vocabulary",
    "splice_image_mean",
]

logger = logging.getLogger(__name__)

#: Name of the shipped default vocabulary (``assets/splice/laion_10000.txt``).
DEFAULT_VOCABULARY = "laion10k"
_ASSET_FILES = {DEFAULT_VOCABULARY: "laion_10000.txt"}
_MEANS_FILE = "splice_image_means.safetensors"
_CACHE_VERSION = 1
_MEMORY: dict[str, torch.Tensor] = {}


def _asset(name: str):
    return resources.files("semfidelity").joinpath("assets", "splice", name)


def load_vocabulary(
    vocabulary: str | os.PathLike[str] | Sequence[str] | None = None, size: int | None = None
) -> tuple[str, ...]:
    """The concepts, in file order: ``None`` or ``"laion10k"`` (shipped default), a path to a
    UTF-8 text file with one concept a line, or a sequence of strings. Lines are stripped and
    blank ones dropped. ``size`` keeps the **last** ``size`` concepts, SpLiCE's convention for
    its frequency-sorted files (least frequent first)."""
    if vocabulary is None or (isinstance(vocabulary, str) and vocabulary in _ASSET_FILES):
        text = _asset(_ASSET_FILES[vocabulary or DEFAULT_VOCABULARY]).read_text("utf-8")
        concepts = text.splitlines()
    elif isinstance(vocabulary, (str, os.PathLike)):
        path = Path(vocabulary)
        if not path.is_file():
            raise ValueError(
                f"vocabulary: expected {DEFAULT_VOCABULARY!r}, a text file with one concept a "
                f"line, or a sequence of strings; got {str(vocabulary)!r}, which is not a file"
            )
        concepts = path.read_text("utf-8").splitlines()
    elif isinstance(vocabulary, Sequence) and all(isinstance(c, str) for c in vocabulary):
        concepts = list(vocabulary)
    else:
        raise TypeError(
            f"vocabulary: expected None, a name, a path or a sequence of strings, "
            f"got {type(vocabulary).__name__}"
        )
    concepts = [c.strip() for c in concepts if c.strip()]
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"vocabulary_size: expected None or an int >= 1, got {size!r}")
        concepts = concepts[-size:]
    if not concepts:
        raise ValueError(f"vocabulary: no concepts in {vocabulary!r}")
    return tuple(concepts)


def _weights_key(
    clip_model: str, clip_pretrained: str, weights: str | os.PathLike[str] | None
) -> tuple[str, bool]:
    """A key naming the text tower's weights and whether results may be stored on disk."""
    name = _config_name(clip_model, clip_pretrained)
    if weights is None:
        return f"{clip_weight_id(clip_model, clip_pretrained)}:{name}", True
    if isinstance(weights, str) and weights == "random":
        return f"random:{name}", False
    if isinstance(weights, (str, os.PathLike)):
        st = Path(weights).stat()
        return f"file:{Path(weights).resolve()}:{st.st_size}:{st.st_mtime_ns}:{name}", False
    raise TypeError(
        f"clip_weights: expected None, 'random' or a path, got {type(weights).__name__}"
    )


def _embed_texts(
    clip_model: str, clip_pretrained: str, weights, concepts: Sequence[str], device, chunk: int
) -> torch.Tensor:
    """Run the text tower once over ``concepts`` (unit-norm, CPU float32); the tower is dropped."""
    encoder = ClipTextEncoder(clip_model, clip_pretrained, weights, batch_size=chunk).to(device)
    with torch.autocast(device_type=torch.device(device).type, enabled=False):
        return encoder.embed(concepts).cpu()


def _cache_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return semfid_cache_dir() / "splice_concepts" / f"{digest}.safetensors"


def concept_embeddings(
    concepts: Sequence[str],
    clip_model: str = "ViT-B-32",
    clip_pretrained: str = "openai",
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    chunk: int = 256,
) -> torch.Tensor:
    """Unit-norm CLIP text embeddings ``(K, D)`` float32 (CPU) of ``concepts``, one per concept.

    ``weights`` as for :class:`~semfidelity.backbones.clip.ClipEncoder` (``None``: the manifest
    weight, a path, or ``"random"``). Cached in memory under the weights and the sha256 of the
    vocabulary; manifest weights are also cached on disk, so the text tower runs once per
    weight id and vocabulary.
    """
    wkey, persistent = _weights_key(clip_model, clip_pretrained, weights)
    vocab_sha = hashlib.sha256("\n".join(concepts).encode("utf-8")).hexdigest()
    key = f"v{_CACHE_VERSION}|{wkey}|{vocab_sha}|{len(concepts)}"
    if key in _MEMORY:
        return _MEMORY[key]
    path = _cache_path(key)
    emb = None
    if persistent and path.is_file():
        try:
            emb = load_file(str(path))["concepts"]
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("splice concepts: ignoring unreadable cache %s (%s)", path, exc)
        if emb is not None and emb.shape[0] != len(concepts):
            emb = None
    if emb is None:
        logger.info("splice: embedding %d concepts with %s", len(concepts), wkey)
        emb = _embed_texts(clip_model, clip_pretrained, weights, concepts, device, chunk)
        if persistent:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                save_file({"concepts": emb.contiguous()}, str(tmp), metadata={"key": key})
                os.replace(tmp, path)
            except OSError as exc:  # a read-only cache costs a re-embedding, nothing else
                logger.warning("splice concepts: cannot write %s (%s)", path, exc)
    _MEMORY[key] = emb
    return emb


def splice_image_mean(clip_model: str, clip_pretrained: str) -> torch.Tensor | None:
    """SpLiCE's published image mean ``(D,)`` for this backbone, or ``None`` if it has none.

    Available for ``ViT-B-32``, ``ViT-B-16`` and ``RN50`` with ``openai`` weights and
    ``ViT-B-32`` with ``laion2b_s34b_b79k`` (``assets/splice/SOURCES.md``).
    """
    means = load(_asset(_MEANS_FILE).read_bytes())
    return means.get(f"{clip_model.removesuffix('-quickgelu')}/{clip_pretrained}")
