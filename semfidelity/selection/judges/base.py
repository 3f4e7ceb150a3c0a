"""The judge protocol: anything that orders a set of images from best to worst."""

from __future__ import annotations

import io
from typing import Protocol, runtime_checkable

import torch

from semfidelity.io import to_pil

__all__ = ["Judge", "JudgeError", "to_pil", "check_images"]


class JudgeError(RuntimeError):
    """A judge could not produce a ranking (endpoint down, replies that stay malformed...)."""


@runtime_checkable
class Judge(Protocol):
    """A vision-language judge of SR candidates.

    ``rank(images)`` takes ``(N, 3, H, W)`` float images in [0, 1] and returns the candidate
    indices ordered from the most to the least trustworthy (a permutation of ``range(N)``).
    """

    def rank(self, images: torch.Tensor) -> list[int]: ...


def check_images(images: torch.Tensor) -> torch.Tensor:
    """Validate a judge's input: float ``(N, 3, H, W)`` with ``N >= 1`` and values in [0, 1]."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(
            f"images: expected a float tensor of shape (N, 3, H, W), got {type(images).__name__}"
            + (f" of dtype {images.dtype}" if isinstance(images, torch.Tensor) else "")
        )
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] < 1:
        raise ValueError(
            f"images: expected shape (N, 3, H, W) with N >= 1, got {tuple(images.shape)}"
        )
    if not torch.isfinite(images).all() or float(images.min()) < 0 or float(images.max()) > 1:
        raise ValueError("images: values must be finite and lie in [0, 1]")
    return images


def png_bytes(image: torch.Tensor) -> bytes:
    """``(3, H, W)`` float in [0, 1] -> lossless PNG bytes."""
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    return buf.getvalue()
