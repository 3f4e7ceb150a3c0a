"""No-reference statistics of SR candidates: LR fidelity, fine-scale detail and noise.

Pure tensor maths on ``(N, 3, H, W)`` candidates in [0, 1] (and the LR input), used by
:class:`~semfidelity.selection.faithful.FaithfulRealismScorer`; see docs/selection.md for the
rule, its constants and the measurements behind them.

* :func:`lr_fidelity`: PSNR of each candidate downscaled to the LR size (antialiased bicubic)
  against the LR input, over the whole image and over its worst local window.
* :func:`detail_statistics`: the luma energy of the finest Haar detail levels, the part above
  a noise floor estimated from the finest diagonal band (Donoho's median absolute deviation),
  and the energy these levels should have by extrapolating the LR input's own decay of detail
  energy across scales (natural images are close to scale invariant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as TF

from semfidelity import functional as F

__all__ = [
    "lr_fidelity",
    "detail_statistics",
    "DetailStatistics",
    "pool_statistics",
    "mixed_methods_warning",
    "SCOPE_MARK",
    "SPREAD_WARN",
    "NOISE_WARN",
]

SCOPE_MARK = "look like outputs of different methods"
SPREAD_WARN = 1.0  # log2 units: fine-scale detail 2x apart
NOISE_WARN = 2.0  # ratio of the largest to the smallest noise level

_MAD_TO_SIGMA = 0.6745  # median |x| of a standard normal
_EPS = 1e-10


def downscale(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic downscaling to ``size``, clamped to [0, 1]."""
    out = TF.interpolate(x.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
    return out.clamp(0.0, 1.0)


def lr_fidelity(
    candidates: torch.Tensor, lr: torch.Tensor, window: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(psnr, worst_psnr)`` in dB, each ``(N,)``: the downscaled candidates against ``lr``
    over the whole image, and over the worst ``window x window`` LR window (stride
    ``window // 2``), which a small region of foreign content cannot dilute."""
    down = downscale(candidates, tuple(lr.shape[-2:]))
    err = ((down - lr) ** 2).mean(dim=1, keepdim=True)
    win = max(1, min(window, err.shape[-2], err.shape[-1]))
    local = TF.avg_pool2d(err, kernel_size=win, stride=max(1, win // 2)).amax(dim=(1, 2, 3))
    mse = err.mean(dim=(1, 2, 3))
    return _db(mse), _db(local)


def _db(mse: torch.Tensor) -> torch.Tensor:
    return -10.0 * torch.log10(mse.clamp_min(_EPS))


def _level_energies(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared Haar detail coefficient of the luma per level ``(N, levels)``, finest
    first, and the noise variance ``(N,)`` from the finest diagonal band."""
    _, details = F.dwt2(F.rgb_to_luma(x.float()), "haar", levels, mode="periodization")
    details = details[::-1]
    energy = torch.stack(
        [sum(b.pow(2).mean(dim=(1, 2, 3)) for b in bands) / 3 for bands in details], dim=1
    )
    sigma = details[0][2].abs().flatten(1).median(dim=1).values / _MAD_TO_SIGMA
    return energy, sigma.pow(2)


@dataclass(frozen=True)
class DetailStatistics:
    """Per-candidate fine-scale statistics (all ``(N,)``).

    Attributes:
        detail: mean over the HR levels above the LR's Nyquist frequency of
            ``log2(E_struct / E_pred)``: 0 = as much detail above the noise floor as the LR
            input's scale decay predicts, -1 = half of it, +1 = twice.
        noise_sigma: estimated standard deviation of white noise in the luma.
    """

    detail: torch.Tensor
    noise_sigma: torch.Tensor


def detail_statistics(candidates: torch.Tensor, lr: torch.Tensor, scale: int) -> DetailStatistics:
    """Fine-scale detail of each candidate relative to what the LR input predicts.

    The HR Haar levels ``1 .. floor(log2(scale))`` (finest first) hold the frequencies above
    the LR's Nyquist limit, which the LR does not determine. Their energy above the noise
    floor, ``E_struct = max(E - sigma^2, eps)`` (white noise adds ``sigma^2`` to every level of
    an orthonormal transform), is compared with a prediction: HR level ``j + log2(scale)``
    corresponds to LR level ``j`` with ``scale**2`` times its energy, and the log-energy
    changes by the LR's own slope ``log2 E_lr(2) - log2 E_lr(1)`` per level.
    """
    s = math.log2(scale)
    n_hf = max(1, int(math.floor(s + 1e-9)))
    energy, noise_var = _level_energies(candidates, n_hf)
    lr_energy, _ = _level_energies(lr, 2)
    log_lr = torch.log2(lr_energy[0].clamp_min(_EPS))
    slope = float(log_lr[1] - log_lr[0])
    levels = torch.arange(1, n_hf + 1, dtype=torch.float32, device=candidates.device)
    predicted = float(log_lr[0]) + 2.0 * s - (s + 1.0 - levels) * slope
    structured = (energy - noise_var[:, None]).clamp_min(_EPS)
    detail = (torch.log2(structured) - predicted[None]).mean(dim=1)
    return DetailStatistics(detail.cpu(), noise_var.sqrt().cpu())


def pool_statistics(candidates: torch.Tensor, levels: int = 2) -> DetailStatistics:
    """:class:`DetailStatistics` without an LR input: ``detail`` is the mean over the finest
    ``levels`` Haar levels of ``log2 E_struct`` (no prediction subtracted), enough to compare
    candidates with each other (spreads are the same as with a prediction)."""
    energy, noise_var = _level_energies(candidates, levels)
    structured = (energy - noise_var[:, None]).clamp_min(_EPS)
    return DetailStatistics(torch.log2(structured).mean(dim=1).cpu(), noise_var.sqrt().cpu())


def mixed_methods_warning(
    detail: torch.Tensor,
    noise_sigma: torch.Tensor,
    *,
    spread_warn: float = SPREAD_WARN,
    noise_warn: float = NOISE_WARN,
) -> str | None:
    """The scope warning when candidates differ like outputs of different methods: fine-scale
    detail spread over ``spread_warn`` log2 units, or noise levels apart by more than
    ``noise_warn`` times (the largest above 1/255); ``None`` otherwise."""
    spread = float(detail.max() - detail.min())
    lo, hi = float(noise_sigma.min()), float(noise_sigma.max())
    reasons = []
    if spread > spread_warn:
        reasons.append(
            f"their fine-scale detail differs by {2**spread:.1f}x (log2 spread {spread:.2f} "
            f"> {spread_warn:g})"
        )
    if hi > 1 / 255 and hi > noise_warn * max(lo, 1e-12):
        reasons.append(
            f"their noise levels differ {hi / max(lo, 1e-12):.1f}x (sigma {lo * 255:.2f} to "
            f"{hi * 255:.2f} grey levels)"
        )
    if not reasons:
        return None
    return (
        f"the candidates {SCOPE_MARK} or degradations ("
        + "; ".join(reasons)
        + "); the no-ground-truth ranking is made for samples of one model for one input "
        "and is only a heuristic here"
    )
