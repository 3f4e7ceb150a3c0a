"""PSNR in dB: a thin shell over :func:`semfidelity.functional.psnr` (docs/metrics.md)."""

from __future__ import annotations

import math

import torch

from semfidelity import functional as F
from semfidelity.metrics._channel import ChannelMetric
from semfidelity.registry import register_metric

__all__ = ["PSNR"]


@register_metric(
    "psnr",
    lower_better=False,
    score_range=(0.0, math.inf),
    description="Peak signal-to-noise ratio in dB (RGB by default)",
    min_size=1,
)
class PSNR(ChannelMetric):
    """PSNR in dB, higher is better; identical images give 100 dB (MSE floored at 1e-10).

    Options: ``data_range`` (1.0), ``y_channel`` (False: RGB; True: MATLAB Y),
    ``crop_border`` (0 pixels removed per side before scoring).

    Example:
        >>> import torch, semfidelity
        >>> psnr = semfidelity.create_metric("psnr", device="cpu")
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> psnr(x, x)
        tensor([100., 100.])
        >>> noisy = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)))
        >>> round(psnr(noisy.clamp(0, 1), x)[0].item())
        26

    References:
        Huynh-Thu, Ghanbari, "Scope of validity of PSNR in image/video quality assessment",
        Electronics Letters 44(13), 2008. DOI: 10.1049/el:20080522
    """

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        y_channel: bool = False,
        crop_border: int = 0,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(
            y_channel=y_channel, crop_border=crop_border, device=device, as_loss=as_loss
        )
        if isinstance(data_range, bool) or not isinstance(data_range, (int, float)):
            raise TypeError(f"data_range: expected a number, got {type(data_range).__name__}")
        if not data_range > 0:
            raise ValueError(f"data_range: expected a positive number, got {data_range!r}")
        self.data_range = float(data_range)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.psnr(self._view(pred), self._view(target), data_range=self.data_range)
