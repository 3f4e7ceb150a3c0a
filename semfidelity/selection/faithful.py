"""Choosing without ground truth: faithful to the LR input first, then the most realistic detail.

LR consistency alone prefers smooth candidates (a blurred sample, downscaled, matches the LR
input well), and so does agreement with the other samples. Here LR consistency is a **gate**:
every candidate within a tolerance of the most LR-consistent one (or consistent enough in
absolute terms) is *faithful*, and among the faithful ones a no-reference **realism** term
decides: fine-scale detail above the noise floor, relative to what the LR input's own scale
statistics predict. Candidates that fail the gate come after all faithful ones, ordered by how
far they miss it. The rule, its constants and the measurements behind them are in
docs/selection.md.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from semfidelity.selection.realism import (
    NOISE_WARN,
    SPREAD_WARN,
    detail_statistics,
    lr_fidelity,
    mixed_methods_warning,
)
from semfidelity.selection.scorers import ScorerResult, ScoringContext

__all__ = ["FaithfulRealismScorer", "REALISM_TERMS"]

REALISM_TERMS = ("detail", "niqe")

logger = logging.getLogger(__name__)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return float(value)


class FaithfulRealismScorer:
    """LR-consistency gate, then realism (no ground truth needed; needs ``lr`` and ``scale``).

    A candidate is **faithful** when, downscaled to the LR size, both
    ``lr_psnr >= min(best_lr_psnr - tol_db, faithful_db)`` (whole image) and
    ``lr_worst_psnr >= min(best_lr_worst_psnr - local_tol_db, faithful_local_db)`` (worst
    ``window x window`` LR window). Faithful candidates are ordered by
    ``realism = detail`` when ``detail <= margin``, else ``margin - 2 * (detail - margin)``,
    where ``detail`` (see :func:`~semfidelity.selection.realism.detail_statistics`) is the
    log2 ratio of the fine-scale energy above the noise floor to the energy the LR input
    predicts: blur and bicubic upsampling lose detail (``detail`` around -1 to -3 on Set5),
    white noise is mostly removed by the noise floor, and far more detail than predicted
    (beyond ``margin``) is penalised as over-sharpening. The others follow, ordered by
    ``deficit`` = how many dB they miss the gate by (the larger of the two criteria).

    ``score``: faithful ``1 + sigmoid(realism)`` in (1, 2), others ``1 / (1 + deficit)`` in
    (0, 1); higher is better. Detail columns: ``lr_psnr``, ``lr_worst_psnr``, ``faithful``
    (1/0), ``detail``, ``realism``, ``noise_sigma``.

    The result carries a warning when the candidates look like outputs of different methods
    (``detail`` spread over ``spread_warn`` log2 units or noise levels apart by more than
    ``noise_warn`` times, above 1/255): the rule is made for samples of one model and one input.

    Args:
        tol_db: gate tolerance below the best whole-image LR PSNR (default 3 dB: LR RMSE
            within 1.41x of the most consistent candidate).
        faithful_db: whole-image LR PSNR that is faithful whatever the best (default 40 dB:
            LR RMSE of 1% of the range, 2.55 grey levels).
        local_tol_db: gate tolerance below the best worst-window LR PSNR (default 6 dB).
        faithful_local_db: worst-window LR PSNR that is faithful whatever the best (30 dB).
        window: side of the local LR window in LR pixels (default 8 = 32 HR pixels at x4).
        margin: detail (log2 units) above which realism falls again (default 1.5).
        spread_warn, noise_warn: thresholds of the different-methods warning (1.0, 2.0).
        realism: ``"detail"`` (default, the statistic above) or ``"niqe"``: ``realism =
            -NIQE`` of the candidate (the ``niqe`` metric, BasicSR's numbers; needs a side of
            at least 192 pixels; adds a ``niqe`` column). On the known-answer pools of
            docs/selection.md ``"niqe"`` met the known answer in 13/17 pools, ``"detail"`` in
            17/17.
    """

    name = "faithful_realism"

    def __init__(
        self,
        tol_db: float = 3.0,
        faithful_db: float = 40.0,
        local_tol_db: float = 6.0,
        faithful_local_db: float = 30.0,
        window: int = 8,
        margin: float = 1.5,
        spread_warn: float = SPREAD_WARN,
        noise_warn: float = NOISE_WARN,
        realism: str = "detail",
    ) -> None:
        self.tol_db = _positive("tol_db", tol_db)
        self.faithful_db = _positive("faithful_db", faithful_db)
        self.local_tol_db = _positive("local_tol_db", local_tol_db)
        self.faithful_local_db = _positive("faithful_local_db", faithful_local_db)
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f"window: expected a positive int, got {window!r}")
        self.window = window
        self.margin = _positive("margin", margin)
        self.spread_warn = _positive("spread_warn", spread_warn)
        self.noise_warn = _positive("noise_warn", noise_warn)
        if realism not in REALISM_TERMS:
            raise ValueError(f"realism: expected one of {REALISM_TERMS}, got {realism!r}")
        self.realism = realism
        self._niqe: Any = None

    def __call__(self, candidates: torch.Tensor, context: ScoringContext) -> ScorerResult:
        if context.lr is None or context.scale is None:
            raise ValueError(
                "lr: scorer 'faithful_realism' needs the low-resolution input (lr=..., scale=...)"
            )
        lr = context.lr.to(candidates.device, torch.float32)
        if min(lr.shape[-2:]) < 4:
            raise ValueError(
                f"lr: scorer 'faithful_realism' needs an LR image of at least 4x4, got "
                f"{lr.shape[-2]}x{lr.shape[-1]}"
            )
        with torch.no_grad():
            psnr, worst = (t.double().cpu() for t in lr_fidelity(candidates, lr, self.window))
            stats = detail_statistics(candidates, lr, context.scale)
        detail = stats.detail.double()
        gate = torch.minimum(psnr.max() - self.tol_db, torch.tensor(self.faithful_db))
        local_gate = torch.minimum(
            worst.max() - self.local_tol_db, torch.tensor(self.faithful_local_db)
        )
        deficit = torch.maximum(gate - psnr, local_gate - worst).clamp_min(0.0)
        faithful = deficit <= 0
        realism = torch.where(
            detail <= self.margin, detail, self.margin - 2.0 * (detail - self.margin)
        )
        extra = {}
        if self.realism == "niqe":
            with torch.no_grad():
                extra["niqe"] = self._niqe_metric(candidates.device)(candidates).double().cpu()
            realism = -extra["niqe"]
        score = torch.where(faithful, 1.0 + torch.sigmoid(realism), 1.0 / (1.0 + deficit))
        details = {
            "lr_psnr": psnr,
            "lr_worst_psnr": worst,
            "faithful": faithful.double(),
            "detail": detail,
            "realism": realism,
            "noise_sigma": stats.noise_sigma.double(),
            **extra,
        }
        logger.info(
            "faithful_realism: %d of %d candidates pass the LR gate (%.2f dB, worst window "
            "%.2f dB)",
            int(faithful.sum()),
            len(score),
            float(gate),
            float(local_gate),
        )
        return ScorerResult(score.float(), details, warnings=self._scope_warnings(stats))

    def _niqe_metric(self, device: torch.device) -> Any:
        if self._niqe is None:
            from semfidelity.factory import create_metric

            self._niqe = create_metric("niqe", device=device)
        return self._niqe

    def _scope_warnings(self, stats) -> list[str]:
        warning = mixed_methods_warning(
            stats.detail,
            stats.noise_sigma,
            spread_warn=self.spread_warn,
            noise_warn=self.noise_warn,
        )
        return [warning] if warning else []
