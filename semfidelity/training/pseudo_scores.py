"""The semantic-fidelity thesis' pseudo-label similarities C2C and C2I.

* **C2C** (caption to caption): cosine of the all-MiniLM-L6-v2 sentence embeddings of the
  ground-truth (GT) image's caption and the SR image's caption.
* **C2I** (caption to image): cosine of CLIP's text embedding of the GT caption and CLIP's
  image embedding of the SR image (default ViT-B-32 / openai, the library's CLIP weights).

Both are similarities, higher = the SR image kept the meaning; in [-1, 1]. Each scorer is
called as ``scorer(gt_captions, sr_captions, sr_paths) -> Tensor[N]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from semfidelity.backbones.clip import ClipEncoder
from semfidelity.backbones.clip_text import ClipTextEncoder
from semfidelity.backbones.sentence import SentenceEncoder
from semfidelity.io import load_image

__all__ = ["C2C", "C2I", "CLIP_VIEWS"]

#: How the SR image reaches CLIP: open_clip's inference transform (shortest side to the model
#: size, centre crop), or the whole image squeezed to the model size.
CLIP_VIEWS = ("centre", "whole")


def _device(device: str | torch.device | None) -> torch.device:
    return torch.device(device if device is not None else "cpu")


class C2C:
    """C2C: ``(N,)`` cosine of the MiniLM embeddings of ``gt_captions[i]`` and ``sr_captions[i]``.

    Args:
        encoder: a :class:`~semfidelity.backbones.sentence.SentenceEncoder` (default: built from
            the manifest's all-MiniLM-L6-v2, extra ``caption``).
        device: where the encoder runs (default CPU: the model is small).
    """

    name = "c2c"

    def __init__(
        self, encoder: SentenceEncoder | None = None, device: str | torch.device | None = None
    ) -> None:
        self.encoder = (encoder or SentenceEncoder()).to(_device(device))

    def __call__(
        self, gt_captions: Sequence[str], sr_captions: Sequence[str], sr_paths: Sequence[Path]
    ) -> torch.Tensor:
        return self.encoder.similarity(gt_captions, sr_captions).cpu()


class C2I:
    """C2I: ``(N,)`` CLIP cosine of the GT caption (text tower) and the SR image (image tower).

    Args:
        clip_model, clip_pretrained, clip_weights: the CLIP checkpoint, as for ``tws``
            (manifest entry by default, a local open_clip state dict, or ``"random"`` for tests).
        view: ``"centre"`` (open_clip's transform: shortest side to the model size, centre crop;
            the thesis used CLIP as published) or ``"whole"`` (every pixel, squeezed to square).
        device: where CLIP runs (default CUDA when available).
    """

    name = "c2i"

    def __init__(
        self,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        clip_weights: str | os.PathLike[str] | None = None,
        *,
        view: str = "centre",
        device: str | torch.device | None = None,
    ) -> None:
        if view not in CLIP_VIEWS:
            raise ValueError(f"view: expected one of {CLIP_VIEWS}, got {view!r}")
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        device = torch.device(device)
        self.view = view
        self.text = ClipTextEncoder(clip_model, clip_pretrained, clip_weights).to(device)
        self.image = ClipEncoder(clip_model, clip_pretrained, clip_weights).to(device)

    @torch.no_grad()
    def embed_images(self, paths: Sequence[Path]) -> torch.Tensor:
        """``(N, D)`` unit-norm CLIP embeddings of the image files (each preprocessed alone)."""
        device = self.image.mean.device
        prep = self.image.preprocess if self.view == "centre" else self.image.preprocess_whole
        pixels = [prep(load_image(p).to(device)) for p in paths]
        return self.image.encode(torch.cat(pixels))

    def __call__(
        self, gt_captions: Sequence[str], sr_captions: Sequence[str], sr_paths: Sequence[Path]
    ) -> torch.Tensor:
        if len(gt_captions) != len(sr_paths):
            raise ValueError(
                f"sr_paths: expected {len(gt_captions)} images (one per caption), "
                f"got {len(sr_paths)}"
            )
        text = self.text.embed(gt_captions)
        image = self.embed_images(sr_paths)
        return (text * image).sum(dim=-1).clamp(-1.0, 1.0).cpu()
