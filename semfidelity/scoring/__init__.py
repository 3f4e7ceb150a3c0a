"""Batch scoring of image folders (the library behind ``semfid-score``) and its HTML reports.

>>> from semfidelity.scoring import ScoreConfig, run_scoring
>>> failed = run_scoring(ScoreConfig("ref/", "pred/", ["psnr", "ssim"], out="scores.csv"))

Modules, in the order an image meets them: :mod:`~semfidelity.scoring.pairs` (which files
pair up), :mod:`~semfidelity.scoring.decoding` (files to tensors, size-bucketed batches),
:mod:`~semfidelity.scoring.job` (metrics and columns), :mod:`~semfidelity.scoring.batches`
(batches to rows), :mod:`~semfidelity.scoring.scorefile` (crash-safe CSV/JSONL),
:mod:`~semfidelity.scoring.heatmap` (map PNGs), :mod:`~semfidelity.scoring.distributed`
(``torchrun``), :mod:`~semfidelity.scoring.run` (the whole run) and
:mod:`~semfidelity.scoring.summary` (what is printed at the end); afterwards
:mod:`~semfidelity.scoring.report` turns a score file into an HTML report (``semfid-report``).
"""

from semfidelity.scoring.config import ScoreConfig, UsageError
from semfidelity.scoring.run import run_scoring

__all__ = ["ScoreConfig", "UsageError", "run_scoring"]
