"""semfidelity: semantic-fidelity and trustworthiness metrics for image super-resolution.

>>> import semfidelity
>>> m = semfidelity.create_metric("ssim")
>>> scores = m(pred, target)          # Tensor[B], one score per image
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from semfidelity.calibration import fit_tws_weights
from semfidelity.metric import Metric
from semfidelity.registry import MetricSpec, check_options, get_spec, list_metrics, register_metric

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Metric",
    "MetricSpec",
    "create_metric",
    "fit_tws_weights",
    "list_metrics",
    "metric_info",
    "register_metric",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())


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
