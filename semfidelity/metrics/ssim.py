"""SSIM and MS-SSIM: thin shells over :mod:`semfidelity.functional.ssim` (docs/metrics.md)."""

from __future__ import annotations

import torch

from semfidelity import functional as F
from semfidelity.functional.ssim import MS_SSIM_WEIGHTS
from semfidelity.metric import Metric
from semfidelity.metrics._channel import ChannelMetric
from semfidelity.registry import register_metric

__all__ = ["SSIM", "MSSSIM", "SSIM_WINDOW", "MS_SSIM_MIN_SIZE"]

SSIM_WINDOW = 11
#: Smallest side for five MS-SSIM scales of an 11-pixel window: (11 - 1) * 2**4 + 1.
MS_SSIM_MIN_SIZE = (SSIM_WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1


@register_metric(
    "ssim",
    lower_better=False,
    score_range=(-1.0, 1.0),
    description="Structural similarity, Gaussian window 11 / sigma 1.5, mean over RGB",
    min_size=SSIM_WINDOW,
    has_map=True,
)
class SSIM(ChannelMetric):
    """SSIM (Wang et al. 2004), higher is better; equals scikit-image's Gaussian SSIM.

    Options: ``y_channel`` (False), ``crop_border`` (0). ``map()`` returns the local SSIM map
    at input resolution (symmetric padding, as scikit-image's ``full=True``), Y or RGB mean.

    Example:
        >>> import torch, semfidelity
        >>> ssim = semfidelity.create_metric("ssim", device="cpu", y_channel=True, crop_border=4)
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> ssim(x, x)
        tensor([1., 1.])
        >>> ssim.map(x, x).shape
        torch.Size([2, 1, 64, 64])

    References:
        Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error visibility to
        structural similarity", IEEE TIP 13(4), 2004. DOI: 10.1109/TIP.2003.819861
    """

    base_min_size = SSIM_WINDOW

    def __init__(
        self, *, y_channel: bool = False, crop_border: int = 0, device=None, as_loss: bool = False
    ) -> None:
        super().__init__(
            y_channel=y_channel, crop_border=crop_border, device=device, as_loss=as_loss
        )

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # float32 rounding can overshoot 1 by an ulp at identity: keep inside score_range.
        return F.ssim(self._view(pred), self._view(target)).clamp(-1.0, 1.0)

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.y_channel:
            pred, target = F.rgb_to_y(pred), F.rgb_to_y(target)
        return F.ssim_map(pred, target, full=True).clamp(-1.0, 1.0)


@register_metric(
    "ms_ssim",
    lower_better=False,
    score_range=(0.0, 1.0),
    description="Multi-scale SSIM, 5 scales (Wang et al. 2003), piq's algorithm",
    min_size=MS_SSIM_MIN_SIZE,
)
class MSSSIM(Metric):
    """MS-SSIM with the five scale weights of Wang et al. (2003); needs sides >= 161 pixels.

    Example:
        >>> import torch, semfidelity
        >>> ms_ssim = semfidelity.create_metric("ms_ssim", device="cpu")
        >>> x = torch.rand(1, 3, 176, 176, generator=torch.Generator().manual_seed(0))
        >>> ms_ssim(x, x)
        tensor([1.])
        >>> bool(ms_ssim(x, x.flip(-1)) < 0.5)
        True

    References:
        Wang, Simoncelli, Bovik, "Multiscale structural similarity for image quality assessment",
        Asilomar Conference on Signals, Systems and Computers, 2003.
        DOI: 10.1109/ACSSC.2003.1292216
    """

    def __init__(self, *, device=None, as_loss: bool = False) -> None:
        super().__init__(device=device, as_loss=as_loss)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.ms_ssim(pred, target).clamp(0.0, 1.0)
