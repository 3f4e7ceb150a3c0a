"""SSIM and MS-SSIM (Wang et al. 2004; Wang, Simoncelli, Bovik 2003), batched and differentiable.

Statistics are computed in float32 with autocast disabled: the variance terms
``E[x^2] - E[x]^2`` lose all precision in float16/bfloat16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semfidelity.functional.filters import gaussian_filter, gaussian_kernel1d, symmetric_pad
from semfidelity.functional.reduce import per_image_mean, per_image_sum

__all__ = ["ssim", "ssim_map", "ms_ssim", "MS_SSIM_WEIGHTS"]

K1, K2 = 0.01, 0.03
#: Inputs with more than this many elements (``B*C*H*W``) are scored in bands of about this
#: size: groups of whole images, or one image in row bands (each with ``win_size - 1`` rows of
#: overlap) when an image alone is larger; the band maps are summed exactly.
#: Bands bound the memory (~80 bytes per element in one pass, ~1.9 GB for a 3840x2160 RGB
#: pair) and keep the temporaries in cache: 2^20 was ~1.4x faster than one pass on 8x3x512x512.
CHUNK_ELEMENTS = 2**20
#: Scale weights of Wang et al. (2003), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _pair(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.ndim != 4 or target.ndim != 4:
        raise ValueError(
            f"pred, target: expected 4-D (B, C, H, W) tensors, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    if target.shape[1:] != pred.shape[1:] or target.shape[0] not in (1, pred.shape[0]):
        raise ValueError(
            f"target: expected shape {tuple(pred.shape)} or batch 1, got {tuple(target.shape)}"
        )
    return pred.float(), target.float().expand_as(pred)


def _ssim_cs_maps(
    x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel SSIM and contrast-structure maps, ``(B, C, H-k+1, W-k+1)`` each."""
    b, c = x.shape[:2]
    # Moments of values centred on mid-range: E[x^2] - E[x]^2 cancels less in float32.
    mid = 0.5 * data_range
    x, y = x - mid, y - mid
    # One filtering pass over four moments; only the sum E[x^2] + E[y^2] is ever needed.
    moments = [x, y, torch.addcmul(x * x, y, y), x * y]
    if x.device.type == "cpu":  # build the stack directly in the NHWC layout the filter wants
        stack = torch.cat([m.permute(0, 2, 3, 1) for m in moments], dim=-1).permute(0, 3, 1, 2)
    else:
        stack = torch.cat(moments, dim=1)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    # The filter's per-channel scale and bias fold constants in for free:
    # e_sq + c2 and 2 e_xy + c2 come straight out of the convolution.
    scale = torch.tensor([1.0, 1.0, 1.0, 2.0], device=stack.device).repeat_interleave(c)
    bias = torch.tensor([0.0, 0.0, c2, c2], device=stack.device).repeat_interleave(c)
    stats = gaussian_filter(stack, kernel, scale=scale, bias=bias)
    mu_x, mu_y, e_sq, e_xy = stats.view(b, 4, c, *stats.shape[-2:]).unbind(dim=1)
    # Few full-size temporaries (the maps are memory bound); in-place ops only on fresh ones.
    mu_xy = mu_x * mu_y
    mu_sq = torch.addcmul(mu_x * mu_x, mu_y, mu_y)
    cs = torch.add(e_xy, mu_xy, alpha=-2).div_(e_sq - mu_sq)
    # Luminance of the uncentred means: (mu + mid) products expand to these shift terms.
    shift = torch.add(mu_x, mu_y)
    if 2 * mid != 1.0:  # skip a full-size pass for the usual data_range=1
        shift.mul_(2 * mid)
    shift.add_(2 * mid * mid + c1)
    lum = torch.add(shift, mu_xy, alpha=2).div_(mu_sq.add_(shift))
    return lum.mul_(cs), cs


def _band_rows(shape: torch.Size, k: int) -> int:
    """Output rows of the 'valid' map per band of *one image* ``(C, H, W)`` of ``shape``.

    Depends on the image's shape only (not on the batch), so an image's bands, and with them
    the summation order of its score, are the same whatever it is batched with.
    """
    _, c, h, w = shape
    if c * h * w <= CHUNK_ELEMENTS:
        return h - k + 1
    # At least 4 (k-1) rows per band, so the overlap never costs more than 25 %.
    return max(4 * (k - 1), CHUNK_ELEMENTS // (c * w) - (k - 1))


def _plan(shape: torch.Size, k: int) -> list[tuple[int, int, int, int]]:
    """Bands as ``(first image, end image, first output row, end output row)``.

    The whole batch when it fits ``CHUNK_ELEMENTS``; else groups of whole images that fit;
    else each image alone, in row bands.
    """
    b, c, h, w = shape
    out_h = h - k + 1
    if b * c * h * w <= CHUNK_ELEMENTS:
        return [(0, b, 0, out_h)]
    rows = _band_rows(shape, k)
    if rows >= out_h:
        group = max(1, CHUNK_ELEMENTS // (c * h * w))
        return [(i, min(i + group, b), 0, out_h) for i in range(0, b, group)]
    return [(i, i + 1, r0, min(r0 + rows, out_h)) for i in range(b) for r0 in range(0, out_h, rows)]


def _bands(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, data_range: float):
    """Yield ``((i0, i1, r0, r1), (ssim_map, cs_map))`` for the bands of :func:`_plan`."""
    k = kernel.numel()
    for i0, i1, r0, r1 in _plan(x.shape, k):
        xs, ys = x[i0:i1, :, r0 : r1 + k - 1], y[i0:i1, :, r0 : r1 + k - 1]
        yield (i0, i1, r0, r1), _ssim_cs_maps(xs, ys, kernel, data_range)


def _map_mean(
    x: torch.Tensor,
    y: torch.Tensor,
    kernel: torch.Tensor,
    data_range: float,
    index: int,
    dim: tuple[int, ...],
) -> torch.Tensor:
    """Mean over ``dim`` of the SSIM (``index`` 0) or cs (1) 'valid' map, band by band, each
    image reduced on its own (``per_image_sum``): batch-independent to the last bit."""
    k = kernel.numel()
    parts: list[list[torch.Tensor]] = [[] for _ in range(x.shape[0])]
    for (i0, _, _, _), maps in _bands(x, y, kernel, data_range):
        for j, part in enumerate(per_image_sum(maps[index], dim)):
            parts[i0 + j].append(part)
    total = torch.stack([p[0] if len(p) == 1 else torch.stack(p).sum(dim=0) for p in parts])
    full = (x.shape[0], x.shape[1], x.shape[-2] - k + 1, x.shape[-1] - k + 1)
    count = 1
    for d in dim:
        count *= full[d]
    return total / count


def _check_window(pred: torch.Tensor, win_size: int) -> None:
    h, w = pred.shape[-2:]
    if min(h, w) < win_size:
        raise ValueError(f"pred: image of size {h}x{w} is smaller than the window {win_size}")


def ssim_map(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    win_size: int = 11,
    sigma: float = 1.5,
    full: bool = False,
) -> torch.Tensor:
    """Local SSIM map averaged over channels (higher is better, 1 for identical images).

    Args:
        pred, target: ``(B, C, H, W)``; ``target`` may have batch 1 (broadcast).
        data_range: dynamic range of the values (1.0 for [0, 1] images).
        win_size, sigma: Gaussian window (11, 1.5 as in Wang et al. 2004).
        full: ``False`` -> 'valid' map ``(B, 1, H-win+1, W-win+1)``; ``True`` -> ``(B, 1, H, W)``
            with half-sample symmetric padding (SciPy ``mode='reflect'``), equal to the map
            ``skimage.metrics.structural_similarity(..., full=True)`` returns.
    """
    pred, target = _pair(pred, target)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        kernel = gaussian_kernel1d(win_size, sigma, device=pred.device)
        if full:
            pad = (win_size - 1) // 2
            pred, target = symmetric_pad(pred, pad), symmetric_pad(target, pad)
        _check_window(pred, win_size)
        rows: dict[tuple[int, int], list[torch.Tensor]] = {}
        for (i0, i1, _, _), (s, _) in _bands(pred, target, kernel, data_range):
            rows.setdefault((i0, i1), []).append(s.mean(dim=1, keepdim=True))
        groups = [v[0] if len(v) == 1 else torch.cat(v, dim=-2) for v in rows.values()]
        return groups[0] if len(groups) == 1 else torch.cat(groups, dim=0)


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    win_size: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """Mean SSIM per image, averaged over channels; ``(B,)`` in [-1, 1], higher is better.

    Gaussian-weighted statistics over the 'valid' region (no padding), population covariance,
    ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``. Equal to ``skimage.metrics.structural_similarity(
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L)`` (which
    averages the map after cropping ``(win-1)/2`` border pixels), to float32 rounding.
    """
    pred, target = _pair(pred, target)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        _check_window(pred, win_size)
        kernel = gaussian_kernel1d(win_size, sigma, device=pred.device)
        # One mean over channels and pixels: a channel mean first is a slow strided reduction
        # over the channels-last map.
        return _map_mean(pred, target, kernel, data_range, 0, (1, 2, 3))


def ms_ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 1.0,
    win_size: int = 11,
    sigma: float = 1.5,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
) -> torch.Tensor:
    """Multi-scale SSIM per image, ``(B,)`` in [0, 1], higher is better (Wang et al. 2003).

    ``prod_j relu(cs_j)^w_j`` over the finer scales times ``relu(ssim_M)^w_M`` at the coarsest,
    computed per channel and averaged over channels. Between scales the images are 2x2
    average-pooled; an odd side first gets one replicated row/column at the top/left. This is
    the algorithm of ``piq.multi_scale_ssim``. Needs ``min(H, W) >= (win_size-1) * 2**(M-1) + 1``
    (161 for the defaults).
    """
    pred, target = _pair(pred, target)
    levels = len(weights)
    min_size = (win_size - 1) * 2 ** (levels - 1) + 1
    h, w = pred.shape[-2:]
    if min(h, w) < min_size:
        raise ValueError(
            f"pred: ms_ssim with {levels} scales needs images of at least {min_size}x{min_size}, "
            f"got {h}x{w}"
        )
    with torch.autocast(device_type=pred.device.type, enabled=False):
        kernel = gaussian_kernel1d(win_size, sigma, device=pred.device)
        x, y = pred, target
        factors = []
        for level in range(levels):
            if level > 0:
                pad = max(x.shape[-2] % 2, x.shape[-1] % 2)
                if pad:
                    x = F.pad(x, [pad, 0, pad, 0], mode="replicate")
                    y = F.pad(y, [pad, 0, pad, 0], mode="replicate")
                x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
            index = 0 if level == levels - 1 else 1
            factors.append(_map_mean(x, y, kernel, data_range, index, (-2, -1)))
        w_t = torch.tensor(weights, dtype=torch.float32, device=pred.device).view(-1, 1, 1)
        # relu before the fractional power: negative cs has no real power.
        per_channel = torch.prod(torch.relu(torch.stack(factors)) ** w_t, dim=0)
        return per_image_mean(per_channel)
