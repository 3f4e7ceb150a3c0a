"""Training and evaluation: pair datasets, degradations, synthetic pairs, train/eval loops, Hub.

>>> from semfidelity.training import degrade, make_pairs, evaluate_metrics, push_to_hub
>>> from semfidelity.training.train import TrainConfig, train   # needs the deep backbones

See ``docs/training.md`` for the recipe from a folder of images to published heads.
"""

from semfidelity.training.dataset import PairDataset, PairRecord, make_loader, read_pairs
from semfidelity.training.degrade import degrade
from semfidelity.training.evaluate import evaluate_metrics, format_table
from semfidelity.training.hub import PushResult, model_card, push_to_hub
from semfidelity.training.study import mos_from_votes
from semfidelity.training.synth import make_pairs

__all__ = [
    "PairDataset",
    "PairRecord",
    "PushResult",
    "degrade",
    "evaluate_metrics",
    "format_table",
    "make_loader",
    "make_pairs",
    "mos_from_votes",
    "model_card",
    "push_to_hub",
    "read_pairs",
]
