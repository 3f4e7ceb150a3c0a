"""A judge behind any OpenAI-compatible chat-completions endpoint (GPT-4o by default).

The protocol follows the TWS paper (Korkmaz et al.): the candidates are shown in batches of 10
as base64 PNG images, with a context prompt and per-image questions; the model names the best
image of each batch and its top-k. The batch winners then meet in a final round (recursively,
when there are more than 10 batches) that orders them. Prompts and the exact answer format are
documented in ``docs/selection.md``. The pieces live in their own modules: ``prompts`` (the
texts and the request body), ``transport`` (HTTP with retries), ``answers`` (parsing the reply)
and ``tournament`` (the batched rounds); this module only ties them together.

Only ``base_url`` is ever contacted; proxies are used only when passed explicitly.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import torch

from semfidelity.selection.judges.answers import BatchAnswer, parse_answer
from semfidelity.selection.judges.base import JudgeError, check_images
from semfidelity.selection.judges.prompts import (
    ANSWER_FORMAT,
    CONTEXT_PROMPT,
    IMAGE_QUESTIONS,
    build_request,
)
from semfidelity.selection.judges.tournament import tournament
from semfidelity.selection.judges.transport import post_chat

__all__ = ["OpenAIJudge", "CONTEXT_PROMPT", "IMAGE_QUESTIONS", "ANSWER_FORMAT", "parse_answer"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIJudge:
    """Rank SR candidates with a vision-language model over the chat-completions API.

    Args:
        model: model name sent in each request (default ``"gpt-4o"``).
        base_url: API root, e.g. ``"https://api.openai.com/v1"`` or a local server
            (vLLM, Ollama, LM Studio...); default ``$OPENAI_BASE_URL`` or the OpenAI API.
            Requests go to ``{base_url}/chat/completions``.
        api_key: bearer token; default ``$OPENAI_API_KEY``. Required for the OpenAI API,
            optional for other endpoints.
        batch_size: images per request (the paper's 10).
        top_k: how many of each batch the model ranks (the paper's 5).
        detail: OpenAI image detail level (``"high"``, ``"low"``, ``"auto"``).
        json_mode: send ``response_format={"type": "json_object"}``.
        timeout: seconds per HTTP request.
        max_retries: retries after a 408/409/429/5xx reply, a timeout or a connection error.
        max_malformed: extra attempts when a reply is not the requested JSON.
        backoff: first retry delay in seconds; doubles each retry, capped at ``backoff_max``.
            A numeric ``Retry-After`` header overrides it (also capped).
        proxies: explicit ``{"https": "http://proxy:3128"}``; by default no proxy is used.
        sleep: the function that waits between retries (injectable for tests).
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 10,
        top_k: int = 5,
        detail: str = "high",
        json_mode: bool = True,
        timeout: float = 120.0,
        max_retries: int = 5,
        max_malformed: int = 2,
        backoff: float = 2.0,
        backoff_max: float = 60.0,
        proxies: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ValueError(f"model: expected a non-empty model name, got {model!r}")
        for arg, value, low in (
            ("batch_size", batch_size, 2),
            ("top_k", top_k, 1),
            ("max_retries", max_retries, 0),
            ("max_malformed", max_malformed, 0),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{arg}: expected an int >= {low}, got {value!r}")
        if detail not in ("high", "low", "auto"):
            raise ValueError(f"detail: expected 'high', 'low' or 'auto', got {detail!r}")
        if not timeout > 0 or not backoff >= 0 or not backoff_max >= 0:
            raise ValueError("timeout must be > 0 and backoff, backoff_max >= 0")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        if not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ValueError(f"base_url: expected an http(s) URL, got {self.base_url!r}")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not self.api_key and self.base_url == DEFAULT_BASE_URL:
            raise ValueError(
                "api_key: the OpenAI API needs a key; pass api_key=... or set OPENAI_API_KEY "
                "(or point base_url / OPENAI_BASE_URL at another OpenAI-compatible server)"
            )
        self.batch_size = batch_size
        self.top_k = top_k
        self.detail = detail
        self.json_mode = json_mode
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.max_malformed = max_malformed
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self._sleep = sleep
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies or {}))

    def __repr__(self) -> str:
        return f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r})"

    def rank(self, images: torch.Tensor) -> list[int]:
        """Order ``(N, 3, H, W)`` images from the most to the least trustworthy.

        Batches of ``batch_size`` are judged independently (best + top-k each); the batch
        winners are then ordered by a final round (recursively). The result lists the winners
        in final-round order, then the runners-up by their position in their batch's top-k
        (batches taken in their winner's order), then the rest in input order.
        """
        images = check_images(images)
        return tournament(
            list(range(images.shape[0])),
            lambda batch, k: self._judge_batch(images[batch], k),
            batch_size=self.batch_size,
            k=self.top_k,
        )

    def build_request(self, images: torch.Tensor, k: int) -> dict[str, Any]:
        """The chat-completions request body for one batch of ``(n, 3, H, W)`` images."""
        return build_request(
            images, k, model=self.model, detail=self.detail, json_mode=self.json_mode
        )

    def _judge_batch(self, images: torch.Tensor, k: int) -> BatchAnswer:
        body = json.dumps(self.build_request(images, k)).encode("utf-8")
        n = images.shape[0]
        last = ""
        for attempt in range(self.max_malformed + 1):
            content = self._post(body)
            try:
                return parse_answer(content, n=n, k=k)
            except ValueError as exc:
                last = f"{exc}; reply: {content[:300]!r}"
                logger.warning("malformed judge reply (attempt %d): %s", attempt + 1, last)
        raise JudgeError(
            f"{self!r}: the model's reply stayed malformed after {self.max_malformed + 1} "
            f'attempts (expected JSON {{"best": label, "top_k": [{k} labels]}} with labels '
            f"1..{n}): {last}"
        )

    def _post(self, body: bytes) -> str:
        """POST one request with retries; returns the assistant message content."""
        return post_chat(
            self._opener,
            f"{self.base_url}/chat/completions",
            body,
            api_key=self.api_key,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
            backoff_max=self.backoff_max,
            sleep=self._sleep,
        )
