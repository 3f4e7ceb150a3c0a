"""Toy metrics for the semfid-score tests, registered only inside ``with registered():``.

They must not stay in the registry: other tests loop over every registered metric. (A
subprocess gets them with ``--plugin toy_plugin``.)

They exercise the generic CLI paths without waiting for the real metrics: a spatial map
(``toy_absdiff``), components (``toy_parts``), a large ``min_size`` (``toy_big``), a metric that
fails on some images (``toy_fail``), a slow one for the kill-and-resume test (``toy_slow``, sleeps
``SEMFID_TOY_SLEEP`` seconds per batch) and an amp-safe one (``toy_amp``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from semfidelity import registry
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

TOYS: dict[str, tuple[type, dict]] = {}


def toy(name: str, **meta):
    """Remember a toy metric class and its registry metadata (registered by :func:`register`)."""

    def deco(cls):
        TOYS[name] = (cls, meta)
        return cls

    return deco


def register() -> None:
    for name, (cls, meta) in TOYS.items():
        if name not in registry._REGISTRY:
            register_metric(name, **meta)(cls)


def unregister() -> None:
    for name in TOYS:
        registry._REGISTRY.pop(name, None)


@contextmanager
def registered() -> Iterator[None]:
    register()
    try:
        yield
    finally:
        unregister()


@toy("toy_absdiff", lower_better=True, score_range=(0.0, 1.0), has_map=True)
class AbsDiff(Metric):
    """Mean absolute difference; map = per-pixel mean over channels."""

    def score(self, pred, target):
        return (pred - target).abs().mean(dim=(1, 2, 3))

    def compute_map(self, pred, target):
        return (pred - target).abs().mean(dim=1, keepdim=True)


@toy("toy_parts", lower_better=False, score_range=(0.0, 1.0), has_components=True)
class Parts(Metric):
    """Total = mean of two parts (1 - mean abs diff of the red / of the blue channel)."""

    component_names = ("red", "blue", "toy_parts")

    def compute_components(self, pred, target):
        a = 1 - (pred[:, 0] - target[:, 0]).abs().mean(dim=(1, 2))
        b = 1 - (pred[:, 2] - target[:, 2]).abs().mean(dim=(1, 2))
        return {"red": a, "blue": b, "toy_parts": (a + b) / 2}

    def score(self, pred, target):
        return self.compute_components(pred, target)["toy_parts"]


@toy("toy_big", lower_better=True, score_range=(0.0, 1.0), min_size=24)
class Big(AbsDiff):
    """Like toy_absdiff but needs images of at least 24x24."""


@toy("toy_fail", lower_better=True, score_range=(0.0, 1.0))
class Fail(Metric):
    """Raises on any pred whose mean is above 0.9 (a 'white' image), else mean abs diff."""

    def score(self, pred, target):
        if (pred.mean(dim=(1, 2, 3)) > 0.9).any():
            raise RuntimeError("toy failure on a white image")
        return (pred - target).abs().mean(dim=(1, 2, 3))


@toy("toy_slow", lower_better=True, score_range=(0.0, 1.0))
class Slow(AbsDiff):
    """toy_absdiff that sleeps SEMFID_TOY_SLEEP seconds per batch."""

    def score(self, pred, target):
        time.sleep(float(os.environ.get("SEMFID_TOY_SLEEP", "0")))
        return super().score(pred, target)


@toy("toy_amp", lower_better=True, score_range=(0.0, 1.0), amp_safe=True)
class Amp(Metric):
    """Reports 1.0 when run under autocast, else 0.0 (so the test sees --amp take effect)."""

    def score(self, pred, target):
        on = torch.is_autocast_enabled(pred.device.type)
        return torch.full((pred.shape[0],), float(on), device=pred.device)
