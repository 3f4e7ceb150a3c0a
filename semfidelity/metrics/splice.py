"""SpLiCE concept-code fidelity: ``splice_sym`` and ``splice_nonsym`` (docs/metrics/splice.md).

Each image's CLIP embedding is decomposed as SpLiCE does (Bhalla et al., *Interpreting CLIP with
Sparse Linear Concept Embeddings*, NeurIPS 2024):

    z  = normalize(normalize(E(x)) - image_mean)              E: CLIP image encoder
    C  = normalize(normalize(T(v)) - mean_v normalize(T(v)))  T: CLIP text encoder, v: concepts
    w  = argmin_{w >= 0} ||w C - z||^2 + l1_penalty ||w||_1   (K,) sparse concept code

and the two codes are compared (our definitions; the thesis names the variants without formulas):

    splice_sym    = cos(w_pred, w_target)                           symmetric
    splice_nonsym = sum_k min(w_pred, w_target)_k / sum_k w_target_k  share of the target's
                                                                      concept mass kept by pred
Both lie in [0, 1], higher is better, 1 for identical images. ``explain()`` lists the concepts
of the residual ``w_target - w_pred``: lost (positive part) and gained (negative part).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from semfidelity.backbones.clip import ClipEncoder, clip_weight_id
from semfidelity.backbones.clip_concepts import (
    concept_embeddings,
    load_vocabulary,
    splice_image_mean,
)
from semfidelity.backbones.clip_floor import floor_images
from semfidelity.functional.lasso import nonneg_lasso
from semfidelity.metric import Metric
from semfidelity.registry import register_metric

__all__ = ["SpliceNonSym", "SpliceSym", "code_containment", "code_cosine"]

CLIP_VIEWS = ("centre", "whole")
IMAGE_MEANS = ("auto", "splice", "measured")


def code_cosine(w_pred: torch.Tensor, w_target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Cosine of non-negative codes ``(B, K)`` in [0, 1]; 1 when both are zero, 0 when one is."""
    dot = (w_pred * w_target).sum(-1)
    n_p, n_t = w_pred.norm(dim=-1), w_target.norm(dim=-1)
    cos = dot / (n_p * n_t).clamp_min(eps)
    both_zero = (n_p <= eps) & (n_t <= eps)
    return torch.where(both_zero, torch.ones_like(cos), cos).clamp(0.0, 1.0)


def code_containment(
    w_pred: torch.Tensor, w_target: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """``sum min(w_pred, w_target) / sum w_target`` in [0, 1]; 1 when the target code is zero."""
    mass = w_target.sum(-1)
    kept = torch.minimum(w_pred, w_target).sum(-1)
    share = kept / mass.clamp_min(eps)
    return torch.where(mass <= eps, torch.ones_like(share), share).clamp(0.0, 1.0)


def _number(name: str, value: Any, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not (value > 0 if positive else value >= 0):
        raise ValueError(f"{name}: expected a number {'>' if positive else '>='} 0, got {value!r}")
    return float(value)


class _Splice(Metric):
    """Shared SpLiCE decomposition; subclasses define :meth:`compare`."""

    def __init__(
        self,
        *,
        vocabulary: str | os.PathLike[str] | tuple[str, ...] | None = None,
        vocabulary_size: int | None = None,
        l1_penalty: float = 0.25,
        image_mean: Any = "auto",
        clip_model: str = "ViT-B-32",
        clip_pretrained: str = "openai",
        clip_weights: str | os.PathLike[str] | None = None,
        clip_view: str = "centre",
        tol: float = 1e-6,
        max_iter: int = 10000,
        device=None,
        as_loss: bool = False,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if as_loss:
            name = getattr(getattr(self, "spec", None), "name", "splice")
            raise ValueError(
                f"as_loss: {name} is not differentiable (its concept codes are lasso "
                "minimisers); use clip_sim as a semantic loss; got True"
            )
        self.l1_penalty = _number("l1_penalty", l1_penalty, positive=False)
        self.tol = _number("tol", tol)
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"max_iter: expected an int >= 1, got {max_iter!r}")
        self.max_iter = max_iter
        if clip_view not in CLIP_VIEWS:
            raise ValueError(f"clip_view: expected one of {CLIP_VIEWS}, got {clip_view!r}")
        self.clip_view = clip_view
        self.concepts = load_vocabulary(vocabulary, vocabulary_size)
        self.clip = ClipEncoder(clip_model, clip_pretrained, weights=clip_weights)
        text = concept_embeddings(
            self.concepts, clip_model, clip_pretrained, clip_weights, device=self.device
        )
        centred = F.normalize(text.double() - text.double().mean(0), dim=-1)
        self.register_buffer("dictionary", centred, persistent=False)
        mean = self._image_mean(image_mean, clip_model, clip_pretrained)
        self.register_buffer("image_mean", mean.float().reshape(1, -1), persistent=False)

    def _image_mean(self, option: Any, clip_model: str, clip_pretrained: str) -> torch.Tensor:
        dim = self.dictionary.shape[1]
        if isinstance(option, torch.Tensor):
            mean = option.detach().float().cpu()
        elif isinstance(option, (str, os.PathLike)) and str(option) not in IMAGE_MEANS:
            path = Path(option)
            if not path.is_file():
                raise ValueError(
                    f"image_mean: expected one of {IMAGE_MEANS}, a (D,) tensor or a path to a "
                    f".safetensors/.pt file holding one; got {str(option)!r}"
                )
            mean = _load_vector(path)
        elif option in ("auto", "splice"):
            mean = splice_image_mean(clip_model, clip_pretrained)
            if mean is None and option == "splice":
                raise ValueError(
                    f"image_mean: SpLiCE publishes no image mean for {clip_model!r}/"
                    f"{clip_pretrained!r}; use image_mean='measured', a tensor or a file"
                )
            if mean is None:
                mean = self._measured_mean()
        elif option == "measured":
            mean = self._measured_mean()
        else:
            raise ValueError(
                f"image_mean: expected one of {IMAGE_MEANS}, a (D,) tensor or a path, "
                f"got {option!r}"
            )
        if mean.numel() != dim:
            raise ValueError(
                f"image_mean: expected {dim} values (the CLIP embedding size), got {mean.numel()}"
            )
        return mean

    def _measured_mean(self) -> torch.Tensor:
        with torch.no_grad():
            emb = torch.cat([self.embed(x) for x in floor_images().split(4)])
        return emb.mean(0)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, concepts={len(self.concepts)}, "
            f"l1_penalty={self.l1_penalty}, clip_view={self.clip_view!r}"
        )

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm CLIP image embeddings ``(B, D)`` under ``clip_view``."""
        images = images.to(self.clip.mean.device)
        if self.clip_view == "centre":
            return self.clip.embed(images)
        return self.clip.encode(self.clip.preprocess_whole(images))

    def codes(self, images: torch.Tensor) -> torch.Tensor:
        """SpLiCE concept codes ``(B, K)`` (float64, non-negative, sparse) of validated images."""
        with torch.no_grad():
            z = self.embed(images)
            z = F.normalize(z - self.image_mean.to(z.device), dim=-1)
            c = self.dictionary.to(z.device, torch.float64)
            return nonneg_lasso(
                c, z.double(), self.l1_penalty, tol=self.tol, max_iter=self.max_iter
            )

    def reconstruction_cosine(self, images: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """SpLiCE's fidelity of a code: cos(normalize(normalize(w C) + mean), E(x)), ``(B,)``."""
        c = self.dictionary.to(codes.device, codes.dtype)
        recon = F.normalize(codes @ c, dim=-1) + self.image_mean.to(codes.device, codes.dtype)
        z = self.embed(images).to(codes.dtype)
        return (F.normalize(recon, dim=-1) * z).sum(-1).float()

    def compare(self, w_pred: torch.Tensor, w_target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        w_t = self.codes(target)
        w_p = self.codes(pred)
        return self.compare(w_p, w_t.expand_as(w_p)).float()

    def explain(self, pred: Any, target: Any, top_k: int = 10) -> list[dict[str, Any]]:
        """Per pair: the score, the concepts ``lost`` (``w_target - w_pred > 0``) and ``gained``
        (``w_pred - w_target > 0``) as ``(concept, weight)`` lists, largest first (``top_k``
        each; ``None`` for all), both codes' concepts, and SpLiCE's reconstruction cosines."""
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)):
            raise TypeError(f"top_k: expected an int or None, got {type(top_k).__name__}")
        p, t = self.prepare(pred, target)
        with torch.no_grad():
            return self._explain(p, t, top_k)

    def _explain(self, p: torch.Tensor, t: torch.Tensor, top_k: int | None) -> list[dict]:
        w_t = self.codes(t).expand(p.shape[0], -1)
        w_p = self.codes(p)
        scores = self.compare(w_p, w_t).float()
        cos_p = self.reconstruction_cosine(p, w_p)
        cos_t = self.reconstruction_cosine(t, w_t[: t.shape[0]]).expand(p.shape[0])
        return [
            {
                "score": float(scores[i]),
                "lost": self._listing(w_t[i] - w_p[i], top_k),
                "gained": self._listing(w_p[i] - w_t[i], top_k),
                "target": self._listing(w_t[i], top_k),
                "pred": self._listing(w_p[i], top_k),
                "target_reconstruction_cosine": float(cos_t[i]),
                "pred_reconstruction_cosine": float(cos_p[i]),
            }
            for i in range(p.shape[0])
        ]

    def _listing(self, weights: torch.Tensor, top_k: int | None) -> list[tuple[str, float]]:
        idx = torch.nonzero(weights > 0).flatten()
        order = idx[weights[idx].argsort(descending=True, stable=True)]
        if top_k is not None:
            order = order[:top_k]
        return [(self.concepts[int(i)], float(weights[i])) for i in order]


def _load_vector(path: Path) -> torch.Tensor:
    if path.suffix == ".safetensors":
        tensors = list(load_file(str(path)).values())
        if len(tensors) != 1:
            raise ValueError(f"image_mean: {path} must hold exactly one tensor, has {len(tensors)}")
        return tensors[0].float().flatten()
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(obj, torch.Tensor):
        raise ValueError(f"image_mean: {path} must hold a tensor, holds {type(obj).__name__}")
    return obj.float().flatten()


_OPTIONS_DOC = """Options: ``vocabulary`` (None = the shipped 10 000 LAION words; a text file with
    one concept a line, or a sequence of strings), ``vocabulary_size`` (None = all; k keeps the
    last k lines, SpLiCE's convention), ``l1_penalty`` (0.25, SpLiCE's README and experiments),
    ``image_mean`` ("auto": SpLiCE's published mean for the backbone, else "measured" on the 16
    scikit-image photographs; "splice"; "measured"; a (D,) tensor or file), ``clip_model``
    ("ViT-B-32"), ``clip_pretrained`` ("openai"), ``clip_weights`` (None = manifest, a path to
    an open_clip CLIP state dict with its text tower, or "random"), ``clip_view`` ("centre":
    open_clip's resize + centre crop, as SpLiCE; "whole": the whole image squeezed), ``tol``
    (1e-6, KKT residual of the lasso), ``max_iter`` (10000). Not differentiable; ``as_loss``
    is refused."""

_META = dict(
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=False,
    min_size=1,
    weights=(clip_weight_id("ViT-B-32", "openai"),),
)


@register_metric(
    "splice_sym",
    description="SpLiCE: cosine of the two images' sparse CLIP concept codes",
    **_META,
)
class SpliceSym(_Splice):
    __doc__ = f"""Cosine of the SpLiCE concept codes of pred and target; symmetric, higher is
    better, in [0, 1] (1 when both codes are equal or both empty).

    {_OPTIONS_DOC}

    Example:
        >>> import torch, semfidelity
        >>> # random weights and five concepts keep the example offline and quick
        >>> sym = semfidelity.create_metric("splice_sym", device="cpu", clip_weights="random",
        ...                                 vocabulary=("cat", "dog", "car", "tree", "sky"))
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> sym(x, x)
        tensor([1., 1.])

    References:
        Bhalla, Oesterling, Srinivas, Calmon, Lakkaraju, "Interpreting CLIP with Sparse Linear
        Concept Embeddings (SpLiCE)", NeurIPS 2024. arXiv:2402.10376
    """

    def compare(self, w_pred: torch.Tensor, w_target: torch.Tensor) -> torch.Tensor:
        return code_cosine(w_pred, w_target)


@register_metric(
    "splice_nonsym",
    description="SpLiCE: share of the target's concept mass that the prediction keeps",
    **_META,
)
class SpliceNonSym(_Splice):
    __doc__ = f"""Share of the target's SpLiCE concept mass kept by pred,
    ``sum min(w_pred, w_target) / sum w_target``; not symmetric (concepts only pred has cost
    nothing), higher is better, in [0, 1] (1 when the target's code is empty).

    {_OPTIONS_DOC}

    Example:
        >>> import torch, semfidelity
        >>> # random weights and five concepts keep the example offline and quick
        >>> nonsym = semfidelity.create_metric("splice_nonsym", device="cpu", clip_weights="random",
        ...                                    vocabulary=("cat", "dog", "car", "tree", "sky"))
        >>> x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> report = nonsym.explain(x, x)[0]  # concepts lost / gained, none here
        >>> report["score"], report["lost"], report["gained"]
        (1.0, [], [])

    References:
        Bhalla, Oesterling, Srinivas, Calmon, Lakkaraju, "Interpreting CLIP with Sparse Linear
        Concept Embeddings (SpLiCE)", NeurIPS 2024. arXiv:2402.10376
    """

    def compare(self, w_pred: torch.Tensor, w_target: torch.Tensor) -> torch.Tensor:
        return code_containment(w_pred, w_target)
