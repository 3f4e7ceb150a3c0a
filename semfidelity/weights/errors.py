"""Exceptions raised by :mod:`semfidelity.weights`.

Each one also derives from the built-in exception a caller would naturally catch, so
``except FileNotFoundError`` / ``except OSError`` / ``except ValueError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "WeightsError",
    "WeightNotFoundError",
    "WeightDownloadError",
    "WeightIntegrityError",
    "WeightLoadError",
]


class WeightsError(Exception):
    """Base class of every error about a weight file."""


class WeightNotFoundError(WeightsError, FileNotFoundError):
    """The file is nowhere on this machine and may not be downloaded (offline, or asked not to)."""


class WeightDownloadError(WeightsError, OSError):
    """A download failed (not found, timeout, connection lost, truncated); nothing was kept."""


class WeightIntegrityError(WeightsError, ValueError):
    """The file's sha256 (or size) differs from the reference; the file is never loaded."""


class WeightLoadError(WeightsError, ValueError):
    """The file is not a loadable state dict (e.g. a pickle that would execute code)."""
