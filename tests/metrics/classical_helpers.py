"""Helpers shared by the classical-metric tests (imported by module name, so a unique one)."""

from __future__ import annotations

import numpy as np
import torch

from semfidelity import create_metric


def cpu_metric(name: str, **options):
    return create_metric(name, device="cpu", **options)


def hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).double().numpy()


def np_y(x: torch.Tensor) -> np.ndarray:
    return (16.0 + hwc(x) @ np.array([65.481, 128.553, 24.966])) / 255.0
