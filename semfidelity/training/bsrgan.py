"""BSRGAN's degradation model, ``degradation_bsrgan``, with an ``intensity`` scale.

Port of ``utils/utils_blindsr.py`` of https://github.com/cszn/BSRGAN (Zhang, Liang, Van Gool,
Timofte, "Designing a Practical Degradation Model for Deep Blind Image Super-Resolution",
ICCV 2021), Copyright 2022 Kai Zhang, Apache License 2.0 (``LICENSE.BSRGAN.txt`` beside this
file). The steps, their probabilities, parameter ranges, random calls and their order are the
reference's; at ``intensity=1`` the output equals the reference given the same random draws
(``tests/training/test_bsrgan.py`` replays our draws into the reference code).

Changes from the reference (each named in ``docs/training.md``):

* randomness comes from an explicit ``numpy.random.Generator`` (no global ``random`` /
  ``np.random`` state); the sequence of draws is the reference's, call for call;
* ``intensity`` in [0, 1] (ours; BSRGAN has one level) scales every drawn magnitude towards
  "no degradation": blur standard deviations x t (covariance eigenvalues x t^2), the
  intermediate resize factor ``1 + t (sf1 - 1)``, the shifted-kernel sigma x t, the Gaussian
  noise levels x t, JPEG quality ``100 - t (100 - q)``. Draws never depend on ``t``, so one
  seed is the same chain at every intensity, only weaker below 1;
* the whole (mod-cropped) image is degraded: no final random ``lq_patchsize`` crop;
* the camera-ISP step is a no-op, as in the released code (``isp_model=None``; the ISP model
  of the paper is not part of the release); its coin is still drawn to keep the sequence;
* blurs run through ``cv2.filter2D`` (reflect-101 border, flipped kernel) instead of
  ``scipy.ndimage.convolve(mode="mirror")`` (equal to float32 rounding, 10-30x faster at 512^2);
  the anisotropic kernel is the reference's Gaussian density evaluated in closed form instead
  of a loop of ``scipy.stats.multivariate_normal.pdf``; ``shift_pixel`` uses bilinear
  interpolation in NumPy (SciPy removed ``interp2d``, which it used with its linear default);
* a blur's zero standard deviation (only at ``t = 0``) gives the identity kernel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.linalg import orth

from semfidelity.functional.resize import imresize_matlab
from semfidelity.io import ImageLike, as_tensor

__all__ = [
    "Draws",
    "anisotropic_gaussian",
    "degrade_bsrgan",
    "degradation_bsrgan",
    "fspecial_gaussian",
    "jpeg_quality",
]

_EIG_FLOOR = 1e-6


def _cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the BSRGAN degradation needs OpenCV (cv2.resize / JPEG, as the reference): "
            "pip install 'semfidelity[bsrgan]' (opencv-python-headless)"
        ) from exc
    return cv2


class Draws:
    """The reference's random calls (``random.*`` and ``np.random.*``) on one Generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def random(self) -> float:
        return float(self.rng.random())

    def randint(self, a: int, b: int) -> int:
        return int(self.rng.integers(a, b + 1))

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * float(self.rng.random())

    def choice(self, seq: list):
        return seq[int(self.rng.integers(len(seq)))]

    def sample(self, n: int) -> list[int]:
        return [int(i) for i in self.rng.permutation(n)]

    def rand(self, *shape: int):
        return float(self.rng.random()) if not shape else self.rng.random(shape)

    def normal(self, std: float, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.normal(0.0, std, shape)

    def multivariate_normal(self, cov: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.multivariate_normal(np.zeros(3), cov, shape)


def anisotropic_gaussian(ksize: int, theta: float, l1: float, l2: float) -> np.ndarray:
    """Reference ``anisotropic_Gaussian``: covariance ``V diag(l1, l2) V^-1`` with
    ``V = [[c, s], [s, -c]]`` (c, s of ``theta``), density on the grid centred at ``ksize//2``,
    normalised to sum 1. ``l1``/``l2`` are the covariance eigenvalues (variances)."""
    v = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) @ [1.0, 0.0]
    vm = np.array([[v[0], v[1]], [v[1], -v[0]]])
    d = np.diag([max(l1, _EIG_FLOOR), max(l2, _EIG_FLOOR)])
    sigma = vm @ d @ np.linalg.inv(vm)
    inv = np.linalg.inv(sigma)
    ax = np.arange(ksize) - (ksize / 2.0 + 0.5) + 1
    cy, cx = np.meshgrid(ax, ax, indexing="ij")
    q = inv[0, 0] * cx * cx + (inv[0, 1] + inv[1, 0]) * cx * cy + inv[1, 1] * cy * cy
    k = np.exp(-0.5 * (q - q.min()))
    return k / k.sum()


def fspecial_gaussian(hsize: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', hsize, sigma)`` as the reference (identity at sigma 0)."""
    r = (hsize - 1.0) / 2.0
    x, y = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
    if sigma <= 0:
        return ((x == 0) & (y == 0)).astype(np.float64)
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def shift_pixel(k: np.ndarray, sf: int) -> np.ndarray:
    """Reference ``shift_pixel(x, sf, upper_left=True)``: sample ``k`` bilinearly at
    ``(y + (sf-1)/2, x + (sf-1)/2)``, coordinates clipped to the grid."""
    h, w = k.shape
    shift = (sf - 1) * 0.5

    def axis(n: int):
        pos = np.clip(np.arange(n) + shift, 0, n - 1)
        lo = np.minimum(np.floor(pos).astype(int), n - 2)
        return lo, pos - lo

    (y0, fy), (x0, fx) = axis(h), axis(w)
    top = k[y0][:, x0] * (1 - fx) + k[y0][:, x0 + 1] * fx
    bottom = k[y0 + 1][:, x0] * (1 - fx) + k[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def _convolve(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.convolve(img, k[..., None], mode="mirror")`` per channel."""
    cv2 = _cv2()
    out = cv2.filter2D(img, -1, np.ascontiguousarray(k[::-1, ::-1]), borderType=4)
    return out.reshape(img.shape)


def _resize(img: np.ndarray, w: int, h: int, interp: int) -> np.ndarray:
    return _cv2().resize(img, (w, h), interpolation=interp).reshape(h, w, img.shape[2])


def add_blur(img: np.ndarray, sf: int, draws: Draws, t: float) -> np.ndarray:
    wd2, wd = 4.0 + sf, 2.0 + 0.2 * sf
    if draws.random() < 0.5:
        l1, l2 = wd2 * draws.random(), wd2 * draws.random()
        ksize = 2 * draws.randint(2, 11) + 3
        k = anisotropic_gaussian(ksize, draws.random() * np.pi, l1 * t * t, l2 * t * t)
    else:
        ksize = 2 * draws.randint(2, 11) + 3
        k = fspecial_gaussian(ksize, wd * draws.random() * t)
    return _convolve(img, k)


def add_gaussian_noise(img: np.ndarray, draws: Draws, t: float) -> np.ndarray:
    """Colour (p 0.4), grey (p 0.4) or channel-correlated (p 0.2) Gaussian noise, level 2-25."""
    level = draws.randint(2, 25) * t
    r = draws.rand()
    if r > 0.6:
        img = img + draws.normal(level / 255.0, img.shape).astype(np.float32)
    elif r < 0.4:
        img = img + draws.normal(level / 255.0, (*img.shape[:2], 1)).astype(np.float32)
    else:
        big = 25 / 255.0 * t  # the reference scales this branch by noise_level2, not the level
        d = np.diag(draws.rand(3))
        u = orth(draws.rand(3, 3))
        cov = np.abs(big**2 * (u.T @ d @ u))
        img = img + draws.multivariate_normal(cov, img.shape[:2]).astype(np.float32)
    return np.clip(img, 0.0, 1.0)


def jpeg_quality(q: int, t: float) -> int:
    """BSRGAN's drawn quality ``q`` (30-95) moved towards 100 at intensity ``t``."""
    return int(math.floor(100.0 - t * (100.0 - q) + 0.5))


def add_jpeg(img: np.ndarray, draws: Draws, t: float) -> np.ndarray:
    cv2 = _cv2()
    quality = jpeg_quality(draws.randint(30, 95), t)
    u8 = np.uint8((img.clip(0, 1) * 255.0).round())
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [1, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not JPEG-encode an image of shape {img.shape}")
    dec = cv2.cvtColor(cv2.imdecode(enc, 1), cv2.COLOR_BGR2RGB)
    return np.float32(dec / 255.0)


def _downsample_shifted(img: np.ndarray, sf: int, draws: Draws, t: float) -> np.ndarray:
    k = shift_pixel(fspecial_gaussian(25, draws.uniform(0.1, 0.6 * sf) * t), sf)
    return _convolve(img, k / k.sum())[0::sf, 0::sf, ...]


def _scale2(img: np.ndarray, draws: Draws) -> np.ndarray:
    if draws.rand() < 0.5:
        h, w = img.shape[:2]
        img = _resize(img, int(1 / 2 * w), int(1 / 2 * h), draws.choice([1, 2, 3]))
    else:
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
        img = imresize_matlab(x, 0.5)[0].numpy().transpose(1, 2, 0)
    return np.clip(img, 0.0, 1.0)


def degradation_bsrgan(
    img: np.ndarray, sf: int = 4, *, draws: Draws, intensity: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """BSRGAN's ``degradation_bsrgan`` on a ``(H, W, 3)`` float32 RGB array in [0, 1].

    Returns ``(lq, hq)``: ``hq`` the input mod-cropped to multiples of ``sf``, ``lq`` of size
    ``hq / sf``, float32 in [0, 1] (multiples of 1/255: the last step is JPEG).
    """
    t = float(intensity)
    h1, w1 = img.shape[:2]
    img = np.array(img[: h1 - h1 % sf, : w1 - w1 % sf, ...], dtype=np.float32)
    hq = img.copy()
    if sf == 4 and draws.random() < 0.25:
        img, sf = _scale2(img, draws), 2
    order = draws.sample(7)
    i2, i3 = order.index(2), order.index(3)
    if i2 > i3:  # keep downsample3 after downsample2, as the reference
        order[i2], order[i3] = order[i3], order[i2]
    a = b = 0
    for step in order:
        if step in (0, 1):
            img = add_blur(img, sf, draws, t)
        elif step == 2:
            b, a = img.shape[:2]
            if draws.random() < 0.75:
                sf1 = 1.0 + t * (draws.uniform(1, 2 * sf) - 1.0)
                h, w = img.shape[:2]
                img = _resize(img, int(1 / sf1 * w), int(1 / sf1 * h), draws.choice([1, 2, 3]))
            else:
                img = _downsample_shifted(img, sf, draws, t)
            img = np.clip(img, 0.0, 1.0)
        elif step == 3:
            img = np.clip(
                _resize(img, int(1 / sf * a), int(1 / sf * b), draws.choice([1, 2, 3])), 0, 1
            )
        elif step == 4:
            img = add_gaussian_noise(img, draws, t)
        elif step == 5:
            if draws.random() < 0.9:
                img = add_jpeg(img, draws, t)
        else:
            draws.random()  # camera-ISP coin; no ISP model in the release
    return add_jpeg(img, draws, t), hq


def check_intensity(intensity: float) -> float:
    if isinstance(intensity, bool) or not isinstance(intensity, (int, float)):
        raise TypeError(f"intensity: expected a float in [0, 1], got {type(intensity).__name__}")
    if math.isnan(intensity) or not 0.0 <= float(intensity) <= 1.0:
        raise ValueError(f"intensity: expected a value in [0, 1], got {intensity!r}")
    return float(intensity)


def degrade_bsrgan(
    img: ImageLike,
    intensity: float = 1.0,
    seed: int | np.random.Generator = 0,
    *,
    scale: int = 4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Low-quality input for an SR model: BSRGAN's degradation of one image at ``intensity``.

    Args:
        img: one RGB image (tensor ``(3,H,W)``/``(1,3,H,W)`` in [0, 1], PIL image, array, path).
        intensity: in [0, 1]; 1 is BSRGAN's model, lower values scale every drawn magnitude
            towards none (see the module docstring; levels 0.3/0.7/1.0 in the thesis).
        seed: an int (``numpy.random.default_rng(seed)``) or a Generator, which is advanced.
        scale: the SR factor ``sf`` (BSRGAN: 2 or 4); the image is mod-cropped to multiples of
            it and must keep at least ``2 * scale`` pixels per side.

    Returns:
        ``(lq, hr)``: float32 CPU tensors ``(3, H'/scale, W'/scale)`` and the mod-cropped
        reference ``(3, H', W')``, both in [0, 1].
    """
    t = check_intensity(intensity)
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale: expected an int >= 1, got {scale!r}")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed: expected an int or numpy.random.Generator, got {seed!r}")
    x = as_tensor(img, "img").detach().to("cpu", torch.float32)
    if x.shape[0] != 1 or x.shape[1] != 3:
        raise ValueError(f"img: expected one RGB image, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if min(h - h % scale, w - w % scale) < 2 * scale:
        raise ValueError(
            f"img: expected at least {2 * scale}x{2 * scale} pixels for scale {scale}, got {h}x{w}"
        )
    arr = np.ascontiguousarray(x[0].permute(1, 2, 0).numpy())
    lq, hq = degradation_bsrgan(arr, int(scale), draws=Draws(rng), intensity=t)
    return _chw(lq), _chw(hq)


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))
