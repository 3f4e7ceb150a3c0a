"""Metric registry: one typed :class:`MetricSpec` per metric name, filled by ``@register_metric``.

Modelled on timm's model registry: the metadata lives beside the factory that builds the metric,
and :func:`semfidelity.create_metric` (in :mod:`semfidelity.factory`) is the single public
constructor. This module imports nothing of the package: metric modules import it to register
themselves, and :mod:`semfidelity.factory` imports the metric modules, so every lookup through
the package sees the built-in metrics without an import circle.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MetricSpec", "register_metric", "get_spec", "list_metrics", "check_options"]


@dataclass(frozen=True)
class MetricSpec:
    """Everything the library knows about one metric before it is built.

    Attributes:
        name: registry name, e.g. ``"ssim"``.
        factory: callable returning a :class:`semfidelity.metric.Metric`; its keyword-only
            parameters are the metric's options.
        lower_better: ``True`` when a lower score means a better (more faithful) image.
        score_range: numeric ``(low, high)``; ``math.inf`` for an open end.
        requires_reference: whether the metric compares against a reference (``target``).
        differentiable: whether gradients flow from the score to ``pred``.
        min_size: smallest accepted height/width in pixels.
        weights: ids in ``weights_manifest.json`` that the default configuration loads.
        description: one line for tables and ``--list``.
        has_map: the metric offers ``map(pred, target) -> (B,1,H,W)``.
        has_components: the metric offers ``components(pred, target) -> dict``.
        amp_safe: the metric may run its heavy parts under autocast.
        notes: free-form status for users (e.g. ``"uncalibrated"``).
        extra: free-form metadata for plugins; the library itself reads none of it.
    """

    name: str
    factory: Callable[..., Any]
    lower_better: bool
    score_range: tuple[float, float]
    requires_reference: bool = True
    differentiable: bool = True
    min_size: int = 1
    weights: tuple[str, ...] = ()
    description: str = ""
    has_map: bool = False
    has_components: bool = False
    amp_safe: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        low, high = self.score_range
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float))):
            raise TypeError(
                f"score_range of {self.name!r} must be numeric, got {self.score_range!r}"
            )
        if not low < high:
            raise ValueError(
                f"score_range of {self.name!r} must satisfy low < high, got {self.score_range!r}"
            )
        if self.min_size < 1:
            raise ValueError(f"min_size of {self.name!r} must be >= 1, got {self.min_size}")

    def options(self) -> dict[str, Any]:
        """The metric's options and their defaults (keyword parameters of the factory)."""
        params = inspect.signature(self.factory).parameters
        skip = {"self", "device", "as_loss"}
        return {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in params.items()
            if n not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly metadata (no factory)."""
        low, high = self.score_range
        return {
            "name": self.name,
            "lower_better": self.lower_better,
            "score_range": [
                low if math.isfinite(low) else None,
                high if math.isfinite(high) else None,
            ],
            "requires_reference": self.requires_reference,
            "differentiable": self.differentiable,
            "min_size": self.min_size,
            "weights": list(self.weights),
            "description": self.description,
            "has_map": self.has_map,
            "has_components": self.has_components,
            "amp_safe": self.amp_safe,
            "notes": self.notes,
        }


_REGISTRY: dict[str, MetricSpec] = {}


def register_metric(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class/function decorator that registers a metric factory under ``name``.

    ``meta`` holds the :class:`MetricSpec` fields other than ``name`` and ``factory``.
    Registering the same name twice raises ``ValueError``. One factory may be registered under
    several names by stacking decorators (each with its own metadata).
    """

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        spec = MetricSpec(name=name, factory=factory, **meta)
        _REGISTRY[name] = spec
        specs = dict(getattr(factory, "_semfid_specs", {}))
        specs[name] = spec
        factory._semfid_specs = specs  # type: ignore[attr-defined]
        return factory

    return deco


def get_spec(name: str) -> MetricSpec:
    """Return the spec of ``name``; unknown names raise ``ValueError`` with suggestions."""
    if not isinstance(name, str):
        raise TypeError(f"metric name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown metric {name!r}.{hint} Available: {', '.join(sorted(_REGISTRY))}")


def list_metrics(pattern: str | None = None) -> list[str]:
    """Sorted registered metric names, optionally filtered by a glob ``pattern`` (``"*ssim"``)."""
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern.lower())]
    return names


def check_options(spec: MetricSpec, options: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming any option the metric does not accept."""
    params = inspect.signature(spec.factory).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    valid = spec.options()
    unknown = [k for k in options if k not in valid]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, list(valid), n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise TypeError(
            f"metric {spec.name!r} got unknown option(s) {', '.join(hints)}; "
            f"valid options: {', '.join(sorted(valid)) or 'none'}"
        )
