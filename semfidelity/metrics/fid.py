"""FID, the Fréchet Inception Distance between two image **sets** (Heusel et al., NeurIPS 2017).

A set-level metric, so not a per-image :class:`semfidelity.metric.Metric`: feed batches of the
predictions and of the references with :meth:`FID.update`, then :meth:`FID.compute`; or call
:func:`fid_folders`. Features: the FID Inception-v3 (:mod:`semfidelity.backbones.inception_fid`,
manifest id ``inception-v3-fid``) with torchmetrics' input handling; maths:
:mod:`semfidelity.functional.fid`. Lower is better; 0 for identical feature statistics.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from semfidelity.backbones._state import WeightsArg
from semfidelity.backbones.inception_fid import FID_WEIGHT_ID, build_fid_inception
from semfidelity.functional.fid import frechet_distance
from semfidelity.io import IMAGE_EXTENSIONS, ImageLike, as_tensor
from semfidelity.metric import resolve_device

__all__ = ["FID", "fid_folders"]


class FID(nn.Module):
    """Set-level FID. ``update(images, real=False)`` adds predictions, ``real=True`` references;
    ``compute()`` returns the distance (float, lower is better).

    Images: anything :func:`semfidelity.io.as_tensor` accepts (float in [0, 1] is rounded to 8
    bits) or uint8 tensors in [0, 255], any size (resized to 299x299). Features are
    accumulated as float64 sums, so memory does not grow with the number of images.
    ``weights``: the Inception weights (``None`` = ``inception-v3-fid``; a path, a state dict
    or ``"random"`` for tests).
    """

    lower_better = True
    score_range = (0.0, float("inf"))
    weight_ids = (FID_WEIGHT_ID,)

    def __init__(self, *, weights: WeightsArg = None, device: str | torch.device | None = None):
        super().__init__()
        self._device = resolve_device(device)
        self.net = build_fid_inception(weights).to(self._device)
        self.reset()

    def reset(self) -> None:
        """Forget every image fed so far."""
        d = 2048
        self._sums = {k: torch.zeros(d, dtype=torch.float64) for k in ("real", "fake")}
        self._outer = {k: torch.zeros(d, d, dtype=torch.float64) for k in ("real", "fake")}
        self._counts = {"real": 0, "fake": 0}

    @torch.no_grad()
    def features(self, images: ImageLike) -> torch.Tensor:
        """``(B, 2048)`` float32 Inception pool features."""
        is_u8 = isinstance(images, torch.Tensor) and images.dtype == torch.uint8
        x = (images if images.ndim == 4 else images[None]) if is_u8 else as_tensor(images, "images")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[1] != 3:
            raise ValueError(f"images: expected 1 or 3 channels, got {x.shape[1]}")
        return self.net(x.to(self._device))

    def update(self, images: ImageLike, real: bool) -> None:
        """Add a batch to the reference (``real=True``) or prediction (``real=False``) set."""
        if not isinstance(real, bool):
            raise TypeError(f"real: expected a bool, got {type(real).__name__}")
        self.update_features(self.features(images), real)

    def count(self, real: bool) -> int:
        """How many reference (``real=True``) or prediction images were fed so far."""
        return self._counts["real" if real else "fake"]

    def update_features(self, features: torch.Tensor, real: bool) -> None:
        """Add ``(B, 2048)`` features from :meth:`features` (lets a caller compute the features
        of a prediction and its reference first, and add both only when both succeeded)."""
        if (
            not isinstance(features, torch.Tensor)
            or features.ndim != 2
            or features.shape[1] != 2048
        ):
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features)
            raise ValueError(f"features: expected a (B, 2048) tensor, got {shape}")
        f = features.double().cpu()
        key = "real" if real else "fake"
        self._sums[key] += f.sum(0)
        self._outer[key] += f.T @ f
        self._counts[key] += f.shape[0]

    def statistics(self, real: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased covariance of one set (float64)."""
        key = "real" if real else "fake"
        n = self._counts[key]
        if n < 2:
            raise ValueError(
                f"FID needs at least 2 {'reference' if real else 'prediction'} images, got {n}"
            )
        mu = self._sums[key] / n
        cov = (self._outer[key] - n * torch.outer(mu, mu)) / (n - 1)
        return mu, cov

    def compute(self) -> float:
        """FID between the prediction and reference sets fed so far."""
        return float(frechet_distance(*self.statistics(False), *self.statistics(True)))


def _images(folder: str | os.PathLike[str]) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"folder: {str(root)!r} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if len(files) < 2:
        raise ValueError(f"folder: {str(root)!r} holds {len(files)} images; FID needs >= 2")
    return files


def fid_folders(
    pred: str | os.PathLike[str],
    ref: str | os.PathLike[str],
    *,
    batch_size: int = 16,
    weights: WeightsArg = None,
    device: str | torch.device | None = None,
) -> float:
    """FID between every image under ``pred`` and every image under ``ref`` (recursive; the
    sets need not pair up or have equal sizes); ``batch_size`` images go through Inception at
    once when they share a size."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    fid = FID(weights=weights, device=device)
    for real, folder in ((False, pred), (True, ref)):
        files = _images(folder)
        for i in range(0, len(files), batch_size):
            images = [as_tensor(str(p), "images") for p in files[i : i + batch_size]]
            if len({tuple(x.shape) for x in images}) == 1:
                fid.update(torch.cat(images), real=real)
            else:  # mixed sizes: one at a time
                for x in images:
                    fid.update(x, real=real)
    return fid.compute()
