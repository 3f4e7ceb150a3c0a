"""Candidate scorers for :func:`semfidelity.selection.rank`.

A scorer gives every candidate of a set of super-resolved samples one number, **higher is
better**, plus optional detail columns. Scorers with and without a ground truth:

* :class:`TWSScorer` (``"tws"``): Trustworthiness Score against the reference (the TWS paper's
  validation step); needs ``reference``.
* :class:`LRConsistencyScorer` (``"lr_consistency"``): each candidate downscaled to the LR size
  (antialiased bicubic) and compared with the LR input by PSNR and SSIM; needs ``lr``.
* :class:`ConsensusScorer` (``"consensus"``): agreement with the per-pixel median of all
  candidates, globally and in the worst local window; needs nothing.
* :class:`VLMScorer` (``"vlm"``): the order given by a :class:`~semfidelity.selection.judges.Judge`.

The LR-gated realism scorer (``"faithful_realism"``, the default without ground truth) is in
:mod:`semfidelity.selection.faithful`; names map to classes in :mod:`semfidelity.selection.catalog`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as TF

from semfidelity import functional as F

__all__ = [
    "ScoringContext",
    "ScorerResult",
    "Scorer",
    "TWSScorer",
    "LRConsistencyScorer",
    "ConsensusScorer",
    "VLMScorer",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may use besides the candidates.

    Attributes:
        reference: ground truth ``(1, 3, H, W)`` or ``None``.
        lr: low-resolution input ``(1, 3, H/scale, W/scale)`` or ``None``.
        scale: integer upscaling factor (with ``lr``).
        judge: a :class:`~semfidelity.selection.judges.Judge` or ``None``.
    """

    reference: torch.Tensor | None = None
    lr: torch.Tensor | None = None
    scale: int | None = None
    judge: Any = None


@dataclass(frozen=True)
class ScorerResult:
    """``score``: ``(N,)`` float, higher is better; ``details``: extra ``(N,)`` columns;
    ``warnings``: messages about the candidate set that :func:`rank` logs and keeps."""

    score: torch.Tensor
    details: dict[str, torch.Tensor] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Scorer(Protocol):
    """Anything with a ``name`` and ``__call__(candidates, context) -> ScorerResult``."""

    name: str

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult: ...


class TWSScorer:
    """TWS of every candidate against the reference (higher is better).

    Uses the metric's defaults (whole-image view with per-region semantic pooling against the
    encoder's floor, stabilised wavelet term; docs/metrics/tws.md) and reports the components
    as detail columns ``tws_semantic``, ``tws_edge``, ``tws_wavelet``.

    Args:
        metric: a prebuilt ``tws`` metric (e.g. ``create_metric("tws", clip_model=...)``);
            when ``None`` one is created lazily with ``options`` on the candidates' device.
        **options: options of the ``tws`` metric (ignored when ``metric`` is given).
    """

    name = "tws"

    def __init__(self, metric: Any = None, **options: Any) -> None:
        if metric is not None and options:
            raise TypeError(
                f"TWSScorer: pass a metric or tws options, not both (options {sorted(options)})"
            )
        self._metric = metric
        self._options = options

    def _get_metric(self, device: torch.device) -> Any:
        if self._metric is None:
            from semfidelity.factory import create_metric

            self._metric = create_metric("tws", device=device, **self._options)
        return self._metric

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult:
        if context.reference is None:
            raise ValueError(
                "reference: scorer 'tws' needs a ground-truth reference image; without one use "
                "scorers=('lr_consistency', 'consensus') or scorers=('auto',)"
            )
        metric = self._get_metric(candidates.device)
        with torch.no_grad():
            if not getattr(getattr(metric, "spec", None), "has_components", False):
                return ScorerResult(metric(candidates, context.reference).float().cpu())
            parts = metric.components(candidates, context.reference)
        details = {f"tws_{k}": v.float().cpu() for k, v in parts.items() if k != "tws"}
        return ScorerResult(parts["tws"].float().cpu(), details)


class LRConsistencyScorer:
    """Consistency with the low-resolution input (no ground truth needed).

    Each candidate is downscaled to the LR size with antialiased bicubic interpolation and
    compared with ``lr``: ``score = 0.5 * SSIM + 0.5 * clamp(PSNR / psnr_max, 0, 1)`` in [0, 1],
    higher is better. PSNR and SSIM are reported as detail columns ``lr_psnr`` / ``lr_ssim``.
    A faithful SR output, downscaled, reproduces its input; hallucinated or foreign content
    does not.

    Args:
        psnr_max: PSNR in dB that maps to 1 in the combination (default 50).
    """

    name = "lr_consistency"

    def __init__(self, psnr_max: float = 50.0) -> None:
        if not psnr_max > 0:
            raise ValueError(f"psnr_max: expected a positive number of dB, got {psnr_max!r}")
        self.psnr_max = float(psnr_max)
        self._ssim: Any = None

    def _ssim_metric(self, device: torch.device) -> Any:
        if self._ssim is None:
            from semfidelity.factory import create_metric

            self._ssim = create_metric("ssim", device=device)
        return self._ssim

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult:
        if context.lr is None:
            raise ValueError(
                "lr: scorer 'lr_consistency' needs the low-resolution input (lr=..., scale=...)"
            )
        lr = context.lr.to(candidates.device, torch.float32)
        down = TF.interpolate(
            candidates.float(),
            size=lr.shape[-2:],
            mode="bicubic",
            antialias=True,
            align_corners=False,
        ).clamp(0.0, 1.0)
        ssim_metric = self._ssim_metric(candidates.device)
        if min(lr.shape[-2:]) < ssim_metric.min_size:
            raise ValueError(
                f"lr: the LR image ({lr.shape[-2]}x{lr.shape[-1]}) is smaller than the "
                f"{ssim_metric.min_size}x{ssim_metric.min_size} that SSIM in 'lr_consistency' needs"
            )
        with torch.no_grad():
            psnr = F.psnr(down, lr)
            ssim = ssim_metric(down, lr)
        score = 0.5 * ssim + 0.5 * (psnr / self.psnr_max).clamp(0.0, 1.0)
        details = {"lr_psnr": psnr.cpu(), "lr_ssim": ssim.cpu()}
        return ScorerResult(score.float().cpu(), details)


class ConsensusScorer:
    """Agreement with the per-pixel median of all candidates (no ground truth needed).

    ``d = mean_c |x - median|`` per pixel (lower median for an even count). Two errors are
    measured: the global mean of ``d`` (``consensus_mae``) and the worst local mean of ``d``
    over ``window x window`` windows (``consensus_worst``), which catches a small region of
    foreign or hallucinated content that a global average would dilute.
    ``score = 1 - (consensus_mae + consensus_worst) / 2`` in [0, 1], higher is better.

    Args:
        window: side of the local window in pixels (default 32; clipped to the image size).
    """

    name = "consensus"

    def __init__(self, window: int = 32) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f"window: expected a positive int, got {window!r}")
        self.window = window

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult:
        x = candidates.float().contiguous()  # median is wrong on expanded (stride-0) input
        median = x.median(dim=0, keepdim=True).values
        d = (x - median).abs().mean(dim=1, keepdim=True)
        win = min(self.window, d.shape[-2], d.shape[-1])
        local = TF.avg_pool2d(d, kernel_size=win, stride=max(1, win // 2))
        mae = d.mean(dim=(1, 2, 3))
        worst = local.amax(dim=(1, 2, 3))
        score = 1.0 - 0.5 * (mae + worst)
        return ScorerResult(
            score.cpu(), {"consensus_mae": mae.cpu(), "consensus_worst": worst.cpu()}
        )


class VLMScorer:
    """The order given by a vision-language judge: ``score = 1 - position / (N - 1)``.

    Args:
        judge: a :class:`~semfidelity.selection.judges.Judge`; when ``None`` the judge passed
            to :func:`~semfidelity.selection.rank` is used.
    """

    name = "vlm"

    def __init__(self, judge: Any = None) -> None:
        self.judge = judge

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult:
        judge = self.judge if self.judge is not None else context.judge
        if judge is None:
            raise ValueError(
                "judge: scorer 'vlm' needs a judge, e.g. rank(..., judge=OpenAIJudge()) "
                "or rank(..., judge=HFJudge(model_id))"
            )
        n = candidates.shape[0]
        order = list(judge.rank(candidates))
        if sorted(order) != list(range(n)):
            raise ValueError(
                f"judge: {type(judge).__name__}.rank must return a permutation of range({n}) "
                f"(best first), got {order!r}"
            )
        score = torch.empty(n)
        for pos, idx in enumerate(order):
            score[idx] = 1.0 - pos / (n - 1)
        return ScorerResult(score)
