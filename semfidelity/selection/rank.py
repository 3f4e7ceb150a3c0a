"""Rank a set of super-resolution candidates (e.g. diffusion samples of one LR input)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from semfidelity._ranks import average_ranks
from semfidelity.io import ImageLike, as_tensor
from semfidelity.selection.scorers import Scorer, ScoringContext, make_scorer

__all__ = ["Ranking", "rank", "resolve_scorers"]

logger = logging.getLogger(__name__)


@dataclass
class Ranking:
    """The result of :func:`rank`. Rank 1 is the best; every score is higher-better.

    Attributes:
        order: candidate indices, best first (by ``combined``, ties by index).
        scores: scorer name -> one score per candidate (candidate order, not rank order).
        ranks: scorer name -> rank per candidate (1 = best; ties share their average rank).
        combined: mean over scorers of each candidate's rank (lower is better).
        details: extra per-candidate columns reported by scorers (e.g. ``lr_psnr``).
        names: one label per candidate (file names in the CLI; ``"0"``, ``"1"``... otherwise).
    """

    order: list[int]
    scores: dict[str, list[float]]
    ranks: dict[str, list[float]]
    combined: list[float]
    details: dict[str, list[float]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    @property
    def best(self) -> int:
        """Index of the best candidate."""
        return self.order[0]

    def top(self, k: int) -> list[int]:
        """Indices of the ``k`` best candidates, best first."""
        return self.order[:k]

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per candidate in rank order: position, index, name, combined rank, and
        ``<scorer>_score`` / ``<scorer>_rank`` for every scorer, then the detail columns."""
        rows = []
        for pos, i in enumerate(self.order, start=1):
            row: dict[str, Any] = {
                "position": pos,
                "index": i,
                "name": self.names[i] if self.names else str(i),
                "combined_rank": self.combined[i],
            }
            for s in self.scores:
                row[f"{s}_score"] = self.scores[s][i]
                row[f"{s}_rank"] = self.ranks[s][i]
            for d, values in self.details.items():
                row[d] = values[i]
            rows.append(row)
        return rows


def _average_ranks(score: torch.Tensor) -> list[float]:
    """Rank 1 for the highest score; tied scores share the mean of their ranks."""
    return average_ranks(-score.double().cpu().numpy()).tolist()


def resolve_scorers(
    scorers: Sequence[str | Scorer] | str,
    *,
    has_reference: bool,
    has_lr: bool,
    has_judge: bool,
) -> list[Scorer]:
    """Expand ``"auto"`` and build scorer objects.

    ``"auto"`` is ``tws`` when a reference is given, else ``lr_consistency`` (when ``lr`` is
    given) and ``consensus``; ``vlm`` is added when a judge is given.
    """
    if isinstance(scorers, str) or isinstance(scorers, Scorer):
        scorers = (scorers,)
    if not scorers:
        raise ValueError("scorers: expected at least one scorer name or object, got none")
    out: list[Scorer] = []
    for spec in scorers:
        if isinstance(spec, str) and spec.strip().lower() == "auto":
            names = (
                ["tws"] if has_reference else (["lr_consistency"] if has_lr else []) + ["consensus"]
            )
            if has_judge:
                names.append("vlm")
            out.extend(make_scorer(n) for n in names)
        else:
            out.append(make_scorer(spec))
    seen: set[str] = set()
    for s in out:
        if s.name in seen:
            raise ValueError(f"scorers: scorer {s.name!r} given twice")
        seen.add(s.name)
    return out


def _prepare(
    candidates: ImageLike | Sequence[ImageLike],
    reference: ImageLike | None,
    lr: ImageLike | None,
    scale: int | None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    c = as_tensor(candidates, "candidates")
    if c.ndim != 4 or c.shape[1] != 3:
        raise ValueError(f"candidates: expected shape (N, 3, H, W), got {tuple(c.shape)}")
    if c.shape[0] < 2:
        raise ValueError(f"candidates: ranking needs at least 2 candidates, got {c.shape[0]}")
    if not torch.isfinite(c).all() or float(c.min()) < 0.0 or float(c.max()) > 1.0:
        raise ValueError("candidates: values must be finite and lie in [0, 1]")
    c = c.float().contiguous()  # torch.median is wrong on stride-0 (expanded) inputs
    h, w = c.shape[-2:]
    ref = None
    if reference is not None:
        ref = as_tensor(reference, "reference").to(c.device, torch.float32)
        if ref.shape[0] != 1 or ref.shape[1] != 3 or ref.shape[-2:] != (h, w):
            raise ValueError(
                f"reference: expected shape (1, 3, {h}, {w}) like the candidates, got "
                f"{tuple(ref.shape)}"
            )
    low = None
    if lr is not None:
        low = as_tensor(lr, "lr").to(c.device, torch.float32)
        if low.shape[0] != 1 or low.shape[1] != 3:
            raise ValueError(f"lr: expected one RGB image (1, 3, h, w), got {tuple(low.shape)}")
        lh, lw = low.shape[-2:]
        if scale is None:
            hint = (
                f" (the shapes suggest scale={h // lh})"
                if h % lh == 0 and h // lh == w // lw
                else ""
            )
            raise ValueError(f"scale: required together with lr{hint}")
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise ValueError(f"scale: expected a positive int, got {scale!r}")
        if (lh * scale, lw * scale) != (h, w):
            raise ValueError(
                f"lr: with scale={scale} candidates of size {h}x{w} need an LR image of size "
                f"{h / scale:g}x{w / scale:g}, got {lh}x{lw}"
            )
    elif scale is not None:
        raise ValueError(f"scale: given ({scale!r}) without lr; pass lr=... as well or drop scale")
    return c, ref, low


def rank(
    candidates: ImageLike | Sequence[ImageLike],
    *,
    reference: ImageLike | None = None,
    lr: ImageLike | None = None,
    scale: int | None = None,
    scorers: Sequence[str | Scorer] | str = ("auto",),
    judge: Any = None,
    names: Sequence[str] | None = None,
) -> Ranking:
    """Rank ``N`` candidate SR images of one input, best first.

    Args:
        candidates: ``(N, 3, H, W)`` float tensor in [0, 1] (or a list of images of one size).
        reference: ground truth ``(1, 3, H, W)``; enables ``tws``.
        lr: the low-resolution input ``(1, 3, H/scale, W/scale)``; enables ``lr_consistency``.
        scale: integer SR factor, required with ``lr``.
        scorers: names (``"auto"``, ``"tws"``, ``"lr_consistency"``, ``"consensus"``,
            ``"vlm"``) or scorer objects (e.g. ``TWSScorer(metric=my_tws)``). ``"auto"`` is
            ``tws`` with a reference, else ``lr_consistency`` (with ``lr``) + ``consensus``,
            plus ``vlm`` when a judge is given.
        judge: a :class:`~semfidelity.selection.judges.Judge` for the ``vlm`` scorer.
        names: optional labels of the candidates (kept in the :class:`Ranking`).

    Returns:
        :class:`Ranking`; ``combined`` is the mean of the per-scorer ranks.

    Raises:
        ValueError: fewer than 2 candidates, a scorer without what it needs (``tws`` without
            a reference, ``lr_consistency`` without ``lr``, ``vlm`` without a judge), an LR
            image whose size times ``scale`` differs from the candidates', unknown scorers.
    """
    c, ref, low = _prepare(candidates, reference, lr, scale)
    n = c.shape[0]
    if names is not None and len(names) != n:
        raise ValueError(f"names: expected {n} labels (one per candidate), got {len(names)}")
    objs = resolve_scorers(
        scorers, has_reference=ref is not None, has_lr=low is not None, has_judge=judge is not None
    )
    ctx = ScoringContext(reference=ref, lr=low, scale=scale, judge=judge)
    scores: dict[str, list[float]] = {}
    ranks: dict[str, list[float]] = {}
    details: dict[str, list[float]] = {}
    for s in objs:
        result = s(c, ctx)
        score = torch.as_tensor(result.score, dtype=torch.float64).flatten()
        if score.shape != (n,) or not torch.isfinite(score).all():
            raise ValueError(
                f"scorer {s.name!r} must return {n} finite scores, got shape {tuple(score.shape)}"
            )
        scores[s.name] = score.tolist()
        ranks[s.name] = _average_ranks(score)
        for key, value in result.details.items():
            details[key] = torch.as_tensor(value, dtype=torch.float64).flatten().tolist()
        logger.info("scorer %s: best candidate %d", s.name, int(score.argmax()))
    combined = [sum(r[i] for r in ranks.values()) / len(ranks) for i in range(n)]
    first = next(iter(ranks.values()))
    order = sorted(range(n), key=lambda i: (combined[i], first[i], i))
    return Ranking(
        order=order,
        scores=scores,
        ranks=ranks,
        combined=combined,
        details=details,
        names=list(names) if names is not None else [str(i) for i in range(n)],
    )
