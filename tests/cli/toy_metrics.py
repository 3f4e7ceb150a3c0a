"""Toy metrics for the semfid-score tests (import to register; also usable as ``--plugin``).

They exercise the generic CLI paths without waiting for the real metrics: a spatial map
(``toy_absdiff``), components (``toy_parts``), a large ``min_size`` (``toy_big``), a metric that
fails on some images (``toy_fail``), a slow one for the kill-and-resume test (``toy_slow``, sleeps
``SEMFID_TOY_SLEEP`` seconds per batch) and an amp-safe one (``toy_amp``).
"""

from __future__ import annotations

import os
import time

import torch

from semfidelity.metric import Metric
from semfidelity.registry import register_metric


@register_metric("toy_absdiff", lower_better=True, score_range=(0.0, 1.0), has_map=True)
class AbsDiff(Metric):
    """Mean absolute difference; map = per-pixel mean over channels."""

    def score(self, pred, target):
        return (pred - target).abs().mean(dim=(1, 2, 3))

    def compute_map(self, pred, target):
        return (pred - target).abs().mean(dim=1, keepdim=True)


@register_metric("toy_parts", lower_better=False, score_range=(0.0, 1.0), has_components=True)
class Parts(Metric):
    """Total = mean of two parts (1 - mean abs diff of the red / of the blue channel)."""

    def compute_components(self, pred, target):
        a = 1 - (pred[:, 0] - target[:, 0]).abs().mean(dim=(1, 2))
        b = 1 - (pred[:, 2] - target[:, 2]).abs().mean(dim=(1, 2))
        return {"red": a, "blue": b, "toy_parts": (a + b) / 2}

    def score(self, pred, target):
        return self.compute_components(pred, target)["toy_parts"]


@register_metric("toy_big", lower_better=True, score_range=(0.0, 1.0), min_size=24)
class Big(AbsDiff):
    """Like toy_absdiff but needs images of at least 24x24."""


@register_metric("toy_fail", lower_better=True, score_range=(0.0, 1.0))
class Fail(Metric):
    """Raises on any pred whose mean is above 0.9 (a 'white' image), else mean abs diff."""

    def score(self, pred, target):
        if (pred.mean(dim=(1, 2, 3)) > 0.9).any():
            raise RuntimeError("toy failure on a white image")
        return (pred - target).abs().mean(dim=(1, 2, 3))


@register_metric("toy_slow", lower_better=True, score_range=(0.0, 1.0))
class Slow(AbsDiff):
    """toy_absdiff that sleeps SEMFID_TOY_SLEEP seconds per batch."""

    def score(self, pred, target):
        time.sleep(float(os.environ.get("SEMFID_TOY_SLEEP", "0")))
        return super().score(pred, target)


@register_metric("toy_amp", lower_better=True, score_range=(0.0, 1.0), amp_safe=True)
class Amp(Metric):
    """Reports 1.0 when run under autocast, else 0.0 (so the test sees --amp take effect)."""

    def score(self, pred, target):
        on = torch.is_autocast_enabled(pred.device.type)
        return torch.full((pred.shape[0],), float(on), device=pred.device)
