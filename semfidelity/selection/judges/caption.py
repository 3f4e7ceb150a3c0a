"""A captioner on the local VLM judge backend: a transformers image-text-to-text model that
writes one caption per image (for the C2C / C2I pseudo-labels of ``semfid-pseudo-label``).

Needs the optional extra ``vlm`` (transformers). The model is loaded exactly as
:class:`~semfidelity.selection.judges.hf.HFJudge` loads it (:func:`~.hf.load_vlm`: a Hub id or a
local folder, local files only when offline); decoding is greedy (``do_sample=False``), so a
caption is deterministic for a given model, image and prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from semfidelity.io import load_image
from semfidelity.selection.judges.base import to_pil
from semfidelity.selection.judges.hf import DEFAULT_MODEL, load_vlm

__all__ = ["HFCaptioner"]

logger = logging.getLogger(__name__)


class HFCaptioner:
    """``caption(paths) -> list[str]`` with a local image-text-to-text model.

    Args:
        model: a Hub id or local folder (default BLIP-2 OPT-2.7b, as the judge), or a ready
            model object (then pass ``processor``).
        processor: the model's processor when ``model`` is an object.
        prompt: text given with each image (BLIP-2 captions from an empty prompt; chat VLMs
            want an instruction such as ``"Describe the image in one sentence."``). The prompt
            is removed from the generated text.
        max_new_tokens: caption length limit in tokens.
        device, dtype, batch_size, **load_kwargs: as :class:`~.hf.HFJudge`.
    """

    def __init__(
        self,
        model: str | Any = DEFAULT_MODEL,
        *,
        processor: Any = None,
        prompt: str = "",
        max_new_tokens: int = 30,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        batch_size: int = 8,
        **load_kwargs: Any,
    ) -> None:
        for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt: expected a str, got {type(prompt).__name__}")
        self.device = torch.device(
            device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            model, processor = load_vlm(str(model), dtype, load_kwargs)
        elif processor is None:
            raise ValueError("processor: required when model is a model object, not an id/path")
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.prompt, self.max_new_tokens, self.batch_size = prompt, max_new_tokens, batch_size

    def __repr__(self) -> str:
        return f"HFCaptioner(model={type(self.model).__name__}, device={self.device})"

    @torch.no_grad()
    def caption_images(self, images: Sequence[Any]) -> list[str]:
        """Captions of PIL images (or ``(3, H, W)`` float tensors in [0, 1])."""
        pils = [im if not isinstance(im, torch.Tensor) else to_pil(im) for im in images]
        out: list[str] = []
        for start in range(0, len(pils), self.batch_size):
            chunk = pils[start : start + self.batch_size]
            inputs = self.processor(
                images=chunk, text=[self.prompt] * len(chunk), return_tensors="pt"
            )
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
            ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
            prompt_ids = inputs.get("input_ids")
            if prompt_ids is not None and ids.shape[1] >= prompt_ids.shape[1]:
                if torch.equal(ids[:, : prompt_ids.shape[1]], prompt_ids):
                    ids = ids[:, prompt_ids.shape[1] :]  # generate echoed the prompt
            texts = self.processor.batch_decode(ids, skip_special_tokens=True)
            out.extend(" ".join(t.split()) for t in texts)
        return out

    def caption(self, paths: Sequence[Path]) -> list[str]:
        """Captions of image files (any mode :func:`semfidelity.io.load_image` reads)."""
        return self.caption_images([to_pil(load_image(p)[0]) for p in paths])
