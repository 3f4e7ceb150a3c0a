"""CLU: per-pixel semantic-change map from ResNet-50 stage differences (Rocafort 2025).

Architecture (D = depth; stages s = 0 (stem, /2) .. D (layerD, /2^(D+1)))::

    pred, target ─ ResNet-50 (frozen) ─ per stage: |unit-norm f_s(pred) - unit-norm f_s(target)|
                                                           │ diff_0 ... diff_D
    diff_D ─ 1x1 proj ─ x                                  │
    for s = D-1 .. 0:  x = block_s( cat[ upsample(x -> size_s), relu(1x1 proj(diff_s)) ] )
                       block_s = conv3x3 ─ ReLU ─ conv3x3 ─ ReLU
    x ─ 1x1 conv ─ logits (/2) ─ bilinear upsample to H x W ─ sigmoid ─ map in [0, 1]
    score = mean_hw map            (lower is better: less semantic change)

Forms (``CLUDecoder(form=...)``, stored in the decoder file): ``"change"`` (ours, above) and
``"thesis"``: the decoder reads the raw squared-error maps ``(f_s(pred) - f_s(target))^2`` and
predicts a *similarity* map S (1 = unchanged), as the thesis' CLU. The metric keeps one
orientation for both: ``map`` = change = 1 - S, lower is better; ``similarity_map`` gives S.

The decoder must be trained (``semfid-train``, see docs/training.md); there is no default and
no silently random decoder: :func:`semfidelity.create_metric` raises without ``decoder=``.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from semfidelity._docs import docs_url
from semfidelity.backbones._state import (
    WeightsArg,
    load_with_config,
    resolve_learned_file,
    save_with_config,
)
from semfidelity.backbones.resnet import build_resnet_features
from semfidelity.functional.deep_features import raw_squared_diff, unit_normalize, upsample_to
from semfidelity.metric import Metric
from semfidelity.metrics._resnet_pair import (
    backbone_config,
    companion_weights,
    pair_features,
    trained_config,
)
from semfidelity.registry import register_metric

__all__ = [
    "CLU",
    "CLUDecoder",
    "feature_differences",
    "stage_difference_maps",
    "clu_logits",
    "save_decoder",
    "load_decoder",
    "MISSING_DECODER",
    "FORMS",
]

DECODER_FILENAME = "decoder.safetensors"
#: decoder forms: ours (default) and the thesis'
FORMS = ("change", "thesis")
MISSING_DECODER = (
    "decoder: metric 'clu' needs trained decoder weights and none ship with semfidelity; "
    "pass decoder=<file | folder holding decoder.safetensors | manifest id>. "
    "Train one with `semfid-train clu --train CSV --val CSV --out DIR` (see "
    f"`semfid-train --help` and {docs_url('training.md')}), then pass decoder=DIR; "
    "a random decoder would give meaningless maps, so there is no default."
)


def _widths(channels: list[int]) -> list[int]:
    return [min(128, max(32, c // 4)) for c in channels]


class CLUDecoder(nn.Module):
    """U-Net-style decoder: per-stage feature differences -> 1-channel change logits.

    Args:
        channels: channels of each backbone stage (shallow to deep), e.g.
            ``[64, 256, 512, 1024, 2048]``; at least two stages.
        form: ``"change"`` (ours: reads ``|u_p - u_t|``, its logits are *change* logits) or
            ``"thesis"`` (reads the raw squared-difference maps ``(f_p - f_t)^2``, its logits
            are *similarity* logits, as the thesis' maps). :func:`clu_logits` turns both into
            change logits.

    ``forward(diffs, size)``: ``diffs[s]`` ``(B, C_s, h_s, w_s)`` -> logits ``(B, 1, *size)``.
    No normalisation layers: outputs are batch-invariant in train and eval mode.
    """

    def __init__(self, channels: list[int], form: str = "change") -> None:
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
        self.form = form
        if len(channels) < 2 or any(not isinstance(c, int) or c < 1 for c in channels):
            raise ValueError(f"channels: expected >= 2 positive ints, got {channels!r}")
        self.channels = list(channels)
        widths = _widths(self.channels)
        self.proj = nn.ModuleList(nn.Conv2d(c, w, 1) for c, w in zip(channels, widths))
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(widths[s + 1] + widths[s], widths[s], 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(widths[s], widths[s], 3, padding=1),
                nn.ReLU(),
            )
            for s in range(len(channels) - 1)
        )
        self.out = nn.Conv2d(widths[0], 1, 1)
        self.act = nn.ReLU()

    def forward(self, diffs: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        if len(diffs) != len(self.proj):
            raise ValueError(f"diffs: expected {len(self.proj)} stages, got {len(diffs)}")
        x = self.act(self.proj[-1](diffs[-1]))
        for s in range(len(diffs) - 2, -1, -1):
            skip = self.act(self.proj[s](diffs[s]))
            x = self.blocks[s](torch.cat([upsample_to(x, skip.shape[-2:]), skip], dim=1))
        return upsample_to(self.out(x), size)


def feature_differences(
    feats_p: list[torch.Tensor], feats_t: list[torch.Tensor], form: str = "change"
) -> list[torch.Tensor]:
    """Per-stage decoder inputs (``feats_t`` may have batch 1): ``|unit_normalize(f_p) -
    unit_normalize(f_t)|`` (``form="change"``) or the thesis' squared-error maps
    ``(f_p - f_t)^2`` of the raw features (``form="thesis"``)."""
    if form == "thesis":
        return [raw_squared_diff(p, t) for p, t in zip(feats_p, feats_t)]
    if form != "change":
        raise ValueError(f"form: expected one of {FORMS}, got {form!r}")
    return [(unit_normalize(p) - unit_normalize(t)).abs() for p, t in zip(feats_p, feats_t)]


def stage_difference_maps(
    feats_p: list[torch.Tensor], feats_t: list[torch.Tensor], form: str = "change"
) -> list[torch.Tensor]:
    """Per-stage maps ``(B, 1, h_s, w_s)``, stem first: the channel mean of the decoder's inputs
    (:func:`feature_differences`). ``form="thesis"``: the per-stage MSE map
    ``mean_c (f_p - f_t)^2`` the thesis feeds its decoder; ``"change"``: ``mean_c |u_p - u_t|``.
    0 where the two images' features agree, higher = more different (lower is better)."""
    return [d.mean(dim=1, keepdim=True) for d in feature_differences(feats_p, feats_t, form)]


def clu_logits(
    feats_p: list[torch.Tensor],
    feats_t: list[torch.Tensor],
    decoder: CLUDecoder,
    size: tuple[int, int],
) -> torch.Tensor:
    """Change logits ``(B, 1, *size)`` from stage features; ``sigmoid`` gives the CLU map
    (1 = changed). A thesis-form decoder's similarity logits are negated: ``sigmoid(-l) =
    1 - sigmoid(l)``."""
    logits = decoder(feature_differences(feats_p, feats_t, decoder.form), tuple(size))
    return -logits if decoder.form == "thesis" else logits


def save_decoder(decoder: CLUDecoder, path: str | os.PathLike[str], *, config: dict[str, Any]):
    """Write ``decoder`` (safetensors) with ``config`` (must hold ``backbone`` and ``depth``;
    ``channels`` and ``form`` are added) as JSON metadata. Returns the path."""
    config = {**trained_config(config, decoder.channels), "form": decoder.form}
    return save_with_config(decoder, path, config, "clu_decoder")


def load_decoder(path: str | os.PathLike[str]) -> tuple[CLUDecoder, dict[str, Any]]:
    """Read a decoder written by :func:`save_decoder` (file, or folder with decoder.safetensors)."""
    file = resolve_learned_file(path, DECODER_FILENAME, option="decoder")
    state, config = load_with_config(file, "clu_decoder")
    decoder = CLUDecoder([int(c) for c in config["channels"]], config.get("form", "change"))
    decoder.load_state_dict(state)
    return decoder, config


@register_metric(
    "clu",
    lower_better=True,
    score_range=(0.0, 1.0),
    min_size=32,
    weights=("resnet50-imagenet",),
    description="CLU semantic-change probability map (ResNet-50 differences + U-Net decoder)",
    has_map=True,
    amp_safe=True,
    notes="map and score are semantic CHANGE (1 = changed, lower is better) for every decoder; "
    "a form='thesis' decoder predicts the thesis' similarity maps S (1 = same) and clu reports "
    "1 - S (m.similarity_map() gives S); needs a trained decoder (decoder=...; train with "
    f"semfid-train, {docs_url('training.md')})",
)
class CLU(Metric):
    """CLU map and score (mean of the map). Options:

    - ``decoder`` (required): file, folder holding decoder.safetensors, or manifest id;
    - ``backbone``, ``depth``: as in ``clip_lpips`` (``None``: from the decoder's config);
    - ``weights``: backbone weights (``None`` = manifest, or the fine-tuned
      ``backbone.safetensors`` saved beside the decoder; id, path, state dict, ``"random"``).

    Example:
        >>> import tempfile, torch, semfidelity
        >>> from semfidelity.metrics.clu import CLUDecoder, save_decoder
        >>> folder = tempfile.mkdtemp()  # a trained decoder comes from semfid-train clu
        >>> path = save_decoder(CLUDecoder([64, 256]), f"{folder}/decoder.safetensors",
        ...                     config={"backbone": "imagenet", "depth": 1})
        >>> clu = semfidelity.create_metric("clu", device="cpu", decoder=folder, weights="random")
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> score, change = clu.score_and_map(x, x.flip(-1))
        >>> score.shape, change.shape, bool(((change >= 0) & (change <= 1)).all())
        (torch.Size([2]), torch.Size([2, 1, 64, 64]), True)

    References:
        Rocafort, semantic fidelity of super-resolution (CVC, 2025; no DOI or arXiv id). Built on:
        He et al., ResNet, CVPR 2016, arXiv:1512.03385; Ronneberger et al., U-Net, MICCAI 2015,
        arXiv:1505.04597
    """

    def __init__(
        self,
        *,
        decoder: str | os.PathLike[str] | None = None,
        backbone: str | None = None,
        depth: int | None = None,
        weights: WeightsArg = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if decoder is None:
            raise ValueError(MISSING_DECODER)
        file = resolve_learned_file(decoder, DECODER_FILENAME, option="decoder")
        self.decoder, config = load_decoder(file)
        weights = companion_weights(file, config, weights)
        flavour, depth = backbone_config(backbone, depth, config, "the decoder weights")
        self.backbone = build_resnet_features(flavour, depth, weights)
        if self.decoder.channels != self.backbone.channels:
            raise ValueError(
                f"decoder: channels {self.decoder.channels} do not match the {flavour} backbone "
                f"at depth {depth} ({self.backbone.channels})"
            )
        self.config = {
            "backbone": flavour,
            "depth": depth,
            "channels": self.backbone.channels,
            "form": self.decoder.form,
        }

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        feats_p, feats_t = pair_features(self.backbone, pred, target)
        return torch.sigmoid(clu_logits(feats_p, feats_t, self.decoder, pred.shape[-2:]))

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.compute_map(pred, target).mean(dim=(1, 2, 3))

    def compute_score_and_map(self, pred: torch.Tensor, target: torch.Tensor):
        m = self.compute_map(pred, target)
        return m.mean(dim=(1, 2, 3)), m

    @torch.no_grad()
    def stage_maps(self, pred, target, *, upsample: bool = True) -> list[torch.Tensor]:
        """Per-stage difference maps that the decoder reads (the thesis' Figs. 6-7 activation
        maps), stem first: :func:`stage_difference_maps` for the decoder's ``form``.

        Inputs as for ``__call__``. Returns ``depth + 1`` tensors ``(B, 1, H, W)`` (at the input
        size when ``upsample``, else ``(B, 1, h_s, w_s)`` at each stage's resolution); 0 where
        the features agree (all zero for identical images), higher = more different.
        """
        pred, target = self.prepare(pred, target)
        maps = stage_difference_maps(*pair_features(self.backbone, pred, target), self.decoder.form)
        maps = [m.float() for m in maps]
        return [upsample_to(m, pred.shape[-2:]) for m in maps] if upsample else maps

    def similarity_map(self, pred, target) -> torch.Tensor:
        """``1 - map``: semantic similarity ``(B, 1, H, W)`` in [0, 1], 1 = unchanged (the
        orientation of the thesis' CLU maps; for a thesis-form decoder, its own output)."""
        return 1.0 - self.map(pred, target)
