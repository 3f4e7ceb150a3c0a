"""Scorer names -> scorer classes, and building a scorer from a name or an object."""

from __future__ import annotations

from semfidelity.selection.faithful import FaithfulRealismScorer
from semfidelity.selection.scorers import (
    ConsensusScorer,
    LRConsistencyScorer,
    Scorer,
    TWSScorer,
    VLMScorer,
)

__all__ = ["SCORERS", "make_scorer"]

SCORERS: dict[str, type] = {
    "tws": TWSScorer,
    "faithful_realism": FaithfulRealismScorer,
    "lr_consistency": LRConsistencyScorer,
    "consensus": ConsensusScorer,
    "vlm": VLMScorer,
}


def make_scorer(spec: str | Scorer) -> Scorer:
    """A scorer from a registered name (default options) or a scorer object (returned as is)."""
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in SCORERS:
            raise ValueError(
                f"scorers: unknown scorer {spec!r}; expected one of "
                f"{', '.join(['auto', *SCORERS])} or a Scorer object"
            )
        return SCORERS[key]()
    if isinstance(spec, Scorer):
        return spec
    raise TypeError(
        f"scorers: expected scorer names or Scorer objects (name + __call__), got "
        f"{type(spec).__name__}"
    )
