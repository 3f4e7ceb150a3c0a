"""Image input: paths, PIL images, NumPy arrays and tensors -> float32 NCHW RGB in [0, 1].

Conversion rules (documented in README "Inputs"):

* file paths are decoded with Pillow, EXIF orientation applied, palette/greyscale/CMYK/16-bit
  converted to RGB; an alpha channel is dropped only for files (for arrays and tensors a
  4-channel input is an error, see :func:`as_tensor`); 16/32-bit integer images are divided by
  the white level their format declares and float images must hold [0, 1] (else ``ValueError``,
  see :func:`pil_to_tensor`);
* ``uint8`` arrays are divided by 255, ``uint16`` by 65535, float arrays are taken as [0, 1];
* NumPy arrays are HWC (or HW); tensors are CHW or NCHW and must already be floating point;
* single-channel inputs are repeated to three channels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

__all__ = ["ImageLike", "load_image", "as_tensor", "pil_to_tensor", "to_pil", "IMAGE_EXTENSIONS"]

ImageLike = str | os.PathLike | Image.Image | np.ndarray | torch.Tensor

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"}
)


def _white_level(img: Image.Image) -> float:
    """The value that means white for a 16/32-bit integer image, from what its format declares.

    ``I;16*`` modes and mode ``I`` from PNG or PNM are 16-bit (Pillow rescales a PNM ``maxval``
    to 65535); a TIFF declares ``MaxSampleValue`` or else ``BitsPerSample`` (unsigned only).
    Anything else (a signed TIFF, an in-memory mode ``I`` image) has no white level: guessing
    one per image from its values would make scores depend on the content, so it is refused.
    """
    fmt = img.format
    if fmt != "TIFF" and (img.mode.startswith("I;16") or fmt in ("PNG", "PPM")):
        return 65535.0
    if fmt == "TIFF":
        tags = img.tag_v2  # type: ignore[attr-defined]
        bits = tags.get(258, (0,))
        bits = bits[0] if isinstance(bits, tuple) else bits
        signed = tags.get(339, (1,))
        signed = (signed[0] if isinstance(signed, tuple) else signed) == 2
        top = tags.get(281)
        top = top[0] if isinstance(top, tuple) else top
        if not signed and 0 < int(bits) <= 32:
            return float(top) if top and int(top) > 0 else float(2 ** int(bits) - 1)
        kind = f"{'signed ' if signed else ''}{bits}-bit integer TIFF"
    else:
        kind = f"mode {img.mode!r} image (format {fmt})"
    raise ValueError(
        f"unsupported image: a {kind} declares no white level (a bit depth to scale by); "
        "save it as 8-bit, 16-bit unsigned or float in [0, 1]"
    )


def _float_image(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img, dtype=np.float64)
    if arr.size and not (np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0):
        raise ValueError(
            "unsupported image: a 32-bit float image must hold values in [0, 1], got "
            f"min {np.nanmin(arr):.6g}, max {np.nanmax(arr):.6g}"
            f"{' and NaN/Inf' if not np.isfinite(arr).all() else ''}; save it scaled to [0, 1] "
            "(or as 8/16-bit): a float image has no bit depth to scale by"
        )
    return arr


def pil_to_tensor(img: Image.Image, *, keep_uint8: bool = False) -> torch.Tensor:
    """Decode a PIL image to a ``(3, H, W)`` RGB tensor; the one conversion of every input path.

    EXIF orientation is applied; alpha is dropped (not composited); greyscale, palette, CMYK...
    are converted by Pillow. 16/32-bit integer modes are divided by the white level their format
    declares (16-bit PNG/PNM/TIFF: 65535; a TIFF's ``MaxSampleValue`` or ``2**BitsPerSample - 1``)
    and float (``F``) images must already be in [0, 1]: both give float32 in [0, 1], and an
    image without a declared scale or with float values outside [0, 1] raises ``ValueError``
    (never a per-image guess). 8-bit modes give float32 in [0, 1], or the ``uint8`` values with
    ``keep_uint8=True`` (4x less to copy; divide by 255 on the scoring device: the values are
    then identical).
    """
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I;16S", "I", "F"):
        white = None if mode == "F" else _white_level(img)
        img = ImageOps.exif_transpose(img)
        if white is None:
            arr = _float_image(img)
        else:
            arr = np.asarray(img, dtype=np.float64) / white
            if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
                raise ValueError(
                    f"unsupported image: values outside 0..{white:g}, the white level its "
                    f"format declares (min {arr.min() * white:g}, max {arr.max() * white:g})"
                )
        return torch.from_numpy(arr.astype(np.float32)).unsqueeze(0).expand(3, -1, -1).contiguous()
    img = ImageOps.exif_transpose(img)
    if mode != "RGB":
        if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
            img = img.convert("RGBA").convert("RGB")
        else:
            img = img.convert("RGB")
    t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    return t if keep_uint8 else t.float().div_(255.0)


def to_pil(image: torch.Tensor) -> Image.Image:
    """The inverse of :func:`pil_to_tensor` for saving: a float image in [0, 1] -> 8-bit PIL.

    ``(C, H, W)`` or ``(1, C, H, W)`` with ``C`` 3 (RGB) or 1 (greyscale, mode ``L``); values
    are clamped to [0, 1], scaled by 255 and rounded.
    """
    x = image.detach().float()
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"image: expected shape (C, H, W) with C 1 or 3, got {tuple(image.shape)}")
    arr = (x.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    if arr.shape[-1] == 1:
        return Image.fromarray(np.ascontiguousarray(arr[..., 0]), "L")
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def load_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file as a float32 ``(1, 3, H, W)`` tensor in [0, 1].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a decodable image (the message names the path).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image file not found: {str(p)!r}")
    try:
        with Image.open(p) as img:
            img.load()
            return pil_to_tensor(img).unsqueeze(0)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot decode image {str(p)!r}: {exc}") from exc


def _array_to_tensor(arr: np.ndarray, name: str) -> torch.Tensor:
    if arr.ndim in (3, 4) and arr.shape[-1] not in (1, 3, 4) and arr.shape[-3] in (1, 3, 4):
        axes = "(1, 2, 0)" if arr.ndim == 3 else "(0, 2, 3, 1)"
        raise ValueError(
            f"{name}: NumPy arrays are channels-last (H, W, C) or (N, H, W, C), got shape "
            f"{tuple(arr.shape)}, which looks channels-first; use arr.transpose{axes}"
        )
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim == 4:
        t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
    elif arr.ndim == 3:
        t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).unsqueeze(0)
    else:
        raise ValueError(
            f"{name}: expected a NumPy array of shape (H, W), (H, W, C) or (N, H, W, C), "
            f"got shape {tuple(arr.shape)}"
        )
    if arr.dtype == np.uint8:
        return t.float() / 255.0
    if arr.dtype == np.uint16:
        return t.float() / 65535.0
    if arr.dtype == np.bool_:
        return t.float()
    if np.issubdtype(arr.dtype, np.floating):
        return t.float()
    raise TypeError(f"{name}: expected a uint8, uint16 or float NumPy array, got dtype {arr.dtype}")


def as_tensor(x: Any, name: str = "input") -> torch.Tensor:
    """Convert any supported image input to a float32 NCHW tensor (not yet validated).

    Tensors keep their device and (floating) dtype except that float16/bfloat16/float64 are
    kept as given so that ``Metric`` can decide; non-floating tensors raise ``TypeError``.
    A 3-D tensor is a batch of one; a 2-D tensor is one single-channel image.
    """
    if isinstance(x, torch.Tensor):
        if x.layout != torch.strided:
            raise TypeError(
                f"{name}: expected a dense (strided) tensor, got layout {x.layout}; "
                "convert it with x.to_dense()"
            )
        if x.is_meta:
            raise ValueError(
                f"{name}: expected a tensor with values, got a meta tensor (device 'meta' holds "
                "shapes only); materialise it on a real device first"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{name}: expected a floating-point tensor with values in [0, 1], got dtype "
                f"{x.dtype}; convert with x.float() / 255 for 8-bit images"
            )
        if x.ndim == 2:
            x = x[None, None]
        elif x.ndim == 3:
            x = x.unsqueeze(0)
        elif x.ndim != 4:
            raise ValueError(
                f"{name}: expected a tensor of shape (C, H, W) or (N, C, H, W), got ndim={x.ndim} "
                f"with shape {tuple(x.shape)}"
            )
        return x
    if isinstance(x, (str, os.PathLike)):
        return load_image(x)
    if isinstance(x, Image.Image):
        return pil_to_tensor(x).unsqueeze(0)
    if isinstance(x, np.ndarray):
        return _array_to_tensor(x, name)
    if isinstance(x, (list, tuple)) and x:
        parts = [as_tensor(item, f"{name}[{i}]") for i, item in enumerate(x)]
        shapes = {tuple(p.shape[1:]) for p in parts}
        if len(shapes) != 1:
            raise ValueError(
                f"{name}: all images of a list must have one shape, got {sorted(shapes)}"
            )
        return torch.cat(parts, dim=0)
    raise TypeError(
        f"{name}: expected a torch.Tensor, NumPy array, PIL image, file path or a list of them, "
        f"got {type(x).__name__}"
    )
