"""Named evaluation protocols for ``semfid-score --protocol NAME``: a metric list and the
options that make the numbers comparable with a published table (docs/protocols.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Protocol", "PROTOCOLS", "protocol_metrics"]


@dataclass(frozen=True)
class Protocol:
    """``metrics`` in column order; ``options(scale)`` per metric; ``source`` in words."""

    name: str
    metrics: tuple[str, ...]
    source: str

    def options(self, scale: int) -> dict[str, dict[str, Any]]:
        if self.name == "basicsr":
            return {
                "psnr": {"y_channel": True, "crop_border": scale},
                "ssim": {"y_channel": True, "crop_border": scale},
                "niqe": {"y_channel": True, "crop_border": scale},
            }
        return {}


PROTOCOLS: dict[str, Protocol] = {
    "basicsr": Protocol(
        "basicsr",
        ("psnr", "ssim", "niqe"),
        "BasicSR test options (options/test/*.yml: metrics psnr and ssim with crop_border equal "
        "to the scale and test_y_channel true; calculate_niqe with crop_border and "
        "convert_to='y'), the convention of most SR papers since EDSR",
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
