"""``wavelet``: the TWS wavelet artifact term as a metric of its own (docs/metrics.md)."""

from __future__ import annotations

import torch

from semfidelity import functional as F
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_wavelet_options
from semfidelity.registry import register_metric

__all__ = ["WaveletSimilarity"]


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

    Example:
        >>> import torch, semfidelity
        >>> wavelet = semfidelity.create_metric("wavelet", device="cpu", wavelet="db2", levels=2)
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> wavelet(x, x)
        tensor([1., 1.])
        >>> wavelet.min_size  # (filter_length - 1) * 2**levels
        12

    References:
        Korkmaz, Tekalp, Doğan, IEEE TCSVT 2025 (the TWS wavelet term). arXiv:2506.20832.
        Mallat, "A theory for multiresolution signal decomposition: the wavelet representation",
        IEEE TPAMI 11(7), 1989. DOI: 10.1109/34.192463
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
