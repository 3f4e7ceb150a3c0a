"""``METRIC.NAME=VALUE`` metric options shared by the command-line tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["parse_metric_options"]


def parse_metric_options(
    items: Sequence[str], metrics: Sequence[str] | None = None, *, flag: str = "--opt"
) -> dict[str, dict[str, Any]]:
    """Parse repeated ``METRIC.NAME=VALUE`` items into ``{metric: {name: value}}``.

    VALUE is parsed as JSON when it can be (``true``, ``4``, ``[0.5, 0.25, 0.25]``), else kept
    as a string. With ``metrics`` given, every metric name must be one of them (case-insensitive)
    and each of them gets an entry. Raises ``ValueError`` naming ``flag`` and the bad item.
    """
    known = {m.lower() for m in metrics} if metrics is not None else None
    opts: dict[str, dict[str, Any]] = {m.lower(): {} for m in metrics or ()}
    for item in items:
        head, sep, raw = item.partition("=")
        metric, dot, name = head.partition(".")
        if not (sep and dot and metric and name):
            raise ValueError(f"{flag}: expected METRIC.NAME=VALUE, got {item!r}")
        if known is not None and metric.lower() not in known:
            raise ValueError(
                f"{flag} {item!r}: metric {metric!r} is not in --metrics {list(metrics)}"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        opts.setdefault(metric.lower(), {})[name] = value
    return opts
