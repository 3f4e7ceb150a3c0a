"""TWS (Trustworthiness Score) and its semantic term ``clip_sim``.

TWS (Korkmaz, Tekalp, Dogan, IEEE TCSVT 2025) combines CLIP semantic similarity, SSIM on edge
maps and a multi-level wavelet term; higher = more trustworthy. The paper gives no formulas;
ours (every constant an option) are in ``docs/metrics/tws.md``:

    semantic = clamp(cos(E(pred), E(target)), 0, 1)        E = open_clip image encoder
    edge     = edge_ssim(pred, target)                      SSIM of Sobel maps of luma
    wavelet  = wavelet_similarity(pred, target)             stabilised |detail| agreement
    tws      = w_sem * semantic + w_edge * edge + w_wav * wavelet,  mix (w_sem, w_edge, w_wav)
                                                            summing to 1
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import torch

from semfidelity._docs import docs_url
from semfidelity.backbones.clip import ClipEncoder, clip_weight_id
from semfidelity.functional.color import rgb_to_luma
from semfidelity.functional.edges import edge_ssim
from semfidelity.functional.wavelets import WAVELET_K, check_wavelet_formula, wavelet_similarity
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_edge_option, check_wavelet_options
from semfidelity.metrics._tws_mix import (
    normalise_tws_mix,
    normalise_tws_weights,
    parse_tws_mix,
    parse_tws_weights,
)
from semfidelity.registry import register_metric

__all__ = [
    "ClipSim",
    "TWS",
    "parse_tws_mix",
    "normalise_tws_mix",
    "parse_tws_weights",
    "normalise_tws_weights",
]

_DEFAULT_MIX = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)
_VIEWS = ("global", "tiles")


def _check_grid(clip_grid: Sequence[int]) -> tuple[int, int]:
    if isinstance(clip_grid, int):
        clip_grid = (clip_grid, clip_grid)
    if (
        not isinstance(clip_grid, Sequence)
        or len(clip_grid) != 2
        or not all(isinstance(v, int) and v >= 1 for v in clip_grid)
        or tuple(clip_grid) == (1, 1)
    ):
        raise ValueError(
            f"clip_grid: expected (rows, cols) of positive ints, not (1, 1), got {clip_grid!r}"
        )
    return int(clip_grid[0]), int(clip_grid[1])


class _ClipSemantic(Metric):
    """Shared CLIP part of ``clip_sim`` and ``tws``: the semantic term with broadcasting."""

    def _init_clip(
        self,
        clip_model: str,
        clip_pretrained: str,
        clip_weights: str | os.PathLike[str] | None,
        clip_view: str,
        clip_grid: Sequence[int],
        build: bool = True,
    ) -> None:
        if clip_view not in _VIEWS:
            raise ValueError(f"clip_view: expected one of {_VIEWS}, got {clip_view!r}")
        self.clip_view = clip_view
        self.clip_grid = _check_grid(clip_grid)
        self.clip = (
            ClipEncoder(clip_model, clip_pretrained, weights=clip_weights) if build else None
        )

    def _embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Global ``(B, D)`` and, in tiles view, per-tile ``(B, k, D)`` unit-norm embeddings."""
        pixels = self.clip.preprocess(images)
        tiles = None
        if self.clip_view == "tiles":
            h, w = images.shape[-2:]
            rows, cols = self.clip_grid
            if h < rows or w < cols:
                raise ValueError(
                    f"pred: image of size {h}x{w} is smaller than clip_grid {self.clip_grid}"
                )
            tiles = self.clip.tile_pixels(images, self.clip_grid)
            pixels = torch.cat([pixels, tiles.flatten(0, 1)])
        emb = self.clip.encode(pixels)  # float32 even when the encoder runs under autocast
        b = images.shape[0]
        if tiles is None:
            return emb, None
        return emb[:b], emb[b:].view(b, tiles.shape[1], -1)

    def semantic(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``clamp(cos(E(pred), E(target)), 0, 1)``, ``(B,)`` float32; target batch 1 broadcasts.

        The target (batch 1 or B) is embedded once, without a graph. In tiles view the score is
        the mean of the global cosine and the mean per-tile cosine (each clamped to [0, 1]).
        """
        with torch.no_grad():
            t_glob, t_tiles = self._embed(target)
        p_glob, p_tiles = self._embed(pred)
        cos = (p_glob * t_glob).sum(dim=-1).clamp(0.0, 1.0)
        if p_tiles is None:
            return cos
        tile_cos = (p_tiles * t_tiles).sum(dim=-1).clamp(0.0, 1.0).mean(dim=1)
        return 0.5 * (cos + tile_cos)


@register_metric(
    "clip_sim",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=True,
    min_size=1,
    weights=(clip_weight_id("ViT-B-32", "openai"),),
    description="CLIP image-image cosine similarity (TWS semantic term), clamped to [0, 1]",
    amp_safe=True,
)
class ClipSim(_ClipSemantic):
    """CLIP intra-modal cosine ``clamp(cos(E(pred), E(target)), 0, 1)``; higher is better.

    Options: ``clip_model`` ("ViT-B-32"), ``clip_pretrained`` ("openai"), ``clip_weights``
    (None = manifest weight, a path, or "random"), ``clip_view`` ("global" | "tiles"),
    ``clip_grid`` ((2, 2) tiles). ``amp_safe``: under ``torch.autocast`` the encoder runs in
    half precision while the cosine is computed in float32.

    Example:
        >>> import torch, semfidelity
        >>> # clip_weights="random" keeps the example offline; the default loads pinned CLIP weights
        >>> clip_sim = semfidelity.create_metric("clip_sim", device="cpu", clip_weights="random")
        >>> x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(clip_sim(x, x), torch.ones(2), atol=1e-5)
        True

    References:
        Radford et al., "Learning transferable visual models from natural language supervision",
        ICML 2021. arXiv:2103.00020
    """

    def __init__(
        self,
        *,
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        clip_weights: str | os.PathLike[str] | None = None,
        clip_view: str = "global",
        clip_grid: Sequence[int] = (2, 2),
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        self._init_clip(clip_model, clip_pretrained, clip_weights, clip_view, clip_grid)

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.semantic(pred, target)


@register_metric(
    "tws",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=True,
    min_size=16,
    weights=(clip_weight_id("ViT-B-32", "openai"),),
    description="Trustworthiness Score: CLIP semantic + edge SSIM + wavelet similarity",
    has_components=True,
    amp_safe=True,
    notes=f"formula details are ours (the paper publishes none): see {docs_url('metrics/tws.md')}",
)
class TWS(_ClipSemantic):
    """Trustworthiness Score in [0, 1], higher = more trustworthy.

    ``tws = w_sem * semantic + w_edge * edge + w_wav * wavelet`` (the mix normalised to sum 1).
    :meth:`components` returns ``semantic``, ``edge``, ``wavelet`` and ``tws``, each ``(B,)``.
    A component with weight 0 is not computed by the score call.

    Options: the CLIP options of ``clip_sim``; ``edge`` ("sobel", or "canny": not
    differentiable), ``wavelet`` ("haar", any discrete PyWavelets family), ``levels`` (3),
    ``wavelet_formula`` ("stable", or "ratio": the earlier unstabilised term),
    ``wavelet_k`` (0.015, the stabilising constant of "stable"),
    ``mix`` ((1/3, 1/3, 1/3), order semantic, edge, wavelet; ``weights`` is its deprecated
    name). A term with weight 0 is not built: ``mix=(0, 1, 1)`` loads no CLIP weights and its
    components have no "semantic".

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
        clip_view: str = "global",
        clip_grid: Sequence[int] = (2, 2),
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
            clip_model, clip_pretrained, clip_weights, clip_view, clip_grid, self.mix[0] > 0
        )

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
            f"{super().extra_repr()}, clip_view={self.clip_view!r}, edge={self.edge!r}, "
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
