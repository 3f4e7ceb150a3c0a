"""Base class of the metrics with BasicSR's ``y_channel`` / ``crop_border`` protocol."""

from __future__ import annotations

import torch

from semfidelity import functional as F
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_bool, check_crop_border

__all__ = ["ChannelMetric"]


class ChannelMetric(Metric):
    """Shared ``y_channel`` / ``crop_border`` handling (BasicSR's evaluation protocol)."""

    base_min_size = 1

    def __init__(self, *, y_channel: bool, crop_border: int, device, as_loss: bool) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self.y_channel = check_bool("y_channel", y_channel)
        self.crop_border = check_crop_border(crop_border)

    @property
    def min_size(self) -> int:
        return self.base_min_size + 2 * self.crop_border

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        if self.y_channel:
            x = F.rgb_to_y(x)
        return F.crop_border(x, self.crop_border)
