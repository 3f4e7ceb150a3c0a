"""The per-stage heads of CLIP-LPIPS: the thesis' linear layers and our LPIPS-style variant.

Both map per-stage feature differences ``diff_s`` ``(B, C_s, h, w)`` to per-position distances
``d_s`` ``(B, 1, h, w)`` with one linear function of the channels per stage; the score is the
mean over stages of the spatial mean of ``d_s`` (so the score of the thesis head equals its
linear layer applied to the per-channel MSE, the spatial mean commuting with the layer).

========== ============================================ ===========================================
head       ``"thesis"`` (:class:`ThesisHeads`)          ``"lpips"`` (:class:`LinearHeads`)
========== ============================================ ===========================================
diff_s     ``(f_s(pred) - f_s(target))^2`` raw          ``(u_s(pred) - u_s(target))^2``, unit-norm
layer      ``nn.Linear(C_s, 1)``: free weights + bias   ``softplus(raw) >= 0`` weights, no bias
untrained  weights ``1/C_s``, bias 0: per-stage MSE     weights 0.5: ``1 - cos`` per position
range      any real once trained                        ``[0, inf)``, 0 at identity
========== ============================================ ===========================================

Thesis: Rocafort (CVC 2025), Fig. 5 (per-stage MSE -> one linear layer per stage -> average).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.functional.deep_features import raw_squared_diff, squared_feature_diff

__all__ = ["LinearHeads", "ThesisHeads", "HEAD_KINDS", "make_heads"]

UNIFORM_WEIGHT = 0.5
#: head kind -> class; the first is the default
HEAD_KINDS = ("thesis", "lpips")


def _check_channels(channels: list[int]) -> None:
    if not channels or any(not isinstance(c, int) or c < 1 for c in channels):
        raise ValueError(f"channels: expected a non-empty list of positive ints, got {channels!r}")


class LinearHeads(nn.Module):
    """LPIPS-style heads: ``d_s = sum_c w_{s,c} * (u_p - u_t)_c^2`` on unit-normalised features.

    The weights are ``softplus(raw)`` (strictly positive, smooth: every raw value gets a
    gradient, unlike LPIPS' clamp after each step). Initialised uniform at ``init``.

    Args:
        channels: channels of each stage, e.g. ``[64, 256, 512]``.
        init: initial weight of every channel (0.5: uncalibrated ``1 - cos``).
    """

    kind = "lpips"

    def __init__(self, channels: list[int], init: float = UNIFORM_WEIGHT) -> None:
        super().__init__()
        _check_channels(channels)
        if not init > 0:
            raise ValueError(f"init: expected a positive weight, got {init!r}")
        raw0 = math.log(math.expm1(init))  # softplus^-1
        self.channels = list(channels)
        self.raw = nn.ParameterList(nn.Parameter(torch.full((c,), raw0)) for c in channels)

    @staticmethod
    def difference(fp: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
        return squared_feature_diff(fp, ft)

    def weights(self) -> list[torch.Tensor]:
        """Non-negative per-channel weights of each stage, shapes ``(C_s,)``."""
        return [F.softplus(r) for r in self.raw]

    def forward(self, diffs: list[torch.Tensor]) -> list[torch.Tensor]:
        """``diffs[s]`` ``(B, C_s, h, w)`` -> per-stage maps ``(B, 1, h, w)``."""
        if len(diffs) != len(self.raw):
            raise ValueError(f"diffs: expected {len(self.raw)} stages, got {len(diffs)}")
        return [F.conv2d(d, w.view(1, -1, 1, 1)) for d, w in zip(diffs, self.weights())]


class ThesisHeads(nn.Module):
    """The thesis' heads: one ``nn.Linear(C_s, 1)`` per stage on the raw squared differences.

    Untrained, every weight is ``1/C_s`` and every bias 0, so ``d_s`` is the mean over channels
    of the squared feature difference and the score is the per-stage feature MSE averaged over
    stages (uncalibrated, >= 0). Trained weights are unconstrained (as a linear layer).
    """

    kind = "thesis"

    def __init__(self, channels: list[int]) -> None:
        super().__init__()
        _check_channels(channels)
        self.channels = list(channels)
        self.linear = nn.ModuleList(nn.Linear(c, 1) for c in channels)
        with torch.no_grad():
            for layer, c in zip(self.linear, channels):
                layer.weight.fill_(1.0 / c)
                layer.bias.zero_()

    @staticmethod
    def difference(fp: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
        return raw_squared_diff(fp, ft)

    def forward(self, diffs: list[torch.Tensor]) -> list[torch.Tensor]:
        """``diffs[s]`` ``(B, C_s, h, w)`` -> per-stage maps ``(B, 1, h, w)`` (1x1 layer + bias)."""
        if len(diffs) != len(self.linear):
            raise ValueError(f"diffs: expected {len(self.linear)} stages, got {len(diffs)}")
        return [
            F.conv2d(d, layer.weight.view(1, -1, 1, 1), layer.bias)
            for d, layer in zip(diffs, self.linear)
        ]


def make_heads(kind: str, channels: list[int]) -> LinearHeads | ThesisHeads:
    """Untrained heads of ``kind`` (``"thesis"`` or ``"lpips"``) for ``channels``."""
    if kind == "thesis":
        return ThesisHeads(channels)
    if kind == "lpips":
        return LinearHeads(channels)
    raise ValueError(f"head: expected one of {HEAD_KINDS}, got {kind!r}")
