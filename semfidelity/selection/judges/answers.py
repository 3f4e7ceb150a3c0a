"""Parsing the judge's reply ``{"best": label, "top_k": [labels]}`` (1-based labels)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["BatchAnswer", "parse_answer", "message_content"]


@dataclass(frozen=True)
class BatchAnswer:
    """0-based positions within a batch, best first; ``top[0]`` is the batch's best."""

    top: list[int]


def message_content(payload: bytes) -> str:
    """The first choice's message text of a chat-completions response (the raw start of the
    payload when it is not one, so that the malformed-reply error can quote it)."""
    try:
        data = json.loads(payload)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return payload[:300].decode("utf-8", "replace")
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def parse_answer(content: str, *, n: int, k: int) -> BatchAnswer:
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
    return BatchAnswer([x - 1 for x in ordered[:k]])


def _is_label(x: Any, n: int) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, str) and x.strip().isdigit():
        x = int(x)
    return isinstance(x, int) and 1 <= x <= n
