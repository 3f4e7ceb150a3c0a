"""CLIP image encoder (open_clip) with batched, differentiable preprocessing in torch.

:class:`ClipEncoder` wraps the image tower of any open_clip model. Weights come from the
weights manifest (``CLIP_WEIGHT_IDS``), from an explicit local file, or are random (tests and
benchmarks). Two preprocessings run on tensors (batched, on the encoder's device, passing
gradients): :meth:`~ClipEncoder.preprocess` reproduces open_clip's inference transform (resize
the shortest side, **centre crop**), :meth:`~ClipEncoder.preprocess_whole` resizes the whole
image to the model size, so every pixel reaches the encoder. :meth:`~ClipEncoder.encode_with_tokens`
also returns the projected patch tokens (ViT) or per-location attention-pool values (ResNet),
from which :mod:`semfidelity.backbones.clip_views` builds per-region embeddings.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from semfidelity.weights import load_state_dict

__all__ = ["CLIP_WEIGHT_IDS", "ClipEncoder", "clip_weight_id", "tile_grid"]

logger = logging.getLogger(__name__)


def _open_clip():
    """open_clip, imported on first use: it costs seconds, and most metrics never need it."""
    import open_clip

    return open_clip


#: (open_clip model name, pretrained tag) -> id in ``weights_manifest.json``.
CLIP_WEIGHT_IDS: dict[tuple[str, str], str] = {
    ("ViT-B-32", "openai"): "clip-vit-b-32-openai",
    ("ViT-L-14", "openai"): "clip-vit-l-14-openai",
    ("RN50", "openai"): "clip-rn50-openai",
}

# OpenAI's CLIP weights were trained with QuickGELU; open_clip names those configs "-quickgelu".
_QUICKGELU_TAGS = ("openai",)


def clip_weight_id(clip_model: str, clip_pretrained: str) -> str | None:
    """Manifest id of ``(clip_model, clip_pretrained)``, or ``None`` when it has none.

    ``"ViT-B-32-quickgelu"`` and ``"ViT-B-32"`` name the same OpenAI weights.
    """
    return CLIP_WEIGHT_IDS.get((clip_model.removesuffix("-quickgelu"), clip_pretrained))


def _config_name(clip_model: str, clip_pretrained: str) -> str:
    if not isinstance(clip_model, str):
        raise TypeError(f"clip_model: expected a str, got {type(clip_model).__name__}")
    if not isinstance(clip_pretrained, str):
        raise TypeError(f"clip_pretrained: expected a str, got {type(clip_pretrained).__name__}")
    known = _open_clip().list_models()
    if clip_pretrained in _QUICKGELU_TAGS and not clip_model.endswith("-quickgelu"):
        if f"{clip_model}-quickgelu" in known:
            return f"{clip_model}-quickgelu"
    if clip_model not in known:
        raise ValueError(
            f"clip_model: {clip_model!r} is not an open_clip model config; "
            f"see open_clip.list_models() (e.g. 'ViT-B-32', 'ViT-L-14', 'RN50')"
        )
    return clip_model


def _visual_state_dict(
    weights: str | os.PathLike[str] | None, weight_id: str | None
) -> dict[str, torch.Tensor]:
    """The ``visual.*`` entries of an open_clip CLIP state dict, prefix removed."""
    if weights is None:
        sd = load_state_dict(weight_id)
    elif isinstance(weights, (str, os.PathLike)):
        sd = load_state_dict(path=Path(weights))
    else:
        raise TypeError(
            f"clip_weights: expected None, 'random' or a path, got {type(weights).__name__}"
        )
    visual = {k[len("visual.") :]: v for k, v in sd.items() if k.startswith("visual.")}
    if not visual:
        raise ValueError(
            f"clip_weights: state dict has no 'visual.*' keys; expected an open_clip CLIP "
            f"checkpoint, got keys like {sorted(sd)[:3]}"
        )
    return visual


def tile_grid(
    height: int, width: int, grid: tuple[int, int], overlap: float = 0.0
) -> list[tuple[int, int, int, int]]:
    """Equal-size tiles ``(top, left, tile_h, tile_w)`` covering an image in a ``rows x cols`` grid.

    Tiles are ``ceil(H / rows * (1 + overlap))`` by ``ceil(W / cols * (1 + overlap))`` (at most
    the image); their offsets are spread evenly from the first to the last row/column, so the
    tiles cover every pixel and neighbours overlap by about ``overlap`` of a tile (at most one
    pixel with ``overlap=0``). Equal sizes let all tiles of a batch go through the encoder at once.
    """
    rows, cols = grid
    th = min(height, math.ceil(height / rows * (1.0 + overlap)))
    tw = min(width, math.ceil(width / cols * (1.0 + overlap)))

    def offsets(n: int, size: int, tile: int) -> list[int]:
        if n == 1:
            return [(size - tile) // 2]
        return [round(i * (size - tile) / (n - 1)) for i in range(n)]

    return [
        (top, left, th, tw)
        for top in offsets(rows, height, th)
        for left in offsets(cols, width, tw)
    ]


class ClipEncoder(nn.Module):
    """Frozen open_clip image encoder: ``embed(images) -> (B, D)`` unit-norm, float32.

    Args:
        clip_model: open_clip model name, e.g. ``"ViT-B-32"`` (see ``open_clip.list_models()``).
        clip_pretrained: pretrained tag, e.g. ``"openai"``; with ``"openai"`` the model's
            QuickGELU config (``"<name>-quickgelu"``) is built, as those weights need it.
        weights: ``None`` -> the manifest weight of ``(clip_model, clip_pretrained)``
            (``CLIP_WEIGHT_IDS``, resolved and hash-checked by :mod:`semfidelity.weights`);
            a path -> a local state dict in open_clip layout (safetensors or a tensors-only
            torch file; user files carry no known hash); ``"random"`` -> random init with a
            fixed seed (tests and benchmarks only: scores are meaningless).

    Preprocessing (:meth:`preprocess`) mirrors open_clip's inference transform for the default
    ``resize_mode="shortest"``; inputs are float RGB in [0, 1], ``(B, 3, H, W)``.
    """

    def __init__(
        self,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        weights: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        name = _config_name(clip_model, clip_pretrained)
        self.clip_model, self.clip_pretrained = clip_model, clip_pretrained
        self.weight_id = clip_weight_id(clip_model, clip_pretrained)
        if weights is None and self.weight_id is None:
            known = ", ".join(f"{m}/{t}" for m, t in CLIP_WEIGHT_IDS)
            raise ValueError(
                f"clip_pretrained: no manifest weight for {clip_model!r}/{clip_pretrained!r} "
                f"(known: {known}); pass clip_weights=<path to an open_clip state dict> "
                f"or clip_weights='random'"
            )
        if isinstance(weights, str) and weights == "random":
            logger.warning(
                "CLIP %s built with random weights: semantic scores are meaningless "
                "(use for tests and benchmarks only)",
                name,
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = _open_clip().create_model(name, pretrained=None)
        else:
            # Load the file first: a missing or corrupt weight fails before the model is built.
            visual_sd = _visual_state_dict(weights, self.weight_id)
            model = _open_clip().create_model(name, pretrained=None)
            model.visual.load_state_dict(visual_sd, strict=True)
        cfg = model.visual.preprocess_cfg
        if cfg.get("resize_mode", "shortest") != "shortest":
            raise ValueError(
                f"clip_model: {name!r} uses resize_mode={cfg['resize_mode']!r}; "
                "only 'shortest' is supported"
            )
        size = cfg["size"]
        self.image_size: tuple[int, int] = (size, size) if isinstance(size, int) else tuple(size)
        self.interpolation: str = cfg.get("interpolation", "bicubic")
        self.visual = model.visual  # the text tower is dropped
        self.tokens = _token_kind(self.visual)
        if self.tokens == "vit":
            self.visual.output_tokens = True
        if isinstance(weights, str) and weights == "random":
            self.floor_key, self.floor_persistent = f"random:{name}", False
        elif weights is None:
            self.floor_key, self.floor_persistent = f"{self.weight_id}:{name}", True
        else:
            st = Path(weights).stat()
            self.floor_key = f"file:{Path(weights).resolve()}:{st.st_size}:{st.st_mtime_ns}"
            self.floor_persistent = False
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> ClipEncoder:
        return super().train(False)

    def extra_repr(self) -> str:
        return (
            f"clip_model={self.clip_model!r}, clip_pretrained={self.clip_pretrained!r}, "
            f"weight_id={self.weight_id!r}, image_size={self.image_size}"
        )

    def _resized_size(self, h: int, w: int) -> tuple[int, int]:
        th, tw = self.image_size
        if th == tw:  # torchvision Resize(int): shortest side -> size, long side truncated
            if h <= w:
                return th, int(th * w / h)
            return int(th * h / w), th
        ratio = min(h / th, w / tw)  # open_clip ResizeKeepRatio (longest=0)
        return int(h / ratio), int(w / ratio)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in [0, 1] -> normalised ``(B, 3, S, S)`` encoder input.

        Resize (shortest side to the model size, bicubic + antialias, clamped to [0, 1] as the
        8-bit PIL pipeline does), centre crop (torchvision rounding), ``(x - mean) / std``.
        An input already at the model size passes through unresized.
        """
        h, w = images.shape[-2:]
        nh, nw = self._resized_size(h, w)
        x = images
        if (nh, nw) != (h, w):
            x = F.interpolate(
                x, size=(nh, nw), mode=self.interpolation, align_corners=False, antialias=True
            ).clamp(0.0, 1.0)
        th, tw = self.image_size
        if nh < th or nw < tw:  # rounding left the short side a pixel short: pad like CenterCrop
            x = F.pad(x, (0, max(tw - nw, 0), 0, max(th - nh, 0)))
            nh, nw = max(nh, th), max(nw, tw)
        top, left = int(round((nh - th) / 2.0)), int(round((nw - tw) / 2.0))
        x = x[..., top : top + th, left : left + tw]
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def preprocess_whole(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in [0, 1] -> normalised ``(B, 3, S, S)``: the **whole** image.

        The image is resized to the model size (bicubic + antialias, clamped to [0, 1]) without
        cropping, so every pixel reaches the encoder; a non-square image is squeezed to a square.
        """
        x = images
        if tuple(x.shape[-2:]) != self.image_size:
            x = F.interpolate(
                x,
                size=self.image_size,
                mode=self.interpolation,
                align_corners=False,
                antialias=True,
            ).clamp(0.0, 1.0)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def _forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pooled embedding ``(B, D)`` and, where supported, tokens ``(B, gh, gw, D)``."""
        v = self.visual
        if self.tokens == "vit":
            pooled, tokens = v(pixels)
            if v.proj is not None:
                tokens = tokens @ v.proj
            gh, gw = v.grid_size
            return pooled, tokens.reshape(tokens.shape[0], gh, gw, -1)
        if self.tokens == "resnet":
            x = v.layer4(v.layer3(v.layer2(v.layer1(v.stem(pixels)))))
            pool = v.attnpool
            n, c, h, w = x.shape
            # MaskCLIP (Zhou et al., ECCV 2022): each location's value through the output
            # projection, i.e. the attention pool with every query attending to itself only.
            loc = x.flatten(2).transpose(1, 2) + pool.positional_embedding[1:].to(x.dtype)
            tokens = pool.c_proj(pool.v_proj(loc))
            return pool(x), tokens.reshape(n, h, w, -1)
        return v(pixels), None

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Already preprocessed ``(B, 3, S, S)`` -> unit-norm float32 ``(B, D)``."""
        pooled, _ = self._forward(pixels)
        return F.normalize(pooled.float(), dim=-1, eps=1e-8)

    def encode_with_tokens(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Unit-norm ``(B, D)`` embedding and float32 tokens ``(B, gh, gw, D)`` (not normalised).

        Tokens are the projected patch tokens of a ViT, or the per-location values of a
        ResNet's attention pool; ``None`` for towers without a spatial output.
        """
        pooled, tokens = self._forward(pixels)
        pooled = F.normalize(pooled.float(), dim=-1, eps=1e-8)
        return pooled, None if tokens is None else tokens.float()

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB in [0, 1] -> unit-norm embeddings ``(B, D)`` (centre crop)."""
        return self.encode(self.preprocess(images))


def _token_kind(visual: nn.Module) -> str | None:
    """``"vit"``/``"resnet"`` when the tower has a spatial output we can read, else ``None``."""
    oc = _open_clip()
    if isinstance(visual, oc.transformer.VisionTransformer):
        plain = getattr(visual, "attn_pool", None) is None and visual.pool_type == "tok"
        return "vit" if plain and not visual.final_ln_after_pool else None
    if isinstance(visual, oc.modified_resnet.ModifiedResNet):
        return "resnet"
    return None
