"""A judge behind any OpenAI-compatible chat-completions endpoint (GPT-4o by default).

The protocol follows the TWS paper (Korkmaz et al.): the candidates are shown in batches of 10
as base64 PNG images, with a context prompt and per-image questions; the model names the best
image of each batch and its top-k. The batch winners then meet in a final round (recursively,
when there are more than 10 batches) that orders them. Prompts and the exact answer format are
documented in ``docs/selection.md``.

Only ``base_url`` is ever contacted; proxies are used only when passed explicitly.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from semfidelity.selection.judges.base import JudgeError, check_images, png_bytes

__all__ = ["OpenAIJudge", "CONTEXT_PROMPT", "IMAGE_QUESTIONS", "ANSWER_FORMAT"]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"

CONTEXT_PROMPT = (
    "You are an expert in image quality assessment for image super-resolution. You will see "
    "{n} candidate super-resolved images, labelled Image 1 to Image {n}. A generative "
    "(diffusion) super-resolution model produced all of them from the same low-resolution "
    "input, so they show the same scene and differ only in the details the model generated. "
    "Judge how trustworthy each image is: faithful to a plausible scene, free of artifacts, "
    "with no invented or foreign content."
)

IMAGE_QUESTIONS = (
    "Does the image contain visible artifacts (noise, blur, ringing, blocking, broken or "
    "doubled edges, unnatural texture)?",
    "Does any region show content that is implausible or foreign to the scene (objects, "
    "shapes, text or textures that do not belong there)?",
    "Are fine details sharp and natural, and consistent with the rest of the image?",
)

ANSWER_FORMAT = (
    "Answer these questions for every image and compare the images. Then reply with only a "
    'JSON object and no other text: {{"best": <label>, "top_k": [<label>, ...]}} where '
    '"best" is the label of the most trustworthy image and "top_k" lists the labels of the '
    "{k} most trustworthy images, best first, without repeats. Labels are the integers 1 to "
    "{n}."
)

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class _BatchAnswer:
    """0-based positions within a batch, best first; ``top[0]`` is the batch's best."""

    top: list[int]


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

    # ---------------------------------------------------------------- protocol
    def rank(self, images: torch.Tensor) -> list[int]:
        """Order ``(N, 3, H, W)`` images from the most to the least trustworthy.

        Batches of ``batch_size`` are judged independently (best + top-k each); the batch
        winners are then ordered by a final round (recursively). The result lists the winners
        in final-round order, then the runners-up by their position in their batch's top-k
        (batches taken in their winner's order), then the rest in input order.
        """
        images = check_images(images)
        return self._rank(list(range(images.shape[0])), images, self.top_k)

    def _rank(self, indices: list[int], images: torch.Tensor, k: int) -> list[int]:
        if len(indices) == 1:
            return list(indices)
        batches = [
            indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)
        ]
        answers = {}
        for b, batch in enumerate(batches):
            if len(batch) == 1:
                answers[b] = _BatchAnswer([0])
            else:
                answers[b] = self._judge_batch(images[batch], min(k, len(batch)))
        if len(batches) == 1:
            top = [batches[0][i] for i in answers[0].top]
            return top + [i for i in indices if i not in top]
        winner_of = {batches[b][answers[b].top[0]]: b for b in range(len(batches))}
        winners = self._rank(list(winner_of), images, len(winner_of))
        order = list(winners)
        for pos in range(1, max(len(a.top) for a in answers.values())):
            for w in winners:
                b = winner_of[w]
                if pos < len(answers[b].top):
                    order.append(batches[b][answers[b].top[pos]])
        placed = set(order)
        return order + [i for i in indices if i not in placed]

    # ----------------------------------------------------------------- request
    def build_request(self, images: torch.Tensor, k: int) -> dict[str, Any]:
        """The chat-completions request body for one batch of ``(n, 3, H, W)`` images."""
        n = images.shape[0]
        questions = "\n".join(f"{j}. {q}" for j, q in enumerate(IMAGE_QUESTIONS, start=1))
        parts: list[dict[str, Any]] = [
            {
                "type": "text",
                "text": f"Questions for each image:\n{questions}\n\n"
                + ANSWER_FORMAT.format(k=k, n=n),
            }
        ]
        for j in range(n):
            data = base64.b64encode(png_bytes(images[j])).decode("ascii")
            parts.append({"type": "text", "text": f"Image {j + 1}:"})
            parts.append(
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{data}", "detail": self.detail},
                }
            )
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": CONTEXT_PROMPT.format(n=n)},
                {"role": "user", "content": parts},
            ],
        }
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def _judge_batch(self, images: torch.Tensor, k: int) -> _BatchAnswer:
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
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            retry_after: float | None = None
            try:
                with self._opener.open(request, timeout=self.timeout) as resp:
                    payload = resp.read()
                return _message_content(payload)
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                if exc.code not in _RETRY_STATUS:
                    raise JudgeError(f"{url} answered HTTP {exc.code}: {detail}") from exc
                reason = f"HTTP {exc.code}"
                retry_after = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            if attempt == self.max_retries:
                raise JudgeError(
                    f"{url} failed after {self.max_retries + 1} attempts; last error: {reason}"
                )
            delay = self.backoff * 2**attempt if retry_after is None else retry_after
            delay = min(delay, self.backoff_max)
            logger.warning("judge request failed (%s); retrying in %.1f s", reason, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _message_content(payload: bytes) -> str:
    """The first choice's message text of a chat-completions response ('' if absent)."""
    try:
        data = json.loads(payload)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return payload[:300].decode("utf-8", "replace")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def parse_answer(content: str, *, n: int, k: int) -> _BatchAnswer:
    """Parse ``{"best": label, "top_k": [labels]}`` (1-based labels) into 0-based positions.

    Tolerates a Markdown code fence around the JSON. ``best`` leads the result; when the model
    left it out of ``top_k`` it replaces the last entry. Raises ``ValueError`` otherwise.
    """
    text = content.strip()
    fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.DOTALL)
    if fence:
        text = fence.group(1)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict) or "best" not in data or "top_k" not in data:
        raise ValueError('expected an object with keys "best" and "top_k"')
    best, top = data["best"], data["top_k"]
    labels: Sequence[Any] = top if isinstance(top, list) else []
    if not labels or not all(_is_label(x, n) for x in [best, *labels]):
        raise ValueError(f"labels must be integers in 1..{n}")
    labels = [int(x) for x in labels]
    if len(set(labels)) != len(labels) or len(labels) != k:
        raise ValueError(f'"top_k" must list {k} distinct labels, got {labels}')
    best = int(best)
    ordered = [best] + [x for x in labels if x != best]
    return _BatchAnswer([x - 1 for x in ordered[:k]])


def _is_label(x: Any, n: int) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, str) and x.strip().isdigit():
        x = int(x)
    return isinstance(x, int) and 1 <= x <= n
