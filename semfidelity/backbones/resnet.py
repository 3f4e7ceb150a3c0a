"""Multi-stage ResNet-50 feature extractors: torchvision ImageNet and open_clip CLIP-RN50 trunks.

Both return ``[stem, layer1, ..., layer{depth}]`` feature maps for inputs in [0, 1]:

======== ================================== =========================== ========
stage    imagenet (torchvision resnet50)    clip (open_clip RN50 trunk) stride
======== ================================== =========================== ========
stem     conv1 7x7/2, bn1, relu             3 x (conv3x3, bn, relu)     2
layer1   maxpool 3x3/2, 3 bottlenecks       avgpool 2, 3 bottlenecks    4
layer2   4 bottlenecks                      4 bottlenecks               8
layer3   6 bottlenecks                      6 bottlenecks               16
layer4   3 bottlenecks                      3 bottlenecks               32
======== ================================== =========================== ========

Channels: 64, 256, 512, 1024, 2048. The CLIP attention pool is not used. Input normalisation
(ImageNet or CLIP mean/std) happens inside :meth:`ResNetFeatures.forward`.
"""

from __future__ import annotations

import torch
from torch import nn

from semfidelity.backbones._state import WeightsArg, freeze, load_into, resolve_state_dict

__all__ = ["ResNetFeatures", "build_resnet_features", "FLAVOURS"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

#: flavour -> (manifest id, mean, std)
FLAVOURS: dict[str, tuple[str, tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ("resnet50-imagenet", IMAGENET_MEAN, IMAGENET_STD),
    "clip": ("clip-rn50-openai", CLIP_MEAN, CLIP_STD),
}
_CHANNELS = (64, 256, 512, 1024, 2048)


class ResNetFeatures(nn.Module):
    """ResNet-50 trunk returning the stem output and the outputs of ``layer1..layer{depth}``.

    Submodules keep the names of the source model (``conv1``, ``bn1``, ``layer1``...), so the
    source's state dict loads directly. The module always stays in eval mode (frozen BatchNorm
    statistics: batch-invariant features).

    Args:
        flavour: ``"imagenet"`` (torchvision ``resnet50``) or ``"clip"`` (open_clip ``RN50``
            ``ModifiedResNet`` trunk).
        depth: number of residual stages used, 1..4.
        init: initialise weights randomly (PyTorch's default layer initialisation; BatchNorm
            running statistics 0/1); ``False`` leaves them uninitialised, for loading a state
            dict right after (as :func:`build_resnet_features` does).

    Shapes: ``(B, 3, H, W)`` in [0, 1] -> list of ``depth + 1`` tensors ``(B, C_s, H/s, W/s)``
    (floor division per stride-2 step), ``C_s`` in :attr:`channels`.
    """

    def __init__(self, flavour: str = "imagenet", depth: int = 4, *, init: bool = True) -> None:
        super().__init__()
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour: expected one of {sorted(FLAVOURS)}, got {flavour!r}")
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 4:
            raise ValueError(f"depth: expected an int in 1..4, got {depth!r}")
        self.flavour = flavour
        self.depth = depth
        # Built on the meta device, then allocated: only the kept layers are ever initialised
        # (not the unused attention pool, fc or deeper stages).
        with torch.device("meta"):
            self._build(flavour, depth)
        self.to_empty(device="cpu")
        if init:
            for module in self.modules():
                if module is not self and hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        _, mean, std = FLAVOURS[flavour]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def _build(self, flavour: str, depth: int) -> None:
        if flavour == "imagenet":
            from torchvision.models import resnet50

            src = resnet50(weights=None)
            stem_names = ("conv1", "bn1", "relu")
            self._pool_name = "maxpool"
        else:
            from open_clip.modified_resnet import ModifiedResNet

            src = ModifiedResNet(layers=[3, 4, 6, 3], output_dim=1024, heads=32, width=64)
            stem_names = ("conv1", "bn1", "act1", "conv2", "bn2", "act2", "conv3", "bn3", "act3")
            self._pool_name = "avgpool"
        self._stem_names = stem_names
        for name in (*stem_names, self._pool_name):
            self.add_module(name, getattr(src, name))
        for i in range(1, depth + 1):
            self.add_module(f"layer{i}", getattr(src, f"layer{i}"))

    @property
    def channels(self) -> list[int]:
        """Channels of each returned stage."""
        return list(_CHANNELS[: self.depth + 1])

    @property
    def strides(self) -> list[int]:
        """Downsampling factor of each returned stage."""
        return [2 ** (i + 1) for i in range(self.depth + 1)]

    def stage_modules(self) -> list[list[nn.Module]]:
        """The modules of each returned stage, stem first: ``[stem layers]``, ``[pool,
        layer1]``, ``[layer2]``, ... (``depth + 1`` lists; every parameter is in exactly one)."""
        stem = [getattr(self, name) for name in self._stem_names]
        rest = [[getattr(self, self._pool_name), self.layer1]]
        rest += [[getattr(self, f"layer{i}")] for i in range(2, self.depth + 1)]
        return [stem, *rest]

    def train(self, mode: bool = True) -> ResNetFeatures:
        # Frozen backbone: BatchNorm always uses its running statistics.
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        for name in self._stem_names:
            x = getattr(self, name)(x)
        feats = [x]
        x = getattr(self, self._pool_name)(x)
        for i in range(1, self.depth + 1):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        return feats


def _rename(flavour: str):
    if flavour == "imagenet":
        return lambda k: k
    # open_clip checkpoints hold the whole CLIP model: keep the image trunk only.
    return lambda k: k[len("visual.") :] if k.startswith("visual.") else None


def build_resnet_features(
    flavour: str = "imagenet", depth: int = 4, weights: WeightsArg = None
) -> ResNetFeatures:
    """A frozen, eval-mode :class:`ResNetFeatures` with weights loaded.

    Args:
        flavour: ``"imagenet"`` (manifest id ``resnet50-imagenet``, torchvision keys) or
            ``"clip"`` (``clip-rn50-openai``, open_clip keys; ``visual.*`` trunk entries used).
        depth: residual stages used, 1..4.
        weights: ``None`` (the flavour's manifest id), a manifest id, a path, a state dict
            (source layout; a bare trunk without the ``visual.`` prefix also loads for
            ``clip``), or ``"random"`` (timing/tests only; logs a warning).
            See :mod:`semfidelity.backbones._state`.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour: expected one of {sorted(FLAVOURS)}, got {flavour!r}")
    state = resolve_state_dict(weights, FLAVOURS[flavour][0], what=f"resnet50-{flavour} backbone")
    model = ResNetFeatures(flavour, depth, init=state is None)
    if state is not None:
        rename = _rename(flavour)
        if flavour == "clip" and not any(k.startswith("visual.") for k in state):
            rename = _rename("imagenet")
        load_into(model, state, what=f"resnet50-{flavour} backbone", rename=rename)
    return freeze(model)
