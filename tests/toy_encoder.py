"""A deterministic toy image encoder with the ClipEncoder interface (no learned weights).

Each 8x8 patch of the 32x32 encoder input becomes a token ``(R - 0.5, G - 0.5, B - 0.5,
std of luma, 0.25)`` (patch means); the pooled embedding is the normalised mean token. So the
embedding of an image, or of a region, is a known function of its colours and texture: a
foreign block changes the tokens it covers a lot and the rest not at all, a global brightness
shift changes every token a little. Used to test region pooling without random weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ToyEncoder(nn.Module):
    image_size = (32, 32)
    patch = 8

    def __init__(self, floor_key: str = "toy-encoder-v1", floor_persistent: bool = False):
        super().__init__()
        self.floor_key, self.floor_persistent = floor_key, floor_persistent
        self.register_buffer("anchor", torch.zeros(1))  # gives the module a device

    def preprocess_whole(self, images: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            images, size=self.image_size, mode="bilinear", antialias=True, align_corners=False
        )

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Shortest side to 32, centre crop (open_clip's transform)."""
        h, w = images.shape[-2:]
        s = self.image_size[0]
        nh, nw = (s, round(s * w / h)) if h <= w else (round(s * h / w), s)
        x = F.interpolate(images, size=(nh, nw), mode="bilinear", antialias=True)
        top, left = (nh - s) // 2, (nw - s) // 2
        return x[..., top : top + s, left : left + s]

    def encode_with_tokens(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, p = pixels.shape[0], self.patch
        g = self.image_size[0] // p
        patches = pixels.unfold(2, p, p).unfold(3, p, p)  # (B, 3, g, g, p, p)
        mean = patches.mean(dim=(-1, -2)).permute(0, 2, 3, 1)  # (B, g, g, 3)
        luma = (patches * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1, 1, 1)).sum(1)
        std = luma.flatten(-2).std(dim=-1, unbiased=False)[..., None]  # (B, g, g, 1)
        tokens = torch.cat([mean - 0.5, std, torch.full((b, g, g, 1), 0.25)], dim=-1)
        return F.normalize(tokens.mean(dim=(1, 2)), dim=-1), tokens

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.encode_with_tokens(pixels)[0]
