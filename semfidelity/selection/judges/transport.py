"""POST to a chat-completions endpoint with retries and backoff (standard library only)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable

from semfidelity.selection.judges.answers import message_content
from semfidelity.selection.judges.base import JudgeError

__all__ = ["RETRY_STATUS", "post_chat"]

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def post_chat(
    opener: urllib.request.OpenerDirector,
    url: str,
    body: bytes,
    *,
    api_key: str | None,
    timeout: float,
    max_retries: int,
    backoff: float,
    backoff_max: float,
    sleep: Callable[[float], None],
) -> str:
    """POST one request; returns the assistant message content.

    HTTP 408/409/429/5xx, timeouts and connection errors are retried ``max_retries`` times,
    waiting ``backoff * 2**attempt`` seconds (a numeric ``Retry-After`` wins), capped at
    ``backoff_max``. Other HTTP errors raise :class:`JudgeError` at once with the server's
    message.
    """
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    for attempt in range(max_retries + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        retry_after: float | None = None
        try:
            with opener.open(request, timeout=timeout) as resp:
                payload = resp.read()
            return message_content(payload)
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code not in RETRY_STATUS:
                raise JudgeError(f"{url} answered HTTP {exc.code}: {detail}") from exc
            reason = f"HTTP {exc.code}"
            retry_after = _retry_after(exc.headers.get("Retry-After"))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt == max_retries:
            raise JudgeError(f"{url} failed after {max_retries + 1} attempts; last error: {reason}")
        delay = backoff * 2**attempt if retry_after is None else retry_after
        delay = min(delay, backoff_max)
        logger.warning("judge request failed (%s); retrying in %.1f s", reason, delay)
        sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
