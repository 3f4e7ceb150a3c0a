"""AlexNet / VGG-16 feature taps of LPIPS v0.1 (Zhang et al., CVPR 2018).

The taps are the ReLU outputs LPIPS uses (``lpips.pretrained_networks``): the layers keep
torchvision's ``features.<index>`` names, so torchvision (and timm ``vgg16.tv_in1k``)
checkpoints load directly; the classifier is dropped.

====== ==================================== ==================================
net    tap indices in ``features``           channels
====== ==================================== ==================================
alex   1, 4, 7, 9, 11 (relu1..relu5)         64, 192, 384, 256, 256
vgg    3, 8, 15, 22, 29 (relu1_2..relu5_3)   64, 128, 256, 512, 512
====== ==================================== ==================================
"""

from __future__ import annotations

import torch
from torch import nn

from semfidelity.backbones._state import WeightsArg, freeze, load_into, resolve_state_dict

__all__ = ["LPIPSNet", "build_lpips_net", "NETS"]

#: net -> (backbone manifest id, tap indices, channels)
NETS: dict[str, tuple[str, tuple[int, ...], tuple[int, ...]]] = {
    "alex": ("alexnet-imagenet", (1, 4, 7, 9, 11), (64, 192, 384, 256, 256)),
    "vgg": ("vgg16-imagenet", (3, 8, 15, 22, 29), (64, 128, 256, 512, 512)),
}


class LPIPSNet(nn.Module):
    """Feature extractor: ``(B, 3, H, W)`` (already LPIPS-scaled) -> 5 ReLU feature maps.

    Always in eval mode. The ReLUs stay in place (as in torchvision and the lpips package: about
    10 % faster on CPU): each tap is a ReLU output that only a conv or max-pool reads next.
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in NETS:
            raise ValueError(f"net: expected one of {sorted(NETS)}, got {net!r}")
        from torchvision.models import alexnet, vgg16

        # Built on the meta device (VGG's unused classifier alone has 120M parameters), then
        # allocated; build_lpips_net loads weights or re-initialises the kept layers.
        with torch.device("meta"):
            src = (alexnet if net == "alex" else vgg16)(weights=None).features
        _, taps, channels = NETS[net]
        layers = list(src.children())[: taps[-1] + 1]
        self.net = net
        self.features = nn.Sequential(*layers)
        self.taps = frozenset(taps)
        self.channels = list(channels)
        self.to_empty(device="cpu")

    def train(self, mode: bool = True) -> LPIPSNet:
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


def build_lpips_net(net: str = "alex", weights: WeightsArg = None) -> LPIPSNet:
    """A frozen :class:`LPIPSNet`; ``weights`` as in :mod:`semfidelity.backbones._state`
    (default: ``alexnet-imagenet`` / ``vgg16-imagenet``; keys ``features.<i>.*``)."""
    model = LPIPSNet(net)
    state = resolve_state_dict(weights, NETS[net][0], what=f"LPIPS {net} backbone")
    if state is not None:
        load_into(model, state, what=f"LPIPS {net} backbone")
    else:
        for layer in model.features:
            if isinstance(layer, nn.Conv2d):
                layer.reset_parameters()
    return freeze(model)
