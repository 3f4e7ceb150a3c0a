"""Classical full-reference metrics: PSNR, SSIM, MS-SSIM and the TWS edge/wavelet terms."""

from __future__ import annotations

import math

import torch

from semfidelity import functional as F
from semfidelity.metric import Metric
from semfidelity.registry import register_metric


@register_metric(
    "psnr",
    lower_better=False,
    score_range=(0.0, math.inf),
    description="Peak signal-to-noise ratio in dB (RGB by default)",
    amp_safe=False,
)
class PSNR(Metric):
    """PSNR in dB. Options: ``data_range`` (1.0)."""

    def __init__(self, *, data_range: float = 1.0, device=None, as_loss: bool = False) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if not data_range > 0:
            raise ValueError(f"data_range: expected a positive number, got {data_range!r}")
        self.data_range = float(data_range)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.psnr(pred, target, data_range=self.data_range)
