"""Classical full-reference metrics: PSNR, SSIM, MS-SSIM and the TWS edge/wavelet terms.

Thin shells over :mod:`semfidelity.functional`; formulas, references and measured parity are
in docs/metrics.md.
"""

from __future__ import annotations

import math

import torch

from semfidelity import functional as F
from semfidelity.functional.edges import EDGE_METHODS
from semfidelity.functional.ssim import MS_SSIM_WEIGHTS
from semfidelity.functional.wavelets import DWT_MODES, min_side
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

SSIM_WINDOW = 11
#: Smallest side for five MS-SSIM scales of an 11-pixel window: (11 - 1) * 2**4 + 1.
MS_SSIM_MIN_SIZE = (SSIM_WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return value


def _check_border(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"crop_border: expected a non-negative int, got {value!r}")
    return value


def check_edge_option(edge: object, as_loss: bool) -> str:
    """Validate the ``edge`` option of the TWS edge term (``edge_ssim`` and ``tws``)."""
    if edge not in EDGE_METHODS:
        raise ValueError(f"edge: expected one of {EDGE_METHODS}, got {edge!r}")
    if edge == "canny" and as_loss:
        raise ValueError("edge: 'canny' is not differentiable; use edge='sobel' with as_loss")
    return edge


def check_wavelet_options(wavelet: object, levels: object, mode: object = "symmetric") -> int:
    """Validate the TWS wavelet-term options (``wavelet`` and ``tws``).

    Returns the smallest image side they need: ``(filter_length - 1) * 2**levels``.
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels: expected an int >= 1, got {levels!r}")
    if mode not in DWT_MODES:
        raise ValueError(f"mode: expected one of {DWT_MODES}, got {mode!r}")
    return min_side(wavelet, levels)  # also validates the wavelet name


class _ChannelMetric(Metric):
    """Shared ``y_channel`` / ``crop_border`` handling (BasicSR's evaluation protocol)."""

    base_min_size = 1

    def __init__(self, *, y_channel: bool, crop_border: int, device, as_loss: bool) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self.y_channel = _check_bool("y_channel", y_channel)
        self.crop_border = _check_border(crop_border)

    @property
    def min_size(self) -> int:
        return self.base_min_size + 2 * self.crop_border

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        if self.y_channel:
            x = F.rgb_to_y(x)
        return F.crop_border(x, self.crop_border)


@register_metric(
    "psnr",
    lower_better=False,
    score_range=(0.0, math.inf),
    description="Peak signal-to-noise ratio in dB (RGB by default)",
    min_size=1,
)
class PSNR(_ChannelMetric):
    """PSNR in dB, higher is better; identical images give 100 dB (MSE floored at 1e-10).

    Options: ``data_range`` (1.0), ``y_channel`` (False: RGB; True: MATLAB Y),
    ``crop_border`` (0 pixels removed per side before scoring).
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


@register_metric(
    "ssim",
    lower_better=False,
    score_range=(-1.0, 1.0),
    description="Structural similarity, Gaussian window 11 / sigma 1.5, mean over RGB",
    min_size=SSIM_WINDOW,
    has_map=True,
)
class SSIM(_ChannelMetric):
    """SSIM (Wang et al. 2004), higher is better; equals scikit-image's Gaussian SSIM.

    Options: ``y_channel`` (False), ``crop_border`` (0). ``map()`` returns the local SSIM map
    at input resolution (symmetric padding, as scikit-image's ``full=True``), Y or RGB mean.
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
    """MS-SSIM with the five scale weights of Wang et al. (2003); needs sides >= 161 pixels."""

    def __init__(self, *, device=None, as_loss: bool = False) -> None:
        super().__init__(device=device, as_loss=as_loss)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.ms_ssim(pred, target).clamp(0.0, 1.0)


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


@register_metric(
    "wavelet",
    lower_better=False,
    score_range=(0.0, 1.0),
    description="Multi-level wavelet detail agreement of luma (TWS wavelet artifact term)",
    min_size=8,
)
class WaveletSimilarity(Metric):
    """TWS wavelet term: stabilised agreement of detail-coefficient magnitudes (``(B,)``, [0, 1]).

    Options: ``wavelet`` (PyWavelets name, ``"haar"``), ``levels`` (3), ``mode``
    (``"symmetric"`` or ``"periodization"``), ``formula`` ("stable" or the unstabilised
    "ratio"), ``k`` (0.015, stabilising constant); see ``functional.wavelet_similarity``.
    Images need ``levels`` full decomposition levels: sides of at least
    ``(filter_length - 1) * 2**levels`` (8 for haar, 3 levels).
    """

    def __init__(
        self,
        *,
        wavelet: str = "haar",
        levels: int = 3,
        mode: str = "symmetric",
        formula: str = "stable",
        k: float = F.WAVELET_K,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self._min_size = check_wavelet_options(wavelet, levels, mode)
        F.check_wavelet_formula(formula, k)
        self.wavelet, self.levels, self.mode = wavelet, levels, mode
        self.formula, self.k = formula, float(k)

    @property
    def min_size(self) -> int:
        return self._min_size

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.wavelet_similarity(
            pred,
            target,
            wavelet=self.wavelet,
            levels=self.levels,
            mode=self.mode,
            formula=self.formula,
            k=self.k,
        )
