"""Rank a set of super-resolution candidates (e.g. diffusion samples of one LR input)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from semfidelity._ranks import average_ranks
from semfidelity.io import ImageLike, as_tensor
from semfidelity.selection.catalog import make_scorer
from semfidelity.selection.realism import SCOPE_MARK, mixed_methods_warning, pool_statistics
from semfidelity.selection.scorers import Scorer, ScoringContext, TWSScorer

__all__ = ["Ranking", "rank", "resolve_scorers", "resolve_reference_role", "REFERENCE_ROLES"]

logger = logging.getLogger(__name__)

REFERENCE_ROLES = ("select", "validate")


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
        validation: scorer name -> score per candidate of scorers that did **not** take part
            in the order (``tws`` against the ground truth with ``reference_role="validate"``).
        warnings: messages about the candidate set (also logged), e.g. that the candidates
            look like outputs of different methods, or that some are tied.
    """

    order: list[int]
    scores: dict[str, list[float]]
    ranks: dict[str, list[float]]
    combined: list[float]
    details: dict[str, list[float]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    validation: dict[str, list[float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> int:
        """Index of the best candidate."""
        return self.order[0]

    def top(self, k: int) -> list[int]:
        """Indices of the ``k`` best candidates, best first."""
        return self.order[:k]

    @property
    def ties(self) -> list[list[int]]:
        """Groups (best first) of candidates with the same combined rank, each in rank order.
        Their order within a group is the tie-break (first scorer's rank, then index), not a
        judgement of the scorers."""
        groups: list[list[int]] = []
        for i in self.order:
            if groups and abs(self.combined[groups[-1][0]] - self.combined[i]) <= _TIE_EPS:
                groups[-1].append(i)
            else:
                groups.append([i])
        return [g for g in groups if len(g) > 1]

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per candidate in rank order: position, index, name, combined rank, ``tie``
        (0 when the candidate's combined rank is unique, else the first position of its tie
        group), ``<scorer>_score`` / ``<scorer>_rank`` for every scorer, the detail columns,
        then ``<scorer>_validation`` for the validation scorers."""
        tie_at = {}
        for group in self.ties:
            first = self.order.index(group[0]) + 1
            tie_at.update({i: first for i in group})
        rows = []
        for pos, i in enumerate(self.order, start=1):
            row: dict[str, Any] = {
                "position": pos,
                "index": i,
                "name": self.names[i] if self.names else str(i),
                "combined_rank": self.combined[i],
                "tie": tie_at.get(i, 0),
            }
            for s in self.scores:
                row[f"{s}_score"] = self.scores[s][i]
                row[f"{s}_rank"] = self.ranks[s][i]
            for d, values in self.details.items():
                row[d] = values[i]
            for v, values in self.validation.items():
                row[f"{v}_validation"] = values[i]
            rows.append(row)
        return rows


_TIE_EPS = 1e-9


def _average_ranks(score: torch.Tensor) -> list[float]:
    """Rank 1 for the highest score; tied scores share the mean of their ranks."""
    return average_ranks(-score.double().cpu().numpy()).tolist()


def resolve_reference_role(role: str | None, *, has_reference: bool, has_judge: bool) -> str:
    """What a ground truth does: ``"select"`` (``tws`` takes part in the ranking) or
    ``"validate"`` (``tws`` is reported next to the ranking but does not change it; the TWS
    paper's protocol: the judge selects, TWS validates). ``None`` is ``"validate"`` when a
    judge is given, else ``"select"``."""
    if role is None:
        return "validate" if has_reference and has_judge else "select"
    if role not in REFERENCE_ROLES:
        raise ValueError(f"reference_role: expected one of {REFERENCE_ROLES} or None, got {role!r}")
    return role


def resolve_scorers(
    scorers: Sequence[str | Scorer] | str,
    *,
    has_reference: bool,
    has_lr: bool,
    has_judge: bool,
    reference_role: str | None = None,
) -> list[Scorer]:
    """Expand ``"auto"`` and build scorer objects.

    ``"auto"`` selects with ``tws`` when a reference is given and ``reference_role`` is
    ``"select"``, else as without ground truth: ``faithful_realism`` when ``lr`` is given,
    ``consensus`` otherwise; ``vlm`` is added when a judge is given. With a judge and a
    reference the default role is ``"validate"``: the judge (with the no-ground-truth scorer)
    selects and ``tws`` only validates.
    """
    role = resolve_reference_role(reference_role, has_reference=has_reference, has_judge=has_judge)
    if isinstance(scorers, str) or isinstance(scorers, Scorer):
        scorers = (scorers,)
    if not scorers:
        raise ValueError("scorers: expected at least one scorer name or object, got none")
    out: list[Scorer] = []
    for spec in scorers:
        if isinstance(spec, str) and spec.strip().lower() == "auto":
            if has_reference and role == "select":
                names = ["tws"]
            else:
                names = ["faithful_realism" if has_lr else "consensus"]
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
    if has_reference and role == "validate" and "tws" in seen:
        raise ValueError(
            "reference_role: 'validate' keeps the reference out of the selection, but scorer "
            "'tws' was asked to select; pass reference_role='select' to combine them"
        )
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
    reference_role: str | None = None,
    validator: Scorer | None = None,
) -> Ranking:
    """Rank ``N`` candidate SR images of one input, best first.

    Made for samples of one model for one input (e.g. diffusion samples). Without a ground
    truth, candidates that look like outputs of different methods get a warning in
    :attr:`Ranking.warnings`: the no-ground-truth ranking is then a heuristic.

    Args:
        candidates: ``(N, 3, H, W)`` float tensor in [0, 1] (or a list of images of one size).
        reference: ground truth ``(1, 3, H, W)``; enables ``tws``.
        lr: the low-resolution input ``(1, 3, H/scale, W/scale)``; enables
            ``faithful_realism`` and ``lr_consistency``.
        scale: integer SR factor, required with ``lr``.
        scorers: names (``"auto"``, ``"tws"``, ``"faithful_realism"``, ``"lr_consistency"``,
            ``"consensus"``, ``"vlm"``) or scorer objects (e.g. ``TWSScorer(metric=my_tws)``).
            ``"auto"``: ``tws`` with a reference (``reference_role="select"``), else
            ``faithful_realism`` with ``lr``, else ``consensus``; plus ``vlm`` with a judge.
        judge: a :class:`~semfidelity.selection.judges.Judge` for the ``vlm`` scorer.
        names: optional labels of the candidates (kept in the :class:`Ranking`).
        reference_role: ``"select"`` (the reference ranks through ``tws``) or ``"validate"``
            (``tws`` is computed into :attr:`Ranking.validation` and leaves the order alone: the
            TWS paper's protocol, judge selects and TWS validates). Default: ``"validate"``
            when a judge is given, else ``"select"``.
        validator: the scorer used with ``reference_role="validate"`` (default
            :class:`TWSScorer` with default options).

    Returns:
        :class:`Ranking`; ``combined`` is the mean of the per-scorer ranks; tied candidates
        are listed in :attr:`Ranking.ties`, marked in the ``tie`` column and logged.

    Raises:
        ValueError: fewer than 2 candidates, a scorer without what it needs (``tws`` without
            a reference, ``faithful_realism``/``lr_consistency`` without ``lr``, ``vlm``
            without a judge), an LR image whose size times ``scale`` differs from the
            candidates', unknown scorers, ``tws`` among the scorers with
            ``reference_role="validate"``.
    """
    c, ref, low = _prepare(candidates, reference, lr, scale)
    n = c.shape[0]
    if names is not None and len(names) != n:
        raise ValueError(f"names: expected {n} labels (one per candidate), got {len(names)}")
    has_judge = judge is not None
    role = resolve_reference_role(
        reference_role, has_reference=ref is not None, has_judge=has_judge
    )
    objs = resolve_scorers(
        scorers, has_reference=ref is not None, has_lr=low is not None, has_judge=has_judge,
        reference_role=role,
    )  # fmt: skip
    labels = list(names) if names is not None else [str(i) for i in range(n)]
    ctx = ScoringContext(reference=ref, lr=low, scale=scale, judge=judge)
    scores: dict[str, list[float]] = {}
    ranks: dict[str, list[float]] = {}
    details: dict[str, list[float]] = {}
    warnings: list[str] = []
    for s in objs:
        result = s(c, ctx)
        scores[s.name] = _checked(result.score, n, s.name)
        ranks[s.name] = _average_ranks(torch.tensor(scores[s.name]))
        for key, value in result.details.items():
            details[key] = torch.as_tensor(value, dtype=torch.float64).flatten().tolist()
        warnings.extend(f"{s.name}: {w}" for w in getattr(result, "warnings", ()))
        logger.info("scorer %s: best candidate %d", s.name, ranks[s.name].index(min(ranks[s.name])))
    no_truth = ref is None or role == "validate"  # no ground truth selects: state the scope
    if no_truth and min(c.shape[-2:]) >= 8 and not any(SCOPE_MARK in w for w in warnings):
        stats = pool_statistics(c)
        scope = mixed_methods_warning(stats.detail, stats.noise_sigma)
        warnings.extend([f"scope: {scope}"] if scope else [])
    validation: dict[str, list[float]] = {}
    if ref is not None and role == "validate":
        check = validator if validator is not None else TWSScorer()
        validation[check.name] = _checked(check(c, ctx).score, n, check.name)
    combined = [sum(r[i] for r in ranks.values()) / len(ranks) for i in range(n)]
    first = next(iter(ranks.values()))
    order = sorted(range(n), key=lambda i: (combined[i], first[i], i))
    ranking = Ranking(
        order=order, scores=scores, ranks=ranks, combined=combined, details=details,
        names=labels, validation=validation, warnings=warnings,
    )  # fmt: skip
    for group in ranking.ties:
        warnings.append(
            f"tie: {', '.join(labels[i] for i in group)} share combined rank "
            f"{combined[group[0]]:g}; listed in tie-break order (first scorer's rank, then index)"
        )
    for w in warnings:
        logger.warning("%s", w)
    return ranking


def _checked(score: Any, n: int, name: str) -> list[float]:
    values = torch.as_tensor(score, dtype=torch.float64).flatten()
    if values.shape != (n,) or not torch.isfinite(values).all():
        raise ValueError(
            f"scorer {name!r} must return {n} finite scores, got shape {tuple(values.shape)}"
        )
    return values.tolist()
