"""TWS (Trustworthiness Score): semantic + edge + wavelet terms, scores and maps.

TWS (Korkmaz, Tekalp, Dogan, IEEE TCSVT 2025) combines CLIP semantic similarity, SSIM on edge
maps and a multi-level wavelet term; higher = more trustworthy. The paper gives no formulas;
ours (every constant an option) are in ``docs/metrics/tws.md``:

    semantic = pooled rescaled CLIP similarity (whole image + regions; metrics/clip_sim.py)
    edge     = edge_ssim(pred, target)                      SSIM of Sobel maps of luma
    wavelet  = wavelet_similarity(pred, target)             stabilised |detail| agreement
    tws      = w_sem * semantic + w_edge * edge + w_wav * wavelet,  mix (w_sem, w_edge, w_wav)
                                                            summing to 1
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from semfidelity._docs import docs_url
from semfidelity.backbones.clip import clip_weight_id
from semfidelity.functional.color import rgb_to_luma
from semfidelity.functional.edges import edge_map, edge_ssim
from semfidelity.functional.ssim import ssim_map
from semfidelity.functional.wavelets import (
    WAVELET_K,
    check_wavelet_formula,
    wavelet_similarity,
    wavelet_similarity_map,
)
from semfidelity.metrics._checks import check_edge_option, check_wavelet_options
from semfidelity.metrics.clip_sim import _CLIP_OPTIONS_DOC, ClipSemantic, ClipSim
from semfidelity.registry import register_metric

__all__ = [
    "ClipSim",  # defined in metrics/clip_sim.py; re-exported for its old import path
    "TWS",
    "parse_tws_mix",
    "normalise_tws_mix",
    "parse_tws_weights",
    "normalise_tws_weights",
]

_DEFAULT_MIX = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)


def normalise_tws_mix(mix: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(w_sem, w_edge, w_wav)`` (finite, >= 0, positive sum) and scale to sum 1."""
    if isinstance(mix, str) or not isinstance(mix, Sequence):
        raise TypeError(
            f"mix: expected a sequence of 3 numbers (semantic, edge, wavelet), "
            f"got {type(mix).__name__}; use parse_tws_mix for strings"
        )
    if len(mix) != 3:
        raise ValueError(
            f"mix: expected 3 numbers (semantic, edge, wavelet), got {len(mix)}: {tuple(mix)!r}"
        )
    try:
        w = tuple(float(x) for x in mix)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"mix: expected numbers, got {tuple(mix)!r}") from exc
    if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
        raise ValueError(
            f"mix: expected 3 finite non-negative numbers with a positive sum, got {w!r}"
        )
    s = sum(w)
    return (w[0] / s, w[1] / s, w[2] / s)


def parse_tws_mix(text: str) -> tuple[float, float, float]:
    """Parse ``"a,b,c"`` (semantic, edge, wavelet) into a normalised TWS mix.

    >>> parse_tws_mix("2,1,1")
    (0.5, 0.25, 0.25)
    """
    if not isinstance(text, str):
        raise TypeError(f"mix: expected a string 'a,b,c', got {type(text).__name__}")
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise ValueError(
            f"mix: expected three comma-separated numbers 'semantic,edge,wavelet' "
            f"(e.g. '0.5,0.25,0.25'), got {text!r}"
        ) from exc
    return normalise_tws_mix(values)


def normalise_tws_weights(weights: Sequence[float]) -> tuple[float, float, float]:
    """Deprecated name of :func:`normalise_tws_mix`."""
    warnings.warn(
        "normalise_tws_weights is deprecated; use normalise_tws_mix", DeprecationWarning, 2
    )
    return normalise_tws_mix(weights)


def parse_tws_weights(text: str) -> tuple[float, float, float]:
    """Deprecated name of :func:`parse_tws_mix`."""
    warnings.warn("parse_tws_weights is deprecated; use parse_tws_mix", DeprecationWarning, 2)
    return parse_tws_mix(text)


@register_metric(
    "tws",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=True,
    min_size=16,
    weights=(clip_weight_id("ViT-B-32", "openai"),),
    description="Trustworthiness Score: CLIP semantic + edge SSIM + wavelet similarity",
    has_components=True,
    has_map=True,
    amp_safe=True,
    notes=f"formula details are ours (the paper publishes none): see {docs_url('metrics/tws.md')}",
)
class TWS(ClipSemantic):
    __doc__ = f"""Trustworthiness Score in [0, 1], higher = more trustworthy.

    ``tws = w_sem * semantic + w_edge * edge + w_wav * wavelet`` (the mix normalised to sum 1).
    :meth:`components` returns ``semantic``, ``edge``, ``wavelet`` and ``tws``, each ``(B,)``;
    :meth:`map` the ``(B, 1, H, W)`` trust map (low = untrustworthy) and
    :meth:`components_map` one map per term. A term with weight 0 is not built: with
    ``mix=(0, 1, 1)`` no CLIP weights are loaded and ``semantic`` is absent.

    {_CLIP_OPTIONS_DOC}
    Edge and wavelet: ``edge`` ("sobel", or "canny": not differentiable), ``wavelet`` ("haar",
    any discrete PyWavelets family), ``levels`` (3), ``wavelet_formula`` ("stable", or "ratio":
    the earlier unstabilised term), ``wavelet_k`` (0.015, the stabilising constant of "stable"),
    ``mix`` ((1/3, 1/3, 1/3), order semantic, edge, wavelet; ``weights`` is its deprecated
    name).

    Example:
        >>> import torch, semfidelity
        >>> # mix=(0, 1, 1) leaves out the CLIP term, so this example needs no weights
        >>> tws = semfidelity.create_metric("tws", device="cpu", mix=(0, 1, 1))
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> tws.component_names
        ('edge', 'wavelet', 'tws')
        >>> tws(x, x)
        tensor([1., 1.])
        >>> bool((tws(x.flip(-1), x) < 1).all())
        True

    References:
        Korkmaz, Tekalp, Doğan, "Leveraging vision-language models to select trustworthy
        super-resolution samples generated by diffusion models", IEEE TCSVT, 2025.
        arXiv:2506.20832
    """

    def __init__(
        self,
        *,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        clip_weights: str | os.PathLike[str] | None = None,
        clip_view: str = "whole",
        clip_grid: Any = None,
        clip_pooling: str = "pnorm",
        clip_p: float = 4.0,
        semantic_scale: str = "floor",
        clip_encoder: Any = None,
        edge: str = "sobel",
        wavelet: str = "haar",
        levels: int = 3,
        wavelet_formula: str = "stable",
        wavelet_k: float = WAVELET_K,
        mix: Sequence[float] = _DEFAULT_MIX,
        weights: Sequence[float] | None = None,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self.edge = check_edge_option(edge, as_loss)
        self._wavelet_min_side = check_wavelet_options(wavelet, levels)
        self.wavelet, self.levels = wavelet, levels
        check_wavelet_formula(wavelet_formula, wavelet_k)
        self.wavelet_formula, self.wavelet_k = wavelet_formula, float(wavelet_k)
        if weights is not None:
            if mix is not _DEFAULT_MIX:
                raise TypeError("mix: give mix or its deprecated name weights, not both")
            warnings.warn("tws option weights= is deprecated; use mix=", DeprecationWarning, 2)
            mix = weights
        self.mix = normalise_tws_mix(mix)
        # A semantic weight of 0: CLIP is never run, so it is neither built nor loaded.
        self._init_clip(
            clip_model, clip_pretrained, clip_weights, clip_view, clip_grid, clip_pooling,
            clip_p, semantic_scale, clip_encoder, build=self.mix[0] > 0,
        )  # fmt: skip

    @property
    def weights(self) -> tuple[float, float, float]:
        """Deprecated name of :attr:`mix`."""
        warnings.warn("TWS.weights is deprecated; use TWS.mix", DeprecationWarning, 2)
        return self.mix

    @property
    def min_size(self) -> int:
        # The wavelet term needs `levels` full DWT levels, as the `wavelet` metric enforces.
        return max(self.spec.min_size, self._wavelet_min_side)

    def extra_repr(self) -> str:
        w = ", ".join(f"{x:.4g}" for x in self.mix)
        return (
            f"{super().extra_repr()}, edge={self.edge!r}, "
            f"wavelet={self.wavelet!r}, levels={self.levels}, mix=({w})"
        )

    def _edge(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return edge_ssim(pred, target, edge=self.edge).float().clamp(0.0, 1.0)

    def _wavelet(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return wavelet_similarity(
            pred,
            target,
            wavelet=self.wavelet,
            levels=self.levels,
            formula=self.wavelet_formula,
            k=self.wavelet_k,
        ).float()

    @property
    def component_names(self) -> tuple[str, ...]:
        return (*(("semantic",) if self.clip is not None else ()), "edge", "wavelet", "tws")

    def _terms(self, pred: torch.Tensor, target: torch.Tensor, names) -> dict[str, torch.Tensor]:
        parts = {"semantic": self.semantic(pred, target)} if "semantic" in names else {}
        if "edge" in names or "wavelet" in names:  # one BT.601 luma per image for both terms
            yp, yt = rgb_to_luma(pred.float()), rgb_to_luma(target.float())
            if "edge" in names:
                parts["edge"] = self._edge(yp, yt)
            if "wavelet" in names:
                parts["wavelet"] = self._wavelet(yp, yt)
        return parts

    def compute_components(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        parts = self._terms(pred, target, self.component_names)
        parts["tws"] = self._combine(parts)
        return parts

    def _combine(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        total = None
        for w, name in zip(self.mix, ("semantic", "edge", "wavelet"), strict=True):
            if w > 0:
                total = w * parts[name] if total is None else total + w * parts[name]
        return total.clamp(0.0, 1.0)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        names = [n for w, n in zip(self.mix, ("semantic", "edge", "wavelet"), strict=True) if w]
        return self._combine(self._terms(pred, target, names))

    # ------------------------------------------------------------------ maps
    def _component_maps(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Term maps (and the total) and, when CLIP is built, the pooled semantic score."""
        size = pred.shape[-2:]
        with torch.autocast(device_type=pred.device.type, enabled=False):
            edge = ssim_map(
                edge_map(pred, edge=self.edge), edge_map(target, edge=self.edge), full=True
            ).clamp(0.0, 1.0)
            wav = wavelet_similarity_map(
                pred, target, wavelet=self.wavelet, levels=self.levels, k=self.wavelet_k
            )
        maps = {"edge": edge.expand(pred.shape[0], 1, *size), "wavelet": wav}
        scores = None
        if self.clip is not None:
            scores, maps["semantic"] = self.semantic_and_map(pred, target)
        maps["tws"] = self._combine(maps)
        return maps, scores

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._component_maps(pred, target)[0]["tws"]

    def compute_score_and_map(
        self, pred: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        maps, semantic = self._component_maps(pred, target)  # CLIP runs once for both
        names = [n for w, n in zip(self.mix[1:], ("edge", "wavelet"), strict=True) if w]
        parts = self._terms(pred, target, names)
        if semantic is not None:
            parts["semantic"] = semantic
        return self._combine(parts), maps["tws"]

    def components_map(self, pred: Any, target: Any) -> dict[str, torch.Tensor]:
        """Per-term trust maps ``{"semantic", "edge", "wavelet", "tws"}``, each ``(B, 1, H, W)``
        in [0, 1], higher = more trustworthy; ``"tws"`` is :meth:`map`. Fixed scale: 0 is "no
        agreement", 1 "identical" (``semantic``: per region, against the encoder's floor;
        ``edge``: local SSIM of Sobel maps; ``wavelet``: local stabilised detail agreement)."""
        p, t = self.prepare(pred, target)
        with self._grad_context(p):
            return self._component_maps(p, t)[0]
