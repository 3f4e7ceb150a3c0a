"""Batched 2-D discrete wavelet transform and the TWS wavelet artifact term.

The filter banks come from PyWavelets; the transform runs in torch (batched, differentiable,
on any device) and reproduces ``pywt.wavedec2`` coefficient for coefficient.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pywt
import torch
import torch.nn.functional as F

from semfidelity.functional.color import rgb_to_luma

__all__ = ["DWT_MODES", "dwt2", "wavelet_similarity", "max_levels", "min_side"]

DWT_MODES = ("symmetric", "periodization")
Bands = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@lru_cache(maxsize=64)
def _filters(wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        w = pywt.Wavelet(wavelet)
    except ValueError as exc:
        raise ValueError(
            f"wavelet: expected a discrete PyWavelets name such as 'haar', 'db2', 'sym4', "
            f"got {wavelet!r}"
        ) from exc
    # conv2d correlates, the DWT convolves: flip the decomposition filters.
    lo = np.asarray(w.dec_lo, dtype=np.float64)[::-1].copy()
    hi = np.asarray(w.dec_hi, dtype=np.float64)[::-1].copy()
    return lo, hi


def max_levels(size: int, wavelet: str = "haar") -> int:
    """Largest useful decomposition depth for a side of ``size`` (``pywt.dwt_max_level``)."""
    return pywt.dwt_max_level(size, len(_filters(wavelet)[0]))


def min_side(wavelet: str = "haar", levels: int = 3) -> int:
    """Smallest side with ``levels`` full DWT levels: ``(filter_length - 1) * 2**levels``."""
    return (len(_filters(wavelet)[0]) - 1) * 2**levels


@lru_cache(maxsize=256)
def _index(n: int, flen: int, mode: str) -> np.ndarray:
    """Indices of the extended signal whose stride-2 'valid' correlation gives pywt's output."""
    if mode == "symmetric":
        # Extend by flen-1 on both sides, keep the odd outputs of the full convolution.
        return np.pad(np.arange(n), (flen - 1, flen - 1), mode="symmetric")[1:]
    # periodization: odd lengths repeat the last sample, then wrap around.
    base = np.arange(n) if n % 2 == 0 else np.append(np.arange(n), n - 1)
    return np.pad(base, (flen // 2 - 1, flen // 2), mode="wrap")


def _analysis(x: torch.Tensor, bank: torch.Tensor, mode: str, dim: int) -> torch.Tensor:
    """Low/high-pass filtering and downsampling of ``x`` ``(N, 1, H, W)`` along ``dim``.

    Returns ``(N, 2, H', W)`` (dim=-2) or ``(N, 2, H, W')`` (dim=-1); channel 0 is low-pass.
    """
    flen = bank.shape[-1]
    idx = torch.from_numpy(_index(x.shape[dim], flen, mode)).to(x.device)
    x = x.index_select(dim, idx)
    if dim == -1:
        return F.conv2d(x, bank.view(2, 1, 1, flen), stride=(1, 2))
    return F.conv2d(x, bank.view(2, 1, flen, 1), stride=(2, 1))


def dwt2(
    x: torch.Tensor, wavelet: str = "haar", levels: int = 3, *, mode: str = "symmetric"
) -> tuple[torch.Tensor, list[Bands]]:
    """Multi-level 2-D DWT of every channel of ``x`` ``(B, C, H, W)``, like ``pywt.wavedec2``.

    Returns ``(approx, details)``: ``approx`` ``(B, C, h, w)`` at the coarsest level and one
    ``(H, V, D)`` tuple per level, **coarsest first** (pywt order). ``H`` is detail along the
    height axis (pywt's ``cH``), ``V`` along the width, ``D`` diagonal. ``mode`` is pywt's
    signal extension, ``"symmetric"`` (pywt's default) or ``"periodization"``.
    Differentiable; float32 throughout.
    """
    if mode not in DWT_MODES:
        raise ValueError(f"mode: expected one of {DWT_MODES}, got {mode!r}")
    if not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels: expected a positive int, got {levels!r}")
    if x.ndim != 4:
        raise ValueError(f"x: expected a 4-D (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    lo, hi = _filters(wavelet)
    bank = torch.tensor(np.stack([lo, hi]), dtype=torch.float32, device=x.device)
    b, c = x.shape[:2]
    approx = x.float().reshape(b * c, 1, *x.shape[-2:])
    details: list[Bands] = []
    with torch.autocast(device_type=x.device.type, enabled=False):
        for _ in range(levels):
            rows = _analysis(approx, bank, mode, dim=-1)  # (N, 2, H, W'): width lo / hi
            n, _, h, w = rows.shape
            both = _analysis(rows.reshape(n * 2, 1, h, w), bank, mode, dim=-2)
            both = both.view(n, 2, 2, *both.shape[-2:])  # [width band, height band]
            approx = both[:, 0, 0:1]
            band_h, band_v, band_d = both[:, 0, 1], both[:, 1, 0], both[:, 1, 1]
            shape = (b, c, *band_h.shape[-2:])
            details.append((band_h.reshape(shape), band_v.reshape(shape), band_d.reshape(shape)))
    return approx.reshape(b, c, *approx.shape[-2:]), details[::-1]


def wavelet_similarity(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    wavelet: str = "haar",
    levels: int = 3,
    mode: str = "symmetric",
    eps: float = 1e-8,
) -> torch.Tensor:
    """TWS wavelet artifact term of the luma; ``(B,)`` in [0, 1], higher is better.

    ``1 - mean_{l, b} sum| |c_pred| - |c_target| | / (sum(|c_pred| + |c_target|) + eps)`` over
    levels ``l = 1..levels`` and detail bands ``b`` in {H, V, D}, sums over each band's pixels.
    RGB inputs are reduced to BT.601 luma first; single-channel inputs are used as they are.
    Each ratio lies in [0, 1], so the score does too; identical images give 1.
    ``target`` may have batch 1 (broadcast). See docs/metrics/tws.md.
    """
    if pred.ndim != 4 or target.ndim != 4:
        raise ValueError(
            f"pred, target: expected 4-D (B, C, H, W) tensors, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    yp = rgb_to_luma(pred.float())
    yt = rgb_to_luma(target.float())
    _, det_p = dwt2(yp, wavelet, levels, mode=mode)
    _, det_t = dwt2(yt, wavelet, levels, mode=mode)
    ratios = []
    for bands_p, bands_t in zip(det_p, det_t):
        for cp, ct in zip(bands_p, bands_t):
            ap, at = cp.abs(), ct.abs()
            num = (ap - at).abs().sum(dim=(1, 2, 3))
            den = (ap + at).sum(dim=(1, 2, 3))
            ratios.append(num / (den + eps))
    return 1.0 - torch.stack(ratios).mean(dim=0)
