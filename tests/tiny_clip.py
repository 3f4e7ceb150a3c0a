"""A tiny open_clip ViT registered at test time, for tests that need a real CLIP architecture.

>>> from tiny_clip import make_tiny_clip
>>> m = semfidelity.create_metric("tws", clip_model=make_tiny_clip(), clip_weights="random")

Same code path as ViT-B-32 (open_clip ``VisionTransformer``, QuickGELU, CLIP mean/std), but
width 32, 2 layers, patch 8, 32x32 input: built in milliseconds, random weights, no download.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import open_clip

TINY_CLIP = "semfid-tiny-vit"

TINY_CLIP_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}

#: Options that make a CLIP-based metric use the tiny model.
TINY_CLIP_OPTIONS = {"clip_model": TINY_CLIP, "clip_weights": "random"}


def make_tiny_clip() -> str:
    """Register the tiny config with open_clip (idempotent) and return its model name."""
    if TINY_CLIP not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="semfid-tiny-clip-"))
        (folder / f"{TINY_CLIP}.json").write_text(json.dumps(TINY_CLIP_CONFIG))
        open_clip.add_model_config(folder)
    return TINY_CLIP


TINY_CLIP_TEXT = "semfid-tiny-vit-text"

#: The tiny ViT with a text tower that open_clip's real tokenizer fits (vocabulary 49408,
#: context 77), for tests of CLIP text embeddings (C2I); one layer per tower.
TINY_CLIP_TEXT_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


def make_tiny_clip_text() -> str:
    """Register the tiny text-capable config with open_clip (idempotent); its model name."""
    if TINY_CLIP_TEXT not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="semfid-tiny-clip-text-"))
        (folder / f"{TINY_CLIP_TEXT}.json").write_text(json.dumps(TINY_CLIP_TEXT_CONFIG))
        open_clip.add_model_config(folder)
    return TINY_CLIP_TEXT


TINY_RN = "semfid-tiny-rn"

#: A tiny CLIP ModifiedResNet (the architecture CLIP-IQA needs: attention pooling) with a text
#: tower open_clip's tokenizer fits; same config as tests/metrics/test_clipiqa.py's.
TINY_RN_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


def make_tiny_rn() -> str:
    """Register the tiny ResNet CLIP with open_clip (idempotent); its model name."""
    if TINY_RN not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="semfid-tiny-rn-"))
        (folder / f"{TINY_RN}.json").write_text(json.dumps(TINY_RN_CONFIG))
        open_clip.add_model_config(folder)
    return TINY_RN
