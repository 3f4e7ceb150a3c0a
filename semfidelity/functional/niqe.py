"""NIQE (Mittal, Soundararajan, Bovik, IEEE SPL 2013): "completely blind" image quality.

For a grey image ``I`` in [0, 255] (the MATLAB Y channel in SR papers), at two scales (the
image and its MATLAB-bicubic half):

1. MSCN coefficients ``(I - mu) / (sigma + 1)``, ``mu``/``sigma`` the local mean/std under a
   7x7 Gaussian window (replicate padding);
2. per 96x96 block (48x48 at the half scale), 18 features: the generalised-Gaussian fit
   (shape, scale) of the coefficients and the asymmetric-GGD fit (shape, mean, left and right
   scale) of the products of horizontally, vertically and diagonally adjacent coefficients,
   shapes by moment matching on a 0.001 grid over [0.2, 10];
3. a multivariate Gaussian ``(mu_d, Sigma_d)`` fitted to the 36-d block features (NaN rows
   dropped from the covariance) and compared to the pristine model ``(mu_p, Sigma_p)``::

       NIQE = sqrt((mu_p - mu_d)^T pinv((Sigma_p + Sigma_d) / 2) (mu_p - mu_d))

Lower is better. Follows BasicSR's ``calculate_niqe`` (which reproduces the official MATLAB
release) step by step, in float64, batched over blocks. Not differentiable (grid search).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semfidelity.functional.resize import imresize_matlab

__all__ = ["BLOCK", "niqe", "niqe_features", "aggd_shape_table"]

#: Block side in pixels at full scale (the official recommended value, no overlap).
BLOCK = 96
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def aggd_shape_table(device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The moment-matching grid: shapes ``0.2, 0.201, ..., 10`` and their ratio
    ``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))``, which increases strictly with the shape."""
    shapes = torch.arange(200, 10001, dtype=torch.float64, device=device) / 1000.0
    r = shapes.reciprocal()
    ratio = torch.exp(2 * torch.lgamma(2 * r) - torch.lgamma(r) - torch.lgamma(3 * r))
    return shapes, ratio


def _nearest(table: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Index of the table entry nearest to each value (the first on a tie, as ``argmin``);
    NaN values give index 0, as numpy's argmin over an all-NaN row does."""
    hi = torch.searchsorted(table, values.contiguous()).clamp(1, table.numel() - 1)
    lo = hi - 1
    pick_hi = (table[hi] - values) ** 2 < (values - table[lo]) ** 2
    idx = torch.where(pick_hi, hi, lo)
    return torch.where(values.isnan(), torch.zeros_like(idx), idx)


def _aggd(x: torch.Tensor, shapes: torch.Tensor, ratio: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Asymmetric GGD fit of each row of ``x`` ``(N, P)``: shape, left and right scale."""
    neg, pos = x < 0, x > 0
    left = torch.sqrt((x**2 * neg).sum(1) / neg.sum(1))
    right = torch.sqrt((x**2 * pos).sum(1) / pos.sum(1))
    g = left / right
    rhat = x.abs().mean(1) ** 2 / (x**2).mean(1)
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = shapes[_nearest(ratio, rnorm)]
    k = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    return alpha, left * k, right * k


def _block_features(mscn: torch.Tensor, block: int, table) -> torch.Tensor:
    """``(B, H, W)`` MSCN coefficients -> ``(B, n_blocks, 18)``, blocks column-major."""
    b, h, w = mscn.shape
    nh, nw = h // block, w // block
    blocks = mscn[:, : nh * block, : nw * block].reshape(b, nh, block, nw, block)
    blocks = blocks.permute(0, 3, 1, 2, 4).reshape(-1, block, block)  # (B*nw*nh, s, s)
    alpha, bl, br = _aggd(blocks.flatten(1), *table)
    feats = [alpha, (bl + br) / 2]
    for shift in _SHIFTS:
        prod = blocks * torch.roll(blocks, shift, dims=(1, 2))
        alpha, bl, br = _aggd(prod.flatten(1), *table)
        mean = (br - bl) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
        feats += [alpha, mean, bl, br]
    return torch.stack(feats, dim=-1).view(b, nw * nh, 18)


def _mscn(img: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` -> MSCN coefficients with ``window`` (odd square), replicate padding.

    The local moments are filtered in float64 and then rounded to float32, and the rest is
    float32, as the reference (BasicSR: ``scipy.ndimage.convolve`` on a float32 image) does:
    ``E[x^2] - E[x]^2`` cancels badly in float32, and the published numbers carry that error
    (see docs/metrics/niqe.md for the size of it).
    """
    k = window.double().flip((0, 1))  # scipy.ndimage.convolve flips the kernel
    pad = window.shape[-1] // 2
    x = img[:, None].double()
    both = F.pad(torch.cat([x, x * x]), (pad,) * 4, mode="replicate")
    rows, cols = k.sum(1), k.sum(0)
    if torch.allclose(torch.outer(rows, cols) * k.sum(), k * k.sum() ** 2, rtol=0, atol=1e-15):
        # Separable (the MATLAB window is a Gaussian outer product): two 1-D passes.
        rows, cols = rows / k.sum().sqrt(), cols / k.sum().sqrt()
        filtered = F.conv2d(F.conv2d(both, rows.view(1, 1, -1, 1)), cols.view(1, 1, 1, -1))
    else:
        filtered = F.conv2d(both, k[None, None])
    mu, mu2 = filtered.float().split(x.shape[0])
    sigma = torch.sqrt((mu2 - mu * mu).abs())
    return ((x.float() - mu) / (sigma + 1))[:, 0].double()


def niqe_features(img: torch.Tensor, window: torch.Tensor, block: int = BLOCK) -> torch.Tensor:
    """36-d NIQE features of every ``block`` x ``block`` block of ``(B, H, W)`` grey images in
    [0, 255]: ``(B, n_blocks, 36)`` (float64). The image is cropped to whole blocks first."""
    if block % 2:
        raise ValueError(f"block: expected an even block size, got {block!r}")
    img = img.double()
    nh, nw = img.shape[-2] // block, img.shape[-1] // block
    if nh < 1 or nw < 1:
        raise ValueError(
            f"img: NIQE needs at least one {block}x{block} block, got {tuple(img.shape[-2:])}"
        )
    img = img[:, : nh * block, : nw * block]
    window = window.to(img)
    table = aggd_shape_table(img.device)
    scale1 = _block_features(_mscn(img, window), block, table)
    # float32 at the points where the reference holds float32 images (see _mscn).
    half = imresize_matlab(img[:, None] / 255.0, 0.5)[:, 0].float() * 255.0
    scale2 = _block_features(_mscn(half, window), block // 2, table)
    return torch.cat([scale1, scale2], dim=-1)


def _mvg_distance(feats: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor) -> torch.Tensor:
    """NIQE distance of one image's block features ``(n, 36)`` to the pristine model."""
    mu_d = feats.nanmean(0)
    rows = feats[~feats.isnan().any(1)]
    if rows.shape[0] < 2:  # flat images: no covariance to estimate (the reference gives NaN)
        return feats.new_tensor(float("nan"))
    cov_d = torch.cov(rows.T)
    # rtol as numpy.linalg.pinv's rcond (the reference), not torch's size-dependent default.
    inv = torch.linalg.pinv((cov_p + cov_d) / 2, rtol=1e-15)
    d = (mu_p - mu_d).reshape(1, -1)
    return torch.sqrt((d @ inv @ d.T).reshape(()))


def niqe(
    img: torch.Tensor,
    mu_pris: torch.Tensor,
    cov_pris: torch.Tensor,
    window: torch.Tensor,
    block: int = BLOCK,
) -> torch.Tensor:
    """NIQE of ``(B, H, W)`` grey images in [0, 255] (not rounded here) -> ``(B,)`` float64.

    ``mu_pris`` ``(36,)`` or ``(1, 36)``, ``cov_pris`` ``(36, 36)``: the pristine model;
    ``window``: the 7x7 Gaussian of the MSCN normalisation. Lower is better; NaN when fewer
    than two blocks have finite features (no covariance can be estimated).
    """
    feats = niqe_features(img, window, block)
    mu_p = mu_pris.to(feats).reshape(-1)
    cov_p = cov_pris.to(feats)
    return torch.stack([_mvg_distance(f, mu_p, cov_p) for f in feats])
