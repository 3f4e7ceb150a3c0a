"""CLIP-IQA (Wang, Chan, Loy, *Exploring CLIP for Assessing the Look and Feel of Images*,
AAAI 2023): no-reference quality as the softmax of CLIP similarities to antonym prompts.

``score = softmax(100 * [cos(f, t_good), cos(f, t_bad)])[0]`` per prompt pair, with ``f`` the
CLIP ResNet feature of the full-resolution image (attention pooling without positional
embedding) and ``t`` the prompts' text embeddings. Higher is better. Equal to piq's
``CLIPIQA`` (which torchmetrics' ``clip_iqa`` default wraps) given the same weights.
"""

from __future__ import annotations

import torch

from semfidelity.backbones.clip_iqa import ClipIQANet
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["CLIPIQA", "CLIPIQA_PROMPTS"]

#: The antonym pairs of the CLIP-IQA paper (positive first), by attribute name.
CLIPIQA_PROMPTS: dict[str, tuple[str, str]] = {
    "quality": ("Good photo.", "Bad photo."),
    "brightness": ("Bright photo.", "Dark photo."),
    "noisiness": ("Clean photo.", "Noisy photo."),
    "colorfulness": ("Colorful photo.", "Dull photo."),
    "sharpness": ("Sharp photo.", "Blurry photo."),
    "contrast": ("High contrast photo.", "Low contrast photo."),
    "complexity": ("Complex photo.", "Simple photo."),
    "natural": ("Natural photo.", "Synthetic photo."),
    "happy": ("Happy photo.", "Sad photo."),
    "scary": ("Scary photo.", "Peaceful photo."),
    "new": ("New photo.", "Old photo."),
    "warm": ("Warm photo.", "Cold photo."),
    "real": ("Real photo.", "Abstract photo."),
    "beautiful": ("Beautiful photo.", "Ugly photo."),
    "lonely": ("Lonely photo.", "Sociable photo."),
    "relaxing": ("Relaxing photo.", "Stressful photo."),
}


def _resolve_prompts(prompts: object) -> dict[str, tuple[str, str]]:
    if isinstance(prompts, str):
        prompts = (prompts,)
    if not isinstance(prompts, (tuple, list)) or not prompts:
        raise ValueError(f"prompts: expected a non-empty tuple of names or pairs, got {prompts!r}")
    out: dict[str, tuple[str, str]] = {}
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if p not in CLIPIQA_PROMPTS:
                raise ValueError(
                    f"prompts: unknown attribute {p!r}; expected one of "
                    f"{sorted(CLIPIQA_PROMPTS)} or a (positive, negative) pair of strings"
                )
            out[p] = CLIPIQA_PROMPTS[p]
        elif isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(s, str) for s in p):
            out[f"user_defined_{i}"] = (p[0], p[1])
        else:
            raise ValueError(f"prompts: expected a name or a (positive, negative) pair, got {p!r}")
    return out


@register_metric(
    "clipiqa",
    lower_better=False,
    score_range=(0.0, 1.0),
    requires_reference=False,
    min_size=32,
    weights=("clip-rn50-openai",),
    description="CLIP-IQA: P('Good photo.' vs 'Bad photo.') from CLIP RN50, no reference",
    has_components=True,
)
class CLIPIQA(Metric):
    """CLIP-IQA, higher is better, no reference. Call ``clipiqa(pred)``.

    Options: ``prompts`` (``("quality",)``: names from :data:`CLIPIQA_PROMPTS` or
    ``(positive, negative)`` pairs; the score is the mean over pairs and ``components()``
    gives each), ``clip_model`` (``"RN50"``, a CLIP ResNet), ``clip_pretrained``
    (``"openai"``), ``clip_weights`` (``None`` = manifest, a path, or ``"random"``),
    ``logit_scale`` (100, OpenAI CLIP's trained temperature, as piq and torchmetrics use).

    Example:
        >>> import torch, semfidelity
        >>> # clip_weights="random" keeps the example offline; the default loads pinned CLIP weights
        >>> iqa = semfidelity.create_metric("clipiqa", device="cpu", clip_weights="random")
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> scores = iqa(x)  # no reference needed
        >>> scores.shape, bool(((scores >= 0) & (scores <= 1)).all())
        (torch.Size([2]), True)

    References:
        Wang, Chan, Loy, "Exploring CLIP for assessing the look and feel of images", AAAI 2023.
        arXiv:2207.12396
    """

    def __init__(
        self,
        *,
        prompts: tuple = ("quality",),
        clip_model: str = "RN50",
        clip_pretrained: str = "openai",
        clip_weights: str | None = None,
        logit_scale: float = 100.0,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self.prompts = _resolve_prompts(prompts)
        if isinstance(logit_scale, bool) or not isinstance(logit_scale, (int, float)):
            raise TypeError(f"logit_scale: expected a number, got {type(logit_scale).__name__}")
        if not logit_scale > 0:
            raise ValueError(f"logit_scale: expected a positive number, got {logit_scale!r}")
        self.logit_scale = float(logit_scale)
        texts = [s for pair in self.prompts.values() for s in pair]
        self.net = ClipIQANet(clip_model, clip_pretrained, clip_weights, texts)

    def compute_components(self, pred: torch.Tensor, target=None) -> dict[str, torch.Tensor]:
        feats = self.net(pred)
        logits = self.logit_scale * feats @ self.net.anchors.T  # (B, 2P)
        probs = logits.view(feats.shape[0], -1, 2).softmax(-1)[..., 0]
        parts = {name: probs[:, i] for i, name in enumerate(self.prompts)}
        parts["clipiqa"] = probs.mean(1)
        return parts

    def score(self, pred: torch.Tensor, target=None) -> torch.Tensor:
        return self.compute_components(pred)["clipiqa"]
