"""The TWS mix ``(w_sem, w_edge, w_wav)``: validation, parsing, deprecated ``weights`` names.

Re-exported by :mod:`semfidelity.metrics.tws`, where users import it from.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

__all__ = ["normalise_tws_mix", "parse_tws_mix", "normalise_tws_weights", "parse_tws_weights"]


def normalise_tws_mix(mix: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(w_sem, w_edge, w_wav)`` (finite, >= 0, positive sum) and scale to sum 1."""
    if isinstance(mix, str) or not isinstance(mix, Sequence):
        raise TypeError(
            f"mix: expected a sequence of 3 numbers (semantic, edge, wavelet), "
            f"got {type(mix).__name__}; use parse_tws_mix for strings"
        )
    if len(mix) != 3:
        raise ValueError(
            f"mix: expected 3 numbers (semantic, edge, wavelet), got {len(mix)}: {tuple(mix)!r}"
        )
    try:
        w = tuple(float(x) for x in mix)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"mix: expected numbers, got {tuple(mix)!r}") from exc
    if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
        raise ValueError(
            f"mix: expected 3 finite non-negative numbers with a positive sum, got {w!r}"
        )
    s = sum(w)
    return (w[0] / s, w[1] / s, w[2] / s)


def parse_tws_mix(text: str) -> tuple[float, float, float]:
    """Parse ``"a,b,c"`` (semantic, edge, wavelet) into a normalised TWS mix.

    >>> parse_tws_mix("2,1,1")
    (0.5, 0.25, 0.25)
    """
    if not isinstance(text, str):
        raise TypeError(f"mix: expected a string 'a,b,c', got {type(text).__name__}")
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise ValueError(
            f"mix: expected three comma-separated numbers 'semantic,edge,wavelet' "
            f"(e.g. '0.5,0.25,0.25'), got {text!r}"
        ) from exc
    return normalise_tws_mix(values)


def normalise_tws_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    """Deprecated name of :func:`normalise_tws_mix`."""
    warnings.warn(
        "normalise_tws_weights is deprecated; use normalise_tws_mix", DeprecationWarning, 2
    )
    return normalise_tws_mix(weights)


def parse_tws_weights(text: str) -> tuple[float, float, float]:
    """Deprecated name of :func:`parse_tws_mix`."""
    warnings.warn("parse_tws_weights is deprecated; use parse_tws_mix", DeprecationWarning, 2)
    return parse_tws_mix(text)
