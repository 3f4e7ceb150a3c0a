"""NIQE, the no-reference "completely blind" quality score (Mittal et al., IEEE SPL 2013).

A thin shell over :func:`semfidelity.functional.niqe.niqe` with BasicSR's input conventions
(``calculate_niqe``): the MATLAB Y channel (or BT.601 grey) in [0, 255], rounded to integers,
``crop_border`` pixels removed per side. The pristine model is the bundled manifest weight
``niqe-pris-params`` (BasicSR's ``niqe_pris_params.npz``, Apache-2.0). Formula, parity and
options: docs/metrics/niqe.md.
"""

from __future__ import annotations

import logging
import math

import torch

from semfidelity import functional as F
from semfidelity import weights as W
from semfidelity.functional.niqe import BLOCK, niqe
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["NIQE"]

logger = logging.getLogger(__name__)

PRISTINE_ID = "niqe-pris-params"


@register_metric(
    "niqe",
    lower_better=True,
    score_range=(0.0, math.inf),
    requires_reference=False,
    differentiable=False,
    min_size=BLOCK,
    weights=(PRISTINE_ID,),
    description="NIQE natural-image statistics distance, no reference (BasicSR/MATLAB numbers)",
)
class NIQE(Metric):
    """NIQE, lower is better, no reference. Call ``niqe(pred)`` (a ``target`` is ignored).

    Options: ``y_channel`` (True: MATLAB Y as BasicSR's ``convert_to='y'``; False: BT.601
    grey ``0.299 R + 0.587 G + 0.114 B``, as ``convert_to='gray'``), ``crop_border`` (0
    pixels removed per side before scoring; SR papers use the scale factor).

    Images are scored in whole 96x96 blocks (the rest of the right/bottom edge is dropped, as
    in the reference); at least two blocks with finite features are needed, so one side must
    be at least 192 pixels after ``crop_border``.

    Example:
        >>> import torch, semfidelity
        >>> niqe = semfidelity.create_metric("niqe", device="cpu")  # parameters ship in the package
        >>> x = torch.rand(1, 3, 192, 192, generator=torch.Generator().manual_seed(0))
        >>> bool(niqe(x) > 0), niqe(x).shape
        (True, torch.Size([1]))

    References:
        Mittal, Soundararajan, Bovik, "Making a 'completely blind' image quality analyzer", IEEE
        Signal Processing Letters 20(3), 2013. DOI: 10.1109/LSP.2012.2227726
    """

    def __init__(
        self,
        *,
        y_channel: bool = True,
        crop_border: int = 0,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if as_loss:
            raise ValueError(
                "as_loss: NIQE is not differentiable (a grid search); use as_loss=False"
            )
        if not isinstance(y_channel, bool):
            raise TypeError(f"y_channel: expected a bool, got {type(y_channel).__name__}")
        if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
            raise ValueError(f"crop_border: expected a non-negative int, got {crop_border!r}")
        self.y_channel, self.crop_border = y_channel, crop_border
        params = W.load_state_dict(PRISTINE_ID)
        self.register_buffer("mu_pris", params["mu_pris_param"].reshape(-1), persistent=False)
        self.register_buffer("cov_pris", params["cov_pris_param"], persistent=False)
        self.register_buffer("window", params["gaussian_window"], persistent=False)

    @property
    def min_size(self) -> int:
        return BLOCK + 2 * self.crop_border

    def score(self, pred: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        grey = F.rgb_to_y(pred) if self.y_channel else F.rgb_to_luma(pred)
        img = F.crop_border(grey * 255.0, self.crop_border).round()[:, 0]
        h, w = img.shape[-2:]
        if (h // BLOCK) * (w // BLOCK) < 2:
            raise ValueError(
                f"pred: NIQE needs at least two {BLOCK}x{BLOCK} blocks, got an image of "
                f"{h}x{w} after crop_border={self.crop_border}"
            )
        out = niqe(img, self.mu_pris, self.cov_pris, self.window).float()
        if out.isnan().any():
            logger.warning(
                "niqe: %d of %d images have fewer than two textured %dx%d blocks (flat "
                "content); their NIQE is undefined and reported as NaN",
                int(out.isnan().sum()),
                out.numel(),
                BLOCK,
                BLOCK,
            )
        return out
