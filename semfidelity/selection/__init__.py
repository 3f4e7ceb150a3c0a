"""Trustworthy selection among super-resolution samples: rank, judge, ensemble.

>>> from semfidelity.selection import rank, ensemble
>>> ranking = rank(samples, lr=lr, scale=4)   # no ground truth: LR gate, then realism
>>> image, uncertainty = ensemble(samples, ranking, k=5)

VLM judges live in :mod:`semfidelity.selection.judges` (``OpenAIJudge``, ``HFJudge``).
"""

from semfidelity.selection.ensemble import ensemble
from semfidelity.selection.faithful import FaithfulRealismScorer
from semfidelity.selection.rank import Ranking, rank
from semfidelity.selection.scorers import (
    ConsensusScorer,
    LRConsistencyScorer,
    Scorer,
    ScorerResult,
    ScoringContext,
    TWSScorer,
    VLMScorer,
)

__all__ = [
    "rank",
    "Ranking",
    "ensemble",
    "Scorer",
    "ScorerResult",
    "ScoringContext",
    "TWSScorer",
    "FaithfulRealismScorer",
    "LRConsistencyScorer",
    "ConsensusScorer",
    "VLMScorer",
]
