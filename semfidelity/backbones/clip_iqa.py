"""The CLIP-IQA network (Wang, Chan, Loy, AAAI 2023): a CLIP ResNet image tower run on the
full-resolution image, with the attention pool's positional embedding left out (so any image
size works without resizing), and unit-norm text anchors of antonym prompts.

Weights come from the same manifest entries and open_clip configs as
:class:`semfidelity.backbones.clip.ClipEncoder` (default ``clip-rn50-openai``); the text tower
is used once, to embed the prompts, and then dropped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.backbones.clip import _config_name, _open_clip, clip_weight_id
from semfidelity.weights import load_state_dict

__all__ = ["ClipIQANet"]

logger = logging.getLogger(__name__)


def _build(name: str, weights, weight_id: str | None) -> nn.Module:
    oc = _open_clip()
    if isinstance(weights, str) and weights == "random":
        logger.warning("CLIP %s built with random weights: CLIP-IQA scores are meaningless", name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return oc.create_model(name, pretrained=None)
    if weights is None:
        if weight_id is None:
            raise ValueError(
                f"clip_pretrained: no manifest weight for {name!r}; pass clip_weights=<path to "
                f"an open_clip state dict> or clip_weights='random'"
            )
        state = load_state_dict(weight_id)
    elif isinstance(weights, (str, os.PathLike)):
        state = load_state_dict(path=Path(weights))
    else:
        raise TypeError(
            f"clip_weights: expected None, 'random' or a path, got {type(weights).__name__}"
        )
    model = oc.create_model(name, pretrained=None)
    model.load_state_dict(state, strict=True)
    return model


class ClipIQANet(nn.Module):
    """``forward(images in [0, 1], (B, 3, H, W)) -> (B, D)`` unit-norm image features, and the
    ``anchors`` buffer ``(P, D)``: unit-norm text embeddings of ``prompts``.

    Only CLIP ResNets (``RN50``, ``RN101``, ...) qualify: their attention pool can drop the
    positional embedding, which is what lets CLIP-IQA score full-size images.
    """

    def __init__(
        self,
        clip_model: str = "RN50",
        clip_pretrained: str = "openai",
        weights: str | os.PathLike[str] | None = None,
        prompts: Sequence[str] = ("Good photo.", "Bad photo."),
    ) -> None:
        super().__init__()
        name = _config_name(clip_model, clip_pretrained)
        self.weight_id = clip_weight_id(clip_model, clip_pretrained)
        model = _build(name, weights, self.weight_id)
        if not hasattr(model.visual, "attnpool"):
            raise ValueError(
                f"clip_model: CLIP-IQA needs a CLIP ResNet (attention pooling without "
                f"positional embedding), e.g. 'RN50'; {clip_model!r} is not one"
            )
        tokens = _open_clip().get_tokenizer(name)(list(prompts))
        with torch.no_grad():
            anchors = model.encode_text(tokens).float()
        self.register_buffer("anchors", F.normalize(anchors, dim=-1), persistent=False)
        cfg = model.visual.preprocess_cfg
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1), persistent=False)
        self.visual = model.visual
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ClipIQANet:
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        v = self.visual
        x = (images - self.mean) / self.std
        x = v.layer4(v.layer3(v.layer2(v.layer1(v.stem(x.to(v.conv1.weight.dtype))))))
        pool = v.attnpool
        x = x.flatten(2).permute(2, 0, 1)  # (HW, B, C)
        x = torch.cat([x.mean(dim=0, keepdim=True), x])  # mean token first; no positions
        out, _ = F.multi_head_attention_forward(
            query=x[:1],
            key=x,
            value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=pool.num_heads,
            q_proj_weight=pool.q_proj.weight,
            k_proj_weight=pool.k_proj.weight,
            v_proj_weight=pool.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.0,
            out_proj_weight=pool.c_proj.weight,
            out_proj_bias=pool.c_proj.bias,
            use_separate_proj_weight=True,
            training=False,
            need_weights=False,
        )
        return F.normalize(out[0].float(), dim=-1)
