"""Captioners for pseudo-labels: anything with ``caption(paths) -> list[str]``.

A captioner is a plug-in: :class:`CaptionsFile` reads a user-supplied captions CSV; the local
VLM judge backend gives :class:`semfidelity.selection.judges.caption.HFCaptioner`; any object
with a ``caption`` method of this signature works (``semfid-pseudo-label --captioner
module:attr``). :func:`caption_each` runs one on many images and keeps each failure with its
image instead of stopping.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["Captioner", "CaptionsFile", "caption_each"]

logger = logging.getLogger(__name__)


@runtime_checkable
class Captioner(Protocol):
    """``caption(paths)`` returns one non-empty caption per image path, in order.

    It may raise for a batch; :func:`caption_each` then retries the images one by one and
    records the error of each image that still fails.
    """

    def caption(self, paths: Sequence[Path]) -> list[str]: ...


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))


class CaptionsFile:
    """Captions from a CSV with the header ``image,caption`` (other columns are ignored).

    ``image`` is a path relative to the CSV's folder or absolute; an image is looked up by its
    absolute, normalised path, so the pair list and the captions file may name it differently
    (``./a.png``, ``sub/../a.png``). An image without a row raises ``LookupError`` (recorded
    per pair by :func:`caption_each`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"captions CSV not found: {str(self.path)!r}")
        base = self.path.parent
        self.captions: dict[str, str] = {}
        with open(self.path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            if "image" not in columns or "caption" not in columns:
                raise ValueError(
                    f"{self.path}: expected a header with image,caption, got {columns}"
                )
            for row, raw in enumerate(reader, start=1):
                image, caption = raw["image"] or "", (raw["caption"] or "").strip()
                if not image:
                    raise ValueError(f"{self.path}: row {row} (line {row + 1}): empty image path")
                if not caption:
                    raise ValueError(
                        f"{self.path}: row {row} (line {row + 1}): empty caption for {image!r}"
                    )
                path = Path(image)
                key = _key(path if path.is_absolute() else base / path)
                if key in self.captions and self.captions[key] != caption:
                    raise ValueError(
                        f"{self.path}: row {row} (line {row + 1}): {image!r} has two "
                        f"different captions"
                    )
                self.captions[key] = caption

    def __repr__(self) -> str:
        return f"CaptionsFile({str(self.path)!r}, {len(self.captions)} captions)"

    def caption(self, paths: Sequence[Path]) -> list[str]:
        out = []
        for p in paths:
            caption = self.captions.get(_key(p))
            if caption is None:
                raise LookupError(f"no caption for {str(p)!r} in {self.path}")
            out.append(caption)
        return out


def _check(captions: object, n: int, captioner: object) -> list[str]:
    if not isinstance(captions, (list, tuple)) or len(captions) != n:
        raise ValueError(
            f"captioner {captioner!r} returned {captions!r:.100} for {n} images; "
            f"expected a list of {n} captions"
        )
    for c in captions:
        if not isinstance(c, str) or not c.strip():
            raise ValueError(f"captioner {captioner!r} returned an empty or non-str caption {c!r}")
    return [c.strip() for c in captions]


def caption_each(
    captioner: Captioner, paths: Sequence[Path]
) -> tuple[dict[Path, str], dict[Path, str]]:
    """Caption ``paths``: ``({path: caption}, {path: error message})``.

    The whole list goes to the captioner at once; if that raises (or returns something other
    than one non-empty caption per image), each image is captioned alone so one bad image costs
    only its own caption.
    """
    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}, {}
    try:
        return dict(zip(unique, _check(captioner.caption(unique), len(unique), captioner))), {}
    except Exception as exc:  # any captioner failure: isolated per image below
        if len(unique) == 1:
            return {}, {unique[0]: f"{type(exc).__name__}: {exc}"}
        logger.info("captioning %d images at once failed (%s); one by one", len(unique), exc)
    done, failed = {}, {}
    for p in unique:
        d, f = caption_each(captioner, [p])
        done.update(d)
        failed.update(f)
    return done, failed
