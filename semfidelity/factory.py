"""The registry's public face: :func:`create_metric`, :func:`list_metrics`, :func:`metric_info`.

Importing this module imports :mod:`semfidelity.metrics`, which registers every built-in metric
in :mod:`semfidelity.registry`; the registry itself imports nothing of the package, so the
import graph has no circle.
"""

from __future__ import annotations

from typing import Any

import torch

import semfidelity.metrics  # noqa: F401  (registers the built-in metrics)
from semfidelity.metric import Metric
from semfidelity.registry import check_options, get_spec, list_metrics

__all__ = ["create_metric", "list_metrics", "metric_info"]


def create_metric(
    name: str,
    device: str | torch.device | None = None,
    as_loss: bool = False,
    **options: Any,
) -> Metric:
    """Build a registered metric.

    Args:
        name: registry name (see :func:`list_metrics`); case-insensitive.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks CUDA when available.
        as_loss: return a lower-better scalar loss with gradients to ``pred``.
        **options: metric-specific options (see ``metric_info(name)["options"]``).

    Raises:
        ValueError: unknown metric name (with "did you mean" suggestions) or bad option value.
        TypeError: unknown option name.
    """
    spec = get_spec(name)
    check_options(spec, options)
    metric = spec.factory(device=device, as_loss=as_loss, **options)
    if not isinstance(metric, Metric):
        raise TypeError(f"factory of {spec.name!r} returned {type(metric).__name__}, not a Metric")
    metric.spec = spec
    return metric.finalize()


def metric_info(name: str) -> dict[str, Any]:
    """Metadata of a registered metric as a dict (orientation, range, options, weights...)."""
    spec = get_spec(name)
    info = spec.as_dict()
    info["options"] = spec.options()
    return info
