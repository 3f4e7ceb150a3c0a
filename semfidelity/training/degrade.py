"""Degradations scaled by one ``intensity`` knob: ours (``kind="semfid"``) or BSRGAN's.

``kind="bsrgan"`` runs BSRGAN's own ``degradation_bsrgan`` (:mod:`semfidelity.training.bsrgan`)
and brings the low-quality image back to the input size (bicubic), so that it pairs with the
clean reference like ours does. The rest of this docstring is about ``kind="semfid"``.

The chain follows Zhang et al., "Designing a Practical Degradation Model for Deep Blind Image
Super-Resolution" (BSRGAN, ICCV 2021): Gaussian blur (isotropic or anisotropic), down-sampling
with a randomly chosen kernel, Gaussian and Poisson noise, JPEG compression. The image is then
resized back to its input size (bicubic) so that it pairs with the clean reference.

Our choices (documented in ``docs/training.md``):

* the seed draws the *shape* of the chain once (isotropic or anisotropic kernel, its angle and
  elongation, the down-sampling kernel, the noise pattern, the relative strength of each step);
  ``intensity`` scales every magnitude linearly from "off" (0) to the BSRGAN maximum (1), so the
  same seed at a higher intensity is the same chain, only stronger;
* the steps run in the fixed order blur -> down-sample -> noise -> JPEG -> up-sample (BSRGAN
  shuffles them; a fixed order keeps the damage monotone in ``intensity``);
* intensities 0.3 / 0.7 / 1.0 are the levels of the semantic-fidelity datasets.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from semfidelity.io import ImageLike, as_tensor
from semfidelity.training.bsrgan import check_intensity, degrade_bsrgan

__all__ = ["degrade", "DegradationParams", "sample_params"]

_DOWN_MODES = ("bilinear", "bicubic", "area")


@dataclass(frozen=True)
class DegradationParams:
    """Magnitudes of one chain at one intensity (all zero at intensity 0)."""

    sigma_x: float
    sigma_y: float
    angle: float
    scale: float
    down_mode: str
    gauss_std: float
    poisson_peak: float
    poisson_weight: float
    jpeg_quality: int | None


def sample_params(intensity: float, seed: int) -> DegradationParams:
    """Draw the chain of ``seed`` and scale it by ``intensity`` in [0, 1]."""
    check_intensity(intensity)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    t = float(intensity)
    u = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EF1D]).random(9)
    sigma = t * (0.8 + 2.2 * u[0])  # BSRGAN: sigma in [0.1, 2.8] (x2) / [0.1, 4.0] (x4)
    anisotropic = u[1] < 0.5
    sigma_y = sigma * (1.0 - 0.6 * u[2]) if anisotropic else sigma
    scale = 1.0 + t * (1.0 + 2.0 * u[3])  # up to x4 down-sampling
    gauss_std = t * (4.0 + 21.0 * u[5]) / 255.0  # BSRGAN: noise level in [2, 25] / 255
    peak = 10.0 ** (2.0 + 1.5 * u[6])  # photon count at white, as BSRGAN's 10**uniform(2, 4)
    quality = round(95.0 - t * (35.0 + 35.0 * u[7]))  # BSRGAN: quality in [30, 95]
    return DegradationParams(
        sigma_x=sigma,
        sigma_y=sigma_y,
        angle=float(u[4] * math.pi) if anisotropic else 0.0,
        scale=scale,
        down_mode=_DOWN_MODES[int(u[8] * len(_DOWN_MODES)) % len(_DOWN_MODES)],
        gauss_std=gauss_std,
        poisson_peak=peak,
        poisson_weight=t,
        jpeg_quality=int(quality) if t > 0 else None,
    )


def _gaussian_kernel(sx: float, sy: float, angle: float) -> torch.Tensor:
    """Normalised (possibly anisotropic, rotated) Gaussian kernel, odd size ~ 6 sigma."""
    radius = max(1, math.ceil(3.0 * max(sx, sy)))
    ax = torch.arange(-radius, radius + 1, dtype=torch.float32)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    c, s = math.cos(angle), math.sin(angle)
    xr, yr = c * xx + s * yy, -s * xx + c * yy
    k = torch.exp(-0.5 * ((xr / sx) ** 2 + (yr / sy) ** 2))
    return k / k.sum()


def _blur(x: torch.Tensor, p: DegradationParams) -> torch.Tensor:
    if p.sigma_x <= 0:
        return x
    k = _gaussian_kernel(p.sigma_x, p.sigma_y, p.angle).to(x)
    pad = k.shape[-1] // 2
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"
    xp = F.pad(x, (pad, pad, pad, pad), mode=mode)
    weight = k.expand(x.shape[1], 1, *k.shape)
    return F.conv2d(xp, weight, groups=x.shape[1])


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if mode == "area":
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=True)


def _noise(x: torch.Tensor, p: DegradationParams, gen: torch.Generator) -> torch.Tensor:
    if p.poisson_weight <= 0:
        return x
    gauss = torch.randn(x.shape, generator=gen, dtype=torch.float32)
    # One fixed Poisson draw per seed: its deviation is added with weight = intensity.
    clean = x.clamp(0, 1)
    counts = torch.poisson(clean * p.poisson_peak, generator=gen)
    poisson = counts / p.poisson_peak - clean
    return x + p.gauss_std * gauss + p.poisson_weight * poisson


def _jpeg(x: torch.Tensor, quality: int | None) -> torch.Tensor:
    if quality is None:
        return x
    out = []
    for img in x:
        arr = (img.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf) as dec:
            back = np.asarray(dec.convert("RGB"), dtype=np.float32) / 255.0
        out.append(torch.from_numpy(back).permute(2, 0, 1))
    return torch.stack(out)


def degrade(
    img: ImageLike, intensity: float, seed: int = 0, *, kind: str = "semfid", scale: int = 4
) -> torch.Tensor:
    """Apply the degradation chain of ``seed`` at ``intensity`` in [0, 1].

    Args:
        img: an image (tensor ``(3,H,W)``/``(N,3,H,W)`` in [0, 1], PIL image, array or path).
        intensity: 0 returns the input unchanged; 1 is the strongest chain (blur sigma up to
            3, down-sampling up to x4, Gaussian noise up to 25/255 plus Poisson noise, JPEG
            quality down to 25).
        seed: selects the chain and its noise; the same ``(img, intensity, seed)`` always gives
            the same output, and for a fixed seed the damage grows with ``intensity``.
        kind: ``"semfid"`` (ours, above: fixed order, identity at 0) or ``"bsrgan"`` (BSRGAN's
            model at SR factor ``scale``, shuffled order, two blurs, two JPEGs; the image is
            reflect-padded to a multiple of ``scale``, degraded to ``1/scale`` and resized back
            bicubically; ``intensity`` 0 still resamples and JPEG-compresses at quality 100).
        scale: the down-sampling factor of ``kind="bsrgan"`` (ignored by ``"semfid"``).

    Returns:
        float32 tensor of the input's size in [0, 1], on the CPU: ``(3,H,W)`` for a 3-D tensor
        input, else ``(N,3,H,W)``. Every image of a batch gets the same chain.
    """
    squeeze = isinstance(img, torch.Tensor) and img.ndim == 3
    x = as_tensor(img, "img").detach().to("cpu", torch.float32)
    if x.shape[1] != 3:
        raise ValueError(
            f"img: expected 3 channels (RGB), got {x.shape[1]} (shape {tuple(x.shape)})"
        )
    if kind == "bsrgan":
        y = torch.stack([_bsrgan_same_size(im, intensity, seed, scale) for im in x])
        return y[0] if squeeze else y
    if kind != "semfid":
        raise ValueError(f"kind: expected 'semfid' or 'bsrgan', got {kind!r}")
    p = sample_params(intensity, seed)
    if p.poisson_weight > 0:
        h, w = x.shape[-2:]
        gen = torch.Generator().manual_seed(int(seed) & 0x7FFFFFFFFFFFFFFF)
        y = _blur(x, p)
        small = (max(1, round(h / p.scale)), max(1, round(w / p.scale)))
        y = _resize(y, small, p.down_mode)
        y = _noise(y, p, gen).clamp(0, 1)
        y = _jpeg(y, p.jpeg_quality)
        y = F.interpolate(y, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
    else:
        y = x.clone()
    return y[0] if squeeze else y


def _bsrgan_same_size(x: torch.Tensor, intensity: float, seed: int, scale: int) -> torch.Tensor:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale: expected an int >= 1, got {scale!r}")
    h, w = x.shape[-2:]
    ph = max(2 * scale, math.ceil(h / scale) * scale) - h
    pw = max(2 * scale, math.ceil(w / scale) * scale) - w
    arr = np.pad(x.permute(1, 2, 0).numpy(), ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    lq, _ = degrade_bsrgan(arr, intensity, int(seed), scale=scale)
    up = F.interpolate(lq[None], size=(h + ph, w + pw), mode="bicubic", align_corners=False)
    return up[0, :, :h, :w].clamp(0, 1)
