"""CLIP text encoder (open_clip's text tower and tokenizer) from the same weights as the image one.

:class:`ClipTextEncoder` pairs with :class:`semfidelity.backbones.clip.ClipEncoder`: the same
``(clip_model, clip_pretrained, weights)`` arguments name the same CLIP checkpoint (manifest
entry, local file, or ``"random"``: the model open_clip builds under seed 0, whose image tower
``ClipEncoder(weights="random")`` holds), so text and image embeddings live in one space.
``embed(texts)`` equals open_clip's ``model.encode_text(tokenizer(texts), normalize=True)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.backbones.clip import _config_name, _open_clip, clip_weight_id
from semfidelity.weights import load_state_dict

__all__ = ["ClipTextEncoder"]

logger = logging.getLogger(__name__)


def _text_state_dict(weights, weight_id: str | None) -> dict[str, torch.Tensor]:
    if weights is None:
        state = load_state_dict(weight_id)
    elif isinstance(weights, (str, os.PathLike)):
        state = load_state_dict(path=Path(weights))
    else:
        raise TypeError(
            f"clip_weights: expected None, 'random' or a path, got {type(weights).__name__}"
        )
    return {k: v for k, v in state.items() if not k.startswith("visual.")}


class ClipTextEncoder(nn.Module):
    """Frozen open_clip text tower: ``embed(texts) -> (N, D)`` unit-norm float32.

    Args: as :class:`~semfidelity.backbones.clip.ClipEncoder` (``clip_model``,
    ``clip_pretrained``, ``weights``: ``None`` -> manifest entry, a path, or ``"random"``).
    ``batch_size``: texts per forward pass.
    """

    def __init__(
        self,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        weights: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 256,
    ) -> None:
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        name = _config_name(clip_model, clip_pretrained)
        self.weight_id = clip_weight_id(clip_model, clip_pretrained)
        oc = _open_clip()
        if isinstance(weights, str) and weights == "random":
            logger.warning("CLIP %s text tower built with random weights: meaningless", name)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = oc.create_model(name, pretrained=None)
        else:
            if weights is None and self.weight_id is None:
                raise ValueError(
                    f"clip_pretrained: no manifest weight for {clip_model!r}/{clip_pretrained!r}; "
                    f"pass clip_weights=<path to an open_clip state dict> or 'random'"
                )
            state = _text_state_dict(weights, self.weight_id)
            model = oc.create_model(name, pretrained=None)
            result = model.load_state_dict(state, strict=False)
            missing = [k for k in result.missing_keys if not k.startswith("visual.")]
            if missing or result.unexpected_keys:
                raise ValueError(
                    f"clip_weights: not an open_clip {name} text tower; missing {missing[:5]}, "
                    f"unexpected {list(result.unexpected_keys)[:5]}"
                )
        if not hasattr(model, "encode_text"):
            raise ValueError(f"clip_model: {name!r} has no text tower")
        model.visual = nn.Identity()  # the image side is ClipEncoder's
        self.model = model
        self.tokenizer = oc.get_tokenizer(name)
        self.batch_size = batch_size
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ClipTextEncoder:
        return super().train(False)

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """``N`` texts -> ``(N, D)`` unit-norm float32 embeddings (open_clip truncates long
        texts to the model's context length, 77 tokens for OpenAI CLIP)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"texts: expected a sequence of str, got {texts!r:.80}")
        texts = list(texts)
        device = next(self.model.parameters()).device
        out = [
            F.normalize(
                self.model.encode_text(
                    self.tokenizer(texts[i : i + self.batch_size]).to(device)
                ).float(),
                dim=-1,
                eps=1e-8,
            )
            for i in range(0, len(texts), self.batch_size)
        ]
        return torch.cat(out) if out else torch.zeros(0, 0)
