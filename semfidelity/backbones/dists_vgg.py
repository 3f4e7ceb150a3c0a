"""VGG-16 feature taps of DISTS (Ding et al., TPAMI 2022): LPIPS's VGG with L2 pooling.

DISTS replaces every max-pooling of VGG-16 by L2 pooling (a Hann-windowed root-mean-square,
stride 2) so that the features are free of aliasing, and reads relu1_2, relu2_2, relu3_3,
relu4_3 and relu5_3 (``features`` indices 3, 8, 15, 22, 29) with the ImageNet weights of
torchvision (``vgg16-imagenet``). Layer names stay torchvision's, so its checkpoints load.
"""

from __future__ import annotations

import torch
from torch import nn

from semfidelity.backbones._state import WeightsArg
from semfidelity.backbones.lpips_nets import LPIPSNet, build_lpips_net
from semfidelity.functional.dists import l2pool

__all__ = ["L2Pool", "build_dists_vgg", "DISTS_CHANNELS"]

#: Channels of the six DISTS "stages": the image and the five VGG taps.
DISTS_CHANNELS = (3, 64, 128, 256, 512, 512)


class L2Pool(nn.Module):
    """:func:`semfidelity.functional.dists.l2pool` as a layer (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return l2pool(x)


def build_dists_vgg(weights: WeightsArg = None) -> LPIPSNet:
    """Frozen VGG-16 taps with L2 pooling; ``weights`` as in :func:`build_lpips_net`
    (default ``vgg16-imagenet``). Input: ImageNet-normalised ``(B, 3, H, W)``."""
    net = build_lpips_net("vgg", weights)
    for i, layer in enumerate(net.features):
        if isinstance(layer, nn.MaxPool2d):
            net.features[i] = L2Pool()
    return net
