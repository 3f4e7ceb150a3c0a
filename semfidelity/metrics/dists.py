"""DISTS, Deep Image Structure and Texture Similarity (Ding, Ma, Wang, Simoncelli, TPAMI 2022).

Equal to the official ``DISTS_pytorch`` model given the same VGG-16 weights: ImageNet
normalisation, VGG-16 with L2 pooling (:mod:`semfidelity.backbones.dists_vgg`), the official
alpha/beta (bundled manifest weight ``dists-alpha-beta``, MIT) and
:func:`semfidelity.functional.dists.dists_from_features`. Lower is better.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from semfidelity import weights as W
from semfidelity.backbones._state import WeightsArg
from semfidelity.backbones.dists_vgg import DISTS_CHANNELS, build_dists_vgg
from semfidelity.functional.dists import dists_from_features
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["DISTS"]

ALPHA_BETA_ID = "dists-alpha-beta"
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


@register_metric(
    "dists",
    lower_better=True,
    # 1 - sum(alpha S1 + beta S2) / sum(alpha + beta) with S1 in [0, 1], S2 in [-1, 1]: the
    # official weights put 12.4 % of the mass on beta, so anti-correlated textures reach 1.124.
    score_range=(0.0, 1.125),
    min_size=32,
    weights=("vgg16-imagenet", ALPHA_BETA_ID),
    description="DISTS structure/texture similarity of VGG-16 features (official weights)",
    amp_safe=False,
)
class DISTS(Metric):
    """DISTS, lower is better, in [0, 1] for natural images (``1.124`` at most).

    Options: ``weights`` (VGG-16 backbone: ``None`` = ``vgg16-imagenet``, a manifest id, a
    path, a state dict, or ``"random"`` for timing/tests), ``resize`` (``None``: score the
    image as given, as the official model's ``forward``; an int ``s``: first resize so the
    shorter side is ``s`` with bilinear interpolation, as piq's ``DISTS`` does with 256 when
    the shorter side exceeds it).

    Example:
        >>> import torch, semfidelity
        >>> # weights="random" keeps the example offline; the default loads the pinned VGG16
        >>> dists = semfidelity.create_metric("dists", device="cpu", weights="random")
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> dists(x, x)
        tensor([0., 0.])

    References:
        Ding, Ma, Wang, Simoncelli, "Image quality assessment: unifying structure and texture
        similarity", IEEE TPAMI 44(5), 2022. arXiv:2004.07728
    """

    def __init__(
        self,
        *,
        weights: WeightsArg = None,
        resize: int | None = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if resize is not None and (
            isinstance(resize, bool) or not isinstance(resize, int) or resize < 32
        ):
            raise ValueError(f"resize: expected None or an int >= 32, got {resize!r}")
        self.resize = resize
        self.net = build_dists_vgg(weights)
        ab = W.load_state_dict(ALPHA_BETA_ID)
        self.register_buffer("alpha", ab["alpha"].reshape(-1).float(), persistent=False)
        self.register_buffer("beta", ab["beta"].reshape(-1).float(), persistent=False)
        if self.alpha.numel() != sum(DISTS_CHANNELS):
            raise ValueError(f"{ALPHA_BETA_ID}: expected {sum(DISTS_CHANNELS)} alpha weights")
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def _resized(self, x: torch.Tensor) -> torch.Tensor:
        short = min(x.shape[-2:])
        if self.resize is None or short <= self.resize:
            return x
        return F.interpolate(
            x, scale_factor=self.resize / short, mode="bilinear", recompute_scale_factor=False
        )

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The six DISTS stages of ``(B, 3, H, W)`` in [0, 1]: the image and five VGG taps."""
        return [x, *self.net((x - self.mean) / self.std)]

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = self._resized(pred), self._resized(target)
        n = pred.shape[0]
        if target.shape[0] == n:
            both = self.features(torch.cat([pred, target]))
            fx, fy = [f[:n] for f in both], [f[n:] for f in both]
        else:  # target broadcast over the batch: its features once
            fx, fy = self.features(pred), self.features(target)
        # float32 rounding leaves identical images at -1e-7: keep inside score_range.
        return dists_from_features(fx, fy, self.alpha, self.beta).clamp_min(0.0)
