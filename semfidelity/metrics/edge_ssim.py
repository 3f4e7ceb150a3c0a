"""``edge_ssim``: the TWS edge term as a metric of its own (docs/metrics.md)."""

from __future__ import annotations

import torch

from semfidelity import functional as F
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_edge_option
from semfidelity.metrics.ssim import SSIM_WINDOW
from semfidelity.registry import register_metric

__all__ = ["EdgeSSIM"]


@register_metric(
    "edge_ssim",
    lower_better=False,
    score_range=(0.0, 1.0),
    description="SSIM of normalised Sobel edge maps of luma (TWS edge term)",
    min_size=SSIM_WINDOW,
)
class EdgeSSIM(Metric):
    """TWS edge term: SSIM of edge maps of BT.601 luma, clamped to [0, 1], higher is better.

    Option ``edge``: ``"sobel"`` (default, differentiable) or ``"canny"`` (binary edges,
    not differentiable, so not usable with ``as_loss=True``).
    """

    def __init__(self, *, edge: str = "sobel", device=None, as_loss: bool = False) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self.edge = check_edge_option(edge, as_loss)

    @property
    def differentiable(self) -> bool:
        return self.edge == "sobel"

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.edge_ssim(pred, target, edge=self.edge)
