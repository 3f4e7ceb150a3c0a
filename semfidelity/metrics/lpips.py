"""LPIPS v0.1 (Zhang et al., CVPR 2018), numerically equal to the official ``lpips`` package.

Pipeline, for pred ``x`` and target ``y`` in [0, 1]::

    x -> 2x - 1 -> ScalingLayer ((x - shift) / scale) -> AlexNet/VGG taps f_1..f_5
    d_l = lin_l( (f_l(x)/||f_l(x)|| - f_l(y)/||f_l(y)||)^2 )       (1x1 conv, official heads)
    score = sum_l mean_hw(d_l)          map = sum_l upsample_bilinear(d_l, H x W)

The official heads (``lpips-alex-v0.1`` / ``lpips-vgg-v0.1``) ship with the package; backbone
weights come from the manifest (``alexnet-imagenet`` / ``vgg16-imagenet``). Lower is better.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from semfidelity import weights as W
from semfidelity.backbones._state import WeightsArg
from semfidelity.backbones.lpips_nets import NETS, build_lpips_net
from semfidelity.functional.deep_features import squared_feature_diff, upsample_to
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["LPIPS"]

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


@register_metric(
    "lpips",
    lower_better=True,
    score_range=(0.0, math.inf),
    min_size=32,
    weights=("alexnet-imagenet", "lpips-alex-v0.1"),
    description="LPIPS v0.1 perceptual distance (AlexNet or VGG-16 features, official heads)",
    has_map=True,
    amp_safe=True,
)
class LPIPS(Metric):
    """LPIPS v0.1. Options: ``net`` (``"alex"`` | ``"vgg"``), ``weights`` (backbone: ``None`` =
    manifest, a manifest id, a path, a state dict, or ``"random"`` for timing/tests).

    ``score`` ``(B,)`` in [0, inf), lower is better; ``map`` ``(B, 1, H, W)`` equals the official
    ``LPIPS(spatial=True)`` output (its spatial mean is close to, not equal to, the score).

    Example:
        >>> import torch, semfidelity
        >>> # weights="random" keeps the example offline; the default loads the pinned AlexNet
        >>> lpips = semfidelity.create_metric("lpips", device="cpu", weights="random")
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> lpips(x, x)
        tensor([0., 0.])
        >>> lpips.map(x, x.flip(-1)).shape
        torch.Size([2, 1, 64, 64])

    References:
        Zhang, Isola, Efros, Shechtman, Wang, "The unreasonable effectiveness of deep features as a
        perceptual metric", CVPR 2018. arXiv:1801.03924
    """

    def __init__(
        self,
        *,
        net: str = "alex",
        weights: WeightsArg = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if net not in NETS:
            raise ValueError(f"net: expected one of {sorted(NETS)}, got {net!r}")
        self.net_name = net
        self.net = build_lpips_net(net, weights)
        heads = W.load_state_dict(f"lpips-{net}-v0.1")
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.net.channels)
        for i, lin in enumerate(self.lins):
            lin.weight.data.copy_(heads[f"lin{i}.model.1.weight"])
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def layer_maps(self, pred: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer head outputs ``(B, 1, h_l, w_l)`` at each tap's resolution."""
        n = pred.shape[0]
        both = torch.cat([pred, target]) if target.shape[0] == n or n == 1 else None
        if both is not None:
            feats = self.net((2 * both - 1 - self.shift) / self.scale)
            pairs = [(f[:n], f[n:]) for f in feats]
        else:  # target broadcast over the batch: its features once
            fp = self.net((2 * pred - 1 - self.shift) / self.scale)
            ft = self.net((2 * target - 1 - self.shift) / self.scale)
            pairs = list(zip(fp, ft))
        return [lin(squared_feature_diff(a, b)) for lin, (a, b) in zip(self.lins, pairs)]

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        maps = self.layer_maps(pred, target)
        return torch.stack([m.mean(dim=(1, 2, 3)) for m in maps]).sum(0)

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        size = pred.shape[-2:]
        return sum(upsample_to(m, size) for m in self.layer_maps(pred, target))

    def compute_score_and_map(self, pred: torch.Tensor, target: torch.Tensor):
        maps, size = self.layer_maps(pred, target), pred.shape[-2:]
        score = torch.stack([m.mean(dim=(1, 2, 3)) for m in maps]).sum(0)
        return score, sum(upsample_to(m, size) for m in maps)
