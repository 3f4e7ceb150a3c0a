"""Option validators shared by several metric modules (each raises naming the option)."""

from __future__ import annotations

import math

from semfidelity.functional.edges import EDGE_METHODS
from semfidelity.functional.wavelets import DWT_MODES, min_side

__all__ = [
    "check_bool",
    "check_unit_interval",
    "check_crop_border",
    "check_edge_option",
    "check_wavelet_options",
]


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return value


def check_unit_interval(name: str, value: object, allow_nan: bool = False) -> float:
    """A float in [0, 1] (or NaN when ``allow_nan``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a float, got {type(value).__name__} {value!r}")
    if allow_nan and math.isnan(value):
        return float(value)
    if not 0.0 <= value <= 1.0:
        also = " or NaN" if allow_nan else ""
        raise ValueError(f"{name}: expected a value in [0, 1]{also}, got {value!r}")
    return float(value)


def check_crop_border(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"crop_border: expected a non-negative int, got {value!r}")
    return value


def check_edge_option(edge: object, as_loss: bool) -> str:
    """Validate the ``edge`` option of the TWS edge term (``edge_ssim`` and ``tws``)."""
    if edge not in EDGE_METHODS:
        raise ValueError(f"edge: expected one of {EDGE_METHODS}, got {edge!r}")
    if edge == "canny" and as_loss:
        raise ValueError("edge: 'canny' is not differentiable; use edge='sobel' with as_loss")
    return edge


def check_wavelet_options(wavelet: object, levels: object, mode: object = "symmetric") -> int:
    """Validate the TWS wavelet-term options (``wavelet`` and ``tws``).

    Returns the smallest image side they need: ``(filter_length - 1) * 2**levels``.
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels: expected an int >= 1, got {levels!r}")
    if mode not in DWT_MODES:
        raise ValueError(f"mode: expected one of {DWT_MODES}, got {mode!r}")
    return min_side(wavelet, levels)  # also validates the wavelet name
