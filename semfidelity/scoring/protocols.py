"""Named evaluation protocols for ``semfid-score --protocol NAME``: a metric list and the
options that make the numbers comparable with a published table (docs/protocols.md).

A protocol may list metrics semfidelity does not implement (``missing``: MUSIQ, MANIQA). Such a
protocol is refused unless the caller accepts the omission (``--allow-missing-metrics``); the
card then records what was left out. A protocol with a combined score (``formula``) reports the
score only when every term was computed, else the available terms and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Protocol", "PROTOCOLS", "protocol_metrics", "formula_result"]

#: why the missing metrics are missing (docs/protocols.md, "Missing metrics")
MISSING_REASON = (
    "semfidelity does not implement MUSIQ or MANIQA: no permissively licensed weights with a "
    "parity reference were available to us"
)

_NTIRE_TERMS: dict[str, Callable[[float], float]] = {
    "lpips": lambda v: 1.0 - v,
    "dists": lambda v: 1.0 - v,
    "clipiqa": lambda v: v,
    "maniqa": lambda v: v,
    "musiq": lambda v: v / 100.0,
    "niqe": lambda v: max(0.0, (10.0 - v) / 10.0),
}


@dataclass(frozen=True)
class Protocol:
    """``metrics`` in column order (the ones semfidelity computes); ``missing``: metrics of the
    source's table we cannot compute; ``options(scale)`` per metric; ``source`` in words;
    ``formula``: a combined score (text) with its terms (``terms``) over the per-metric means."""

    name: str
    metrics: tuple[str, ...]
    source: str
    missing: tuple[str, ...] = ()
    formula: str | None = None
    terms: Mapping[str, Callable[[float], float]] = field(default_factory=dict)

    def options(self, scale: int) -> dict[str, dict[str, Any]]:
        if self.name == "basicsr":
            return {
                "psnr": {"y_channel": True, "crop_border": scale},
                "ssim": {"y_channel": True, "crop_border": scale},
                "niqe": {"y_channel": True, "crop_border": scale},
            }
        if self.name == "osediff":  # pyiqa psnr/ssim(test_y_channel=True), crop_border 0
            return {
                "psnr": {"y_channel": True, "crop_border": 0},
                "ssim": {"y_channel": True, "crop_border": 0},
                "lpips": {"net": "alex"},
                "niqe": {"crop_border": 0},
            }
        if self.name == "ntire-perceptual":  # pyiqa defaults on the full image
            return {"lpips": {"net": "alex"}, "niqe": {"crop_border": 0}}
        return {}


PROTOCOLS: dict[str, Protocol] = {
    "basicsr": Protocol(
        "basicsr",
        ("psnr", "ssim", "niqe"),
        "BasicSR test options (options/test/*.yml: metrics psnr and ssim with crop_border equal "
        "to the scale and test_y_channel true; calculate_niqe with crop_border and "
        "convert_to='y'), the convention of most SR papers since EDSR",
    ),
    "osediff": Protocol(
        "osediff",
        ("psnr", "ssim", "lpips", "dists", "fid", "niqe", "clipiqa"),
        "OSEDiff (Wu et al., NeurIPS 2024), test_metrics.py of github.com/cswry/OSEDiff: pyiqa "
        "psnr and ssim with test_y_channel=True (no border crop), lpips, dists, clipiqa, niqe, "
        "musiq, maniqa-pipal, and fid between the SR and GT folders; per-image means",
        missing=("musiq", "maniqa"),
    ),
    "ntire-perceptual": Protocol(
        "ntire-perceptual",
        ("lpips", "dists", "clipiqa", "niqe"),
        "NTIRE 2025 Image Super-Resolution (x4) Challenge, perceptual track (Chen et al., "
        "CVPRW 2025, arXiv:2504.14582; README 'Weighted score for Perception Quality Track' and "
        "metrics.py of github.com/zhengchen1999/NTIRE2025_ImageSR_x4): pyiqa lpips, dists, niqe, "
        "musiq, maniqa, clipiqa with default options on the full RGB image; the score is "
        "computed on the averaged metrics",
        missing=("musiq", "maniqa"),
        formula="(1 - LPIPS) + (1 - DISTS) + CLIPIQA + MANIQA + MUSIQ/100 + max(0, (10 - NIQE)/10)",
        terms=_NTIRE_TERMS,
    ),
}


def protocol_metrics(
    name: str, scale: int
) -> tuple[tuple[str, ...], dict[str, dict[str, Any]], str]:
    """Metrics, options and source of protocol ``name`` at ``scale``.

    Raises:
        ValueError: unknown protocol or a scale below 1.
    """
    if name not in PROTOCOLS:
        raise ValueError(f"--protocol: expected one of {sorted(PROTOCOLS)}, got {name!r}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"--scale: expected an int >= 1, got {scale!r}")
    p = PROTOCOLS[name]
    return p.metrics, p.options(scale), p.source


def formula_result(name: str, means: Mapping[str, float | None]) -> dict[str, Any] | None:
    """The combined score of protocol ``name`` from per-metric means: ``{"formula", "terms",
    "score", "reason"}``; ``score`` is ``None`` (with ``reason``) unless every term has a finite
    mean. ``None`` for a protocol without a formula."""
    p = PROTOCOLS[name]
    if p.formula is None:
        return None
    terms: dict[str, float | None] = {}
    absent = []
    for metric, term in p.terms.items():
        v = means.get(metric)
        if v is None or not math.isfinite(v):
            terms[metric] = None
            absent.append(metric)
        else:
            terms[metric] = term(v)
    if absent:
        why = [m for m in absent if m in p.missing]
        reason = (
            f"not computed: the formula needs {', '.join(absent)}"
            + (f"; {MISSING_REASON}" if why else "")
            + "; a score without those terms is not the challenge's score"
        )
        return {"formula": p.formula, "terms": terms, "score": None, "reason": reason}
    return {"formula": p.formula, "terms": terms, "score": sum(terms.values()), "reason": None}
