"""DISTS maths (Ding, Ma, Wang, Simoncelli, IEEE TPAMI 2022): L2 pooling and the score.

For feature maps ``x_k``, ``y_k`` (k = 0 is the image itself, 1..5 the VGG-16 stages), per
channel ``i``, with spatial means ``mu``, variances ``s^2`` and covariance ``s_xy``::

    S1_ki = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1)       (texture: global means)
    S2_ki = (2 s_xy + c2) / (s_x^2 + s_y^2 + c2)             (structure: correlation)
    DISTS = 1 - sum_ki (alpha_ki S1_ki + beta_ki S2_ki) / (sum alpha + sum beta)

with ``c1 = c2 = 1e-6``. Range [0, 1] for the official (positive) weights; lower is better.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["l2pool", "dists_from_features", "C1", "C2"]

C1 = 1e-6
C2 = 1e-6


def l2pool(x: torch.Tensor) -> torch.Tensor:
    """L2 pooling of ``(B, C, H, W)``: ``sqrt(hann3x3 * x^2 + 1e-12)``, stride 2, padding 1.

    The 3x3 window is the outer product of ``[0.5, 1, 0.5]`` (``numpy.hanning(5)[1:-1]``),
    normalised to sum 1; output ``(B, C, ceil(H/2), ceil(W/2))``.
    """
    a = torch.tensor([0.5, 1.0, 0.5], dtype=x.dtype, device=x.device)
    k = torch.outer(a, a)
    k = (k / k.sum()).expand(x.shape[1], 1, 3, 3)
    out = F.conv2d(x * x, k, stride=2, padding=1, groups=x.shape[1])
    return (out + 1e-12).sqrt()


def dists_from_features(
    feats_x: list[torch.Tensor],
    feats_y: list[torch.Tensor],
    alpha: torch.Tensor,
    beta: torch.Tensor,
) -> torch.Tensor:
    """DISTS ``(B,)`` from per-stage features of pred and target.

    Args:
        feats_x, feats_y: lists of ``(B, C_k, H_k, W_k)`` (``feats_y`` may have batch 1).
        alpha, beta: ``(sum C_k,)`` non-negative weights (structure / texture).
    """
    chans = [f.shape[1] for f in feats_x]
    if alpha.numel() != sum(chans) or beta.numel() != sum(chans):
        raise ValueError(
            f"alpha/beta: expected {sum(chans)} weights (channels {chans}), got "
            f"{alpha.numel()} and {beta.numel()}"
        )
    total = alpha.sum() + beta.sum()
    alphas = torch.split(alpha.reshape(-1) / total, chans)
    betas = torch.split(beta.reshape(-1) / total, chans)
    score = 0.0
    for x, y, a, b in zip(feats_x, feats_y, alphas, betas):
        mx, my = x.mean((2, 3)), y.mean((2, 3))
        s1 = (2 * mx * my + C1) / (mx**2 + my**2 + C1)
        vx = ((x - mx[..., None, None]) ** 2).mean((2, 3))
        vy = ((y - my[..., None, None]) ** 2).mean((2, 3))
        cov = (x * y).mean((2, 3)) - mx * my
        s2 = (2 * cov + C2) / (vx + vy + C2)
        score = score + (s1 * a).sum(1) + (s2 * b).sum(1)
    return 1 - score
