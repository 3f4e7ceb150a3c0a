"""Fréchet distance between Gaussians fitted to feature sets (FID; Heusel et al., NeurIPS 2017).

``FID = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``, computed in float64. The
trace of the matrix square root is the sum of the square roots of the eigenvalues of
``S_1 S_2`` (real parts), as torchmetrics does; pytorch-fid's ``scipy.linalg.sqrtm`` gives the
same value up to its own rounding.
"""

from __future__ import annotations

import torch

__all__ = ["feature_statistics", "frechet_distance"]


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``(N, D)`` features, float64.

    Raises:
        ValueError: fewer than two feature vectors (no covariance).
    """
    if features.ndim != 2:
        raise ValueError(f"features: expected (N, D), got shape {tuple(features.shape)}")
    if features.shape[0] < 2:
        raise ValueError(
            f"features: need at least 2 images to estimate a covariance, got {features.shape[0]}"
        )
    f = features.double()
    return f.mean(0), torch.cov(f.T)


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> torch.Tensor:
    """Fréchet distance of ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``: a float64 scalar >= 0
    (up to rounding), lower means closer distributions."""
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"statistics: shapes differ, mu {tuple(mu1.shape)} vs {tuple(mu2.shape)}, "
            f"sigma {tuple(sigma1.shape)} vs {tuple(sigma2.shape)}"
        )
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    mean_term = (mu1 - mu2).square().sum()
    root_trace = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum()
    return mean_term + sigma1.trace() + sigma2.trace() - 2 * root_trace
