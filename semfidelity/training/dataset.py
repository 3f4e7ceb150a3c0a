"""Pair datasets: a CSV of ``reference,distorted,semantic_error[,mask]`` rows -> tensors.

CSV format (header required, extra columns are kept in ``PairRecord.extra`` and ignored):

* ``reference``, ``distorted``: image paths, relative to the CSV's folder (or absolute);
* the label, a float in [0, 1], in a column that declares its orientation
  (:mod:`semfidelity.training.labels`): ``semantic_error`` (1 = semantic error, e.g. the share
  of raters who saw one) or ``faithful`` (1 = faithful, read as ``1 - value``). A column named
  ``label`` (or ``mos``, ``score`` ...) is ambiguous and refused. ``PairRecord.label`` is always
  in the library's orientation, 1 = semantic error;
* ``mask`` (optional column, may be empty in a row): PNG, white = changed region.

Training transforms are deterministic and keep the labelled change
(:mod:`semfidelity.training.geometry`): with ``fit="mask"`` (default) ``size`` resizes the
shorter side (bicubic, antialiased) and cuts the square nearest the centre that contains the
change mask; label-1 pairs without a mask are resized whole. ``crop`` then takes a square crop
whose position is drawn from ``(seed, row index)`` only (among positions that keep the change),
so the same sample always yields the same pixels (which also makes features of a frozen
backbone cacheable).
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from semfidelity.io import load_image
from semfidelity.training.geometry import FITS, fit_pair
from semfidelity.training.labels import label_column, to_error

__all__ = ["PairRecord", "read_pairs", "PairDataset", "make_loader", "file_sha256"]

REQUIRED_COLUMNS = ("reference", "distorted")


@dataclass(frozen=True)
class PairRecord:
    """One validated CSV row; ``row`` is 1-based among data rows (file line = row + 1).

    ``label`` is in the library's orientation (1 = semantic error) whatever the file declared.
    """

    row: int
    reference: Path
    distorted: Path
    label: float
    mask: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _where(csv_path: Path, row: int) -> str:
    return f"{csv_path}: row {row} (line {row + 1})"


def _parse_label(value: str, csv_path: Path, row: int, column: str = "label") -> float:
    try:
        label = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{_where(csv_path, row)}: {column} must be a number in [0, 1], got {value!r}"
        ) from None
    if not 0.0 <= label <= 1.0:  # also rejects NaN
        raise ValueError(f"{_where(csv_path, row)}: {column} must lie in [0, 1], got {value!r}")
    return label


def _resolve(base: Path, value: str, column: str, csv_path: Path, row: int, check: bool) -> Path:
    if not value or not value.strip():
        raise ValueError(f"{_where(csv_path, row)}: empty {column} path")
    path = Path(value.strip())
    path = path if path.is_absolute() else base / path
    if check and not path.is_file():
        raise FileNotFoundError(
            f"{_where(csv_path, row)}: {column} file {value!r} not found (looked at {path})"
        )
    return path


def read_pairs(csv_path: str | os.PathLike, *, check_files: bool = True) -> list[PairRecord]:
    """Read and validate a pair CSV.

    Raises:
        FileNotFoundError: the CSV or a referenced image/mask does not exist (row named).
        ValueError: missing columns, a label column that does not declare its orientation,
            empty CSV, a label that is not a number in [0, 1].
    """
    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"pairs CSV not found: {str(path)!r}")
    base = path.parent
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {missing}; expected a header with "
                f"reference,distorted,semantic_error[,mask], got {columns}"
            )
        label_col, flip = label_column(columns, path)
        known = (*REQUIRED_COLUMNS, label_col, "mask")
        records = []
        for i, raw in enumerate(reader, start=1):
            rowd = {(k or "").strip(): (v or "") for k, v in raw.items()}
            mask_value = rowd.get("mask", "").strip()
            records.append(
                PairRecord(
                    row=i,
                    reference=_resolve(base, rowd["reference"], "reference", path, i, check_files),
                    distorted=_resolve(base, rowd["distorted"], "distorted", path, i, check_files),
                    label=to_error(_parse_label(rowd[label_col], path, i, label_col), flip),
                    mask=(
                        _resolve(base, mask_value, "mask", path, i, check_files)
                        if mask_value
                        else None
                    ),
                    extra={k: v for k, v in rowd.items() if k not in known},
                )
            )
    if not records:
        raise ValueError(f"{path}: no data rows")
    return records


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file (used for the data hashes of a model card)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class PairDataset(Dataset):
    """Map-style dataset over a pair CSV.

    Each item is a dict: ``reference`` and ``distorted`` float32 ``(3,H,W)`` in [0, 1],
    ``label`` float32 scalar, ``mask`` float32 ``(1,H,W)`` in [0, 1] (zeros when the row has
    none), ``has_mask`` bool, ``index`` int.

    Args:
        csv_path: the pair CSV.
        size: bring every pair to ``size x size`` as ``fit`` says (``None``: keep the native
            size; then every image of a batch must share one size).
        crop: after ``size``, a square crop at a position drawn from ``(seed, index)``.
        seed: seed of the crop positions.
        fit: ``"mask"`` (default: the ``size`` window contains the change mask; label > 0
            without a mask: resized whole), ``"resize"`` (every pair resized whole to a
            square) or ``"centre"`` (resize + centre crop, may cut the change out); see
            :mod:`semfidelity.training.geometry`.
    """

    def __init__(
        self,
        csv_path: str | os.PathLike,
        *,
        size: int | None = None,
        crop: int | None = None,
        seed: int = 0,
        fit: str = "mask",
    ) -> None:
        if fit not in FITS:
            raise ValueError(f"fit: expected one of {FITS}, got {fit!r}")
        for name, value in (("size", size), ("crop", crop)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name}: expected an int or None, got {type(value).__name__}")
            if value is not None and value < 8:
                raise ValueError(f"{name}: expected at least 8 pixels, got {value}")
        if size is not None and crop is not None and crop > size:
            raise ValueError(f"crop: must not exceed size ({size}), got {crop}")
        self.csv_path = Path(csv_path)
        self.records = read_pairs(self.csv_path)
        self.size, self.crop, self.seed, self.fit = size, crop, int(seed), fit

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor([r.label for r in self.records], dtype=torch.float32)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.records[index]
        ref, dist = load_image(rec.reference), load_image(rec.distorted)
        if ref.shape != dist.shape:
            raise ValueError(
                f"{_where(self.csv_path, rec.row)}: reference {tuple(ref.shape[-2:])} and "
                f"distorted {tuple(dist.shape[-2:])} images differ in size"
            )
        if rec.mask is not None:
            mask = load_image(rec.mask)[:, :1]
            if mask.shape[-2:] != ref.shape[-2:]:
                raise ValueError(
                    f"{_where(self.csv_path, rec.row)}: mask {tuple(mask.shape[-2:])} and images "
                    f"{tuple(ref.shape[-2:])} differ in size"
                )
        else:
            mask = torch.zeros_like(ref[:, :1])
        both, mask = fit_pair(
            torch.cat([ref, dist], dim=1),
            mask,
            label=rec.label,
            has_mask=rec.mask is not None,
            size=self.size,
            crop=self.crop,
            fit=self.fit,
            seed_key=f"{self.seed}:{index}",
        )
        return {
            "reference": both[0, :3].contiguous(),
            "distorted": both[0, 3:].contiguous(),
            "label": torch.tensor(rec.label, dtype=torch.float32),
            "mask": mask[0].contiguous(),
            "has_mask": rec.mask is not None,
            "index": index,
        }


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """A DataLoader whose shuffling order depends only on ``seed`` (or ``generator``)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if generator is None:
        generator = torch.Generator().manual_seed(int(seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=generator,
        persistent_workers=False,
        pin_memory=False,
    )
