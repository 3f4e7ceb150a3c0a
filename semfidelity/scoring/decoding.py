"""Decoding image pairs for batch scoring: robust per-file decoding and size-bucketed batches.

Every file becomes either an RGB tensor (converted by :func:`semfidelity.io.pil_to_tensor`, the
same conversion as the Python API) or a failure with a reason (docs/cli.md, "Inputs"):

=====================  ==========================================================================
file                   result
=====================  ==========================================================================
8-bit RGB / L / 1      RGB ``uint8`` (greyscale and bilevel repeated to three channels)
palette (P)            converted to RGB through the palette
RGBA / LA / PA         alpha dropped (not composited), as ``semfidelity.io.load_image`` does
CMYK / YCbCr / LAB     converted to RGB by Pillow (Adobe-inverted CMYK JPEGs included)
16/32-bit (I;16, I)    ``float32`` = value / the format's declared white level, repeated to RGB;
                       failure ``decode`` when the format declares none (see ``pil_to_tensor``)
32-bit float (F)       taken as is if in [0, 1], else failure ``decode``; repeated to RGB
EXIF orientation       applied (``ImageOps.exif_transpose``) before anything else
missing file           failure ``missing``
empty / not an image   failure ``decode`` (Pillow cannot identify it)
truncated / corrupt    failure ``decode`` (Pillow's error message kept)
decompression bomb     failure ``decode`` (over twice Pillow's ``MAX_IMAGE_PIXELS``, as in io)
=====================  ==========================================================================

A pair whose sizes differ is a ``size_mismatch`` failure unless ``resize_pred_to_ref`` is set
(then the prediction is resized to the reference size: bicubic with antialiasing, clamped).

8-bit images stay ``uint8`` until they reach the scoring device (4x less to copy), see
:func:`to_float`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from semfidelity.io import pil_to_tensor
from semfidelity.scoring.pairs import Pair

__all__ = [
    "DecodeError",
    "decode_image",
    "to_float",
    "PairDataset",
    "SizeBatcher",
    "make_loader",
]


class DecodeError(ValueError):
    """A file could not be turned into an RGB image; ``reason`` is ``missing`` or ``decode``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


#: Default ``max_pixels``: below Pillow's decompression-bomb limit (~89.5 M), above 8K (33 M).
MAX_PIXELS = 50_000_000


def decode_image(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> torch.Tensor:
    """Decode one image file to a ``(3, H, W)`` tensor (``uint8`` or ``float32`` in [0, 1]).

    ``max_pixels``: a larger image (``W*H``, read from the header before decoding) is refused
    with ``reason="too_large"``: a tiny compressed file (a 15 KB 1-bit PNG of 9000x9000) would
    otherwise take gigabytes once decoded and converted. ``None``: no limit but Pillow's.

    Raises:
        DecodeError: ``reason="missing"`` when the file does not exist, ``reason="decode"``
            when it is empty, not an image, truncated, corrupt or a decompression bomb. The
            message names the file.
    """
    p = Path(path)
    if not p.is_file():
        raise DecodeError("missing", f"image file not found: {str(p)!r}")
    try:
        with Image.open(p) as img:
            if max_pixels is not None and img.width * img.height > max_pixels:
                raise DecodeError(
                    "too_large",
                    f"{str(p)!r} has {img.width}x{img.height} = {img.width * img.height} pixels, "
                    f"more than --max-pixels {max_pixels}",
                )
            img.load()
            return pil_to_tensor(img, keep_uint8=True)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError(
            "decode", f"not an image (Pillow cannot identify it): {str(p)!r}"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise DecodeError("decode", f"cannot decode {str(p)!r}: {exc}") from None


def to_float(t: torch.Tensor) -> torch.Tensor:
    """``uint8`` -> float32 / 255; float tensors -> float32 unchanged."""
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    return t.float()


def _resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    x = to_float(t).unsqueeze(0)
    x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)
    return x.clamp_(0.0, 1.0).squeeze(0)


@dataclass
class PairDataset(torch.utils.data.Dataset):
    """Decodes the pairs; item ``i`` is a dict (see :meth:`__getitem__`)."""

    pairs: Sequence[Pair]
    resize_pred_to_ref: bool = False
    max_pixels: int | None = MAX_PIXELS

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """``{"index", "key", "ref", "pred", "reason", "error"}``.

        On success ``ref`` and ``pred`` are ``(3, H, W)`` tensors of one size and ``reason`` is
        ``""``; on failure they are empty tensors, ``reason`` is ``missing``, ``decode`` or
        ``size_mismatch`` and ``error`` the message.
        """
        pair = self.pairs[i]
        item: dict[str, Any] = {"index": i, "key": pair.key, "reason": "", "error": ""}
        empty = torch.empty(0, dtype=torch.uint8)
        try:
            pred = decode_image(pair.pred, self.max_pixels)
            # a no-reference run pairs each prediction with itself: decode it once
            ref = pred if pair.ref == pair.pred else decode_image(pair.ref, self.max_pixels)
        except DecodeError as exc:
            return {**item, "ref": empty, "pred": empty, "reason": exc.reason, "error": str(exc)}
        if ref.shape[-2:] != pred.shape[-2:]:
            if not self.resize_pred_to_ref:
                (rh, rw), (ph, pw) = ref.shape[-2:], pred.shape[-2:]
                msg = (
                    f"size mismatch: ref {rh}x{rw} ({pair.ref.name}) vs pred {ph}x{pw} "
                    f"({pair.pred.name}); use --resize-pred-to-ref to resize the prediction"
                )
                return {
                    **item,
                    "ref": empty,
                    "pred": empty,
                    "reason": "size_mismatch",
                    "error": msg,
                }
            pred = _resize(pred, tuple(ref.shape[-2:]))
        if ref.dtype != pred.dtype:
            ref, pred = to_float(ref), to_float(pred)
        return {**item, "ref": ref, "pred": pred}


class SizeBatcher:
    """Groups decoded items into batches of one image size (and dtype).

    Items are buffered per size; a bucket is emitted when it holds ``batch_size`` items (fewer
    for large images: at most ``max_pixels // (H * W)``, at least one), and the fullest bucket is
    emitted early when more than ``max_buffered`` items wait (many distinct sizes), so memory
    stays bounded. Failed items pass through as batches of their own.
    """

    def __init__(
        self, batch_size: int, max_pixels: int | None = None, max_buffered: int | None = None
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        if max_pixels is not None and max_pixels < 1:
            raise ValueError(f"max_pixels: expected an integer >= 1, got {max_pixels!r}")
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.max_buffered = max_buffered or 4 * batch_size
        self._buckets: dict[tuple, list[dict[str, Any]]] = {}
        self._count = 0

    def add(self, item: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Add one item; yields the batches that became ready."""
        if item["reason"]:
            yield [item]
            return
        key = (tuple(item["ref"].shape), item["ref"].dtype)
        bucket = self._buckets.setdefault(key, [])
        bucket.append(item)
        self._count += 1
        if len(bucket) >= self.capacity(*item["ref"].shape[-2:]):
            yield self._pop(key)
        elif self._count > self.max_buffered:
            yield self._pop(max(self._buckets, key=lambda k: len(self._buckets[k])))

    def capacity(self, height: int, width: int) -> int:
        """Batch size for images of this size."""
        if self.max_pixels is None:
            return self.batch_size
        return min(self.batch_size, max(1, self.max_pixels // (height * width)))

    def flush(self) -> Iterator[list[dict[str, Any]]]:
        """Yield every remaining (partial) bucket."""
        for key in list(self._buckets):
            yield self._pop(key)

    def _pop(self, key: tuple) -> list[dict[str, Any]]:
        batch = self._buckets.pop(key)
        self._count -= len(batch)
        return batch


def make_loader(
    dataset: PairDataset, workers: int = 0, pin_memory: bool = False
) -> torch.utils.data.DataLoader:
    """A DataLoader yielding one decoded pair at a time, in order (batching is by size, later)."""
    if workers < 0:
        raise ValueError(f"workers: expected an integer >= 0, got {workers!r}")
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
