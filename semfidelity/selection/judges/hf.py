"""A local judge: a transformers vision-language model answering yes/no questions per image.

Needs the optional extra ``vlm`` (``pip install semfidelity[vlm]``, i.e. ``transformers``).
Each image is asked a few yes/no questions about artifacts, foreign content and realism (BLIP-2
style prompts ``"Question: ... Answer:"``); the answer is read from the next-token logits as
``P(yes) = softmax(logit_yes, logit_no)[yes]``, no text is generated. The image's score is the
mean over questions of ``P(yes)`` (good-if-yes questions) or ``1 - P(yes)``.

Model weights are loaded with ``from_pretrained`` (a Hub id or a local folder) and not through
``semfidelity.weights``: the judge model is the user's choice among many multi-GB VLMs with
their own licences, and transformers already verifies and caches them (see docs/selection.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from semfidelity.selection.judges.base import check_images, to_pil
from semfidelity.weights import offline_reason

__all__ = ["HFJudge", "DEFAULT_QUESTIONS", "DEFAULT_MODEL", "load_vlm"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Salesforce/blip2-opt-2.7b"

#: (question, whether "yes" is the trustworthy answer)
DEFAULT_QUESTIONS: tuple[tuple[str, bool], ...] = (
    (
        "Does this image contain visible artifacts such as noise, blur, ringing or distorted "
        "textures?",
        False,
    ),
    ("Does this image contain objects or regions that do not belong in the scene?", False),
    ("Is this a realistic, natural-looking high-quality photo?", True),
)

_YES = ("yes", " yes", "Yes", " Yes")
_NO = ("no", " no", "No", " No")


def _single_token_ids(tokenizer: Any, variants: Sequence[str]) -> list[int]:
    ids = set()
    unk = getattr(tokenizer, "unk_token_id", None)
    for v in variants:
        tok = tokenizer(v, add_special_tokens=False)["input_ids"]
        if len(tok) == 1 and tok[0] != unk:
            ids.add(int(tok[0]))
    return sorted(ids)


def load_vlm(model_id: str, dtype: torch.dtype | None, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """``(model, processor)`` of a local image-text-to-text model (a Hub id or a folder).

    Loaded with ``AutoModelForImageTextToText`` / ``AutoProcessor``; local files only when
    ``SEMFID_OFFLINE``/``HF_HUB_OFFLINE`` is set. Shared by :class:`HFJudge` and the captioner.
    """
    try:
        from transformers import AutoModelForImageTextToText, AutoProcessor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("local VLMs need transformers: pip install 'semfidelity[vlm]'") from exc
    if dtype is not None:
        kwargs = {**kwargs, "dtype": dtype}
    if offline_reason() is not None:  # SEMFID_OFFLINE / HF_HUB_OFFLINE: local files only
        kwargs = {**kwargs, "local_files_only": True}
    logger.info("loading VLM %s", model_id)
    processor = AutoProcessor.from_pretrained(
        model_id,
        **{k: v for k, v in kwargs.items() if k in ("revision", "local_files_only", "cache_dir")},
    )
    model = AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
    return model, processor


class HFJudge:
    """Score and rank images with a local image-text-to-text model by P("yes").

    Args:
        model: a Hub id or local folder (loaded with ``AutoModelForImageTextToText`` and
            ``AutoProcessor``), or a ready model (then pass ``processor``). Default BLIP-2
            OPT-2.7b.
        processor: the model's processor (tokenizer + image processor) when ``model`` is an
            object.
        questions: ``(question, yes_is_good)`` pairs.
        prompt: template with ``{question}``; BLIP-2 expects ``"Question: {question} Answer:"``.
        device: where the model runs; default: CUDA when available.
        dtype: model dtype when loading (e.g. ``torch.float16`` on GPU).
        batch_size: images per forward pass.
        **load_kwargs: passed to ``from_pretrained`` (``revision``, ``local_files_only``...).
    """

    def __init__(
        self,
        model: str | Any = DEFAULT_MODEL,
        *,
        processor: Any = None,
        questions: Sequence[tuple[str, bool]] = DEFAULT_QUESTIONS,
        prompt: str = "Question: {question} Answer:",
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        batch_size: int = 8,
        **load_kwargs: Any,
    ) -> None:
        if not questions or not all(
            isinstance(q, str) and isinstance(good, bool) for q, good in questions
        ):
            raise ValueError(
                f"questions: expected (str, bool) pairs (question, yes_is_good), got {questions!r}"
            )
        if "{question}" not in prompt:
            raise ValueError(f"prompt: must contain '{{question}}', got {prompt!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        self.device = torch.device(
            device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            model, processor = load_vlm(str(model), dtype, load_kwargs)
        elif processor is None:
            raise ValueError("processor: required when model is a model object, not an id/path")
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.questions = tuple((q, good) for q, good in questions)
        self.prompt = prompt
        self.batch_size = batch_size
        tokenizer = getattr(processor, "tokenizer", processor)
        self._yes = _single_token_ids(tokenizer, _YES)
        self._no = _single_token_ids(tokenizer, _NO)
        if not self._yes or not self._no:
            raise ValueError(
                "processor: the tokenizer has no single token for 'yes'/'no'; HFJudge reads "
                "P(yes) from next-token logits and needs both"
            )

    def __repr__(self) -> str:
        return f"HFJudge(model={type(self.model).__name__}, device={self.device})"

    @torch.no_grad()
    def p_yes(self, images: torch.Tensor, question: str) -> torch.Tensor:
        """``(N,)`` probability that the model answers "yes" to ``question`` for each image."""
        images = check_images(images)
        text = self.prompt.format(question=question)
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            pils = [to_pil(im) for im in images[start : start + self.batch_size]]
            inputs = self.processor(images=pils, text=[text] * len(pils), return_tensors="pt")
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
            logits = self.model(**inputs).logits[:, -1].float()
            yes = logits[:, self._yes].logsumexp(dim=-1)
            no = logits[:, self._no].logsumexp(dim=-1)
            out.append(torch.stack([yes, no], dim=-1).softmax(dim=-1)[:, 0].cpu())
        return torch.cat(out)

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """``(N,)`` trustworthiness in [0, 1], higher is better (mean over the questions)."""
        parts = []
        for question, yes_is_good in self.questions:
            p = self.p_yes(images, question)
            parts.append(p if yes_is_good else 1.0 - p)
        return torch.stack(parts).mean(dim=0)

    def rank(self, images: torch.Tensor) -> list[int]:
        """Indices from the highest to the lowest score (ties by index)."""
        s = self.scores(images).tolist()
        return sorted(range(len(s)), key=lambda i: (-s[i], i))
