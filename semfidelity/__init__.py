"""semfidelity: semantic-fidelity and trustworthiness metrics for image super-resolution.

>>> import semfidelity
>>> m = semfidelity.create_metric("ssim")
>>> scores = m(pred, target)          # Tensor[B], one score per image
"""

from __future__ import annotations

import logging

from semfidelity import _moved
from semfidelity._version import __version__
from semfidelity.calibration import fit_tws_mix, fit_tws_weights
from semfidelity.factory import create_metric, list_metrics, metric_info
from semfidelity.metric import Metric
from semfidelity.registry import MetricSpec, register_metric

__all__ = [
    "__version__",
    "Metric",
    "MetricSpec",
    "create_metric",
    "fit_tws_mix",
    "fit_tws_weights",
    "list_metrics",
    "metric_info",
    "register_metric",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
_moved.install()
