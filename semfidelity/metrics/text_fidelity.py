"""``text_fidelity``: does the SR image still say what the reference says?

Text is found and read with EasyOCR (CRAFT detector + english_g2 recogniser, see
:mod:`semfidelity.backbones.ocr`). Every text region detected in the target, plus every region
detected in the prediction that no target region covers (text the SR model invented), is read
in both images at the same place; each region scores ``1 - edit distance / length`` (one minus
its character error rate, length = the longer of the two readings) and the image scores the
length-weighted mean, ``1 - sum(edits) / sum(lengths)``. Range [0, 1], higher is better.

Images without readable text score ``empty_score`` (default 1.0: nothing to contradict;
``components(...)["chars"]`` is 0 for them, so they can be filtered). docs/metrics/text_fidelity.md
has the measured behaviour and limits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from semfidelity.backbones.ocr import DETECTOR_ID, RECOGNIZER_ID, TextReader, TextRegion
from semfidelity.io import ImageLike
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_bool, check_unit_interval
from semfidelity.metrics._regions import (
    Memo,
    column,
    coverage,
    digest,
    levenshtein,
    normalise_text,
    per_pair,
    region_maps,
)
from semfidelity.registry import register_metric

__all__ = ["TextFidelity", "RegionReading"]

_DETECT_ON = ("target", "both")


@dataclass(frozen=True)
class RegionReading:
    """One compared region: where, what each image says, and how far apart that is."""

    rect: tuple[int, int, int, int]
    target_text: str
    pred_text: str
    target_confidence: float
    pred_confidence: float
    edits: int
    length: int
    source: str  # "target" or "pred": the image whose detector found the region

    @property
    def score(self) -> float:
        return 1.0 - self.edits / self.length

    def as_dict(self) -> dict:
        return {
            "rect": list(self.rect),
            "target_text": self.target_text,
            "pred_text": self.pred_text,
            "score": self.score,
            "edits": self.edits,
            "length": self.length,
            "target_confidence": self.target_confidence,
            "pred_confidence": self.pred_confidence,
            "source": self.source,
        }


@register_metric(
    "text_fidelity",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=False,
    min_size=32,
    weights=(DETECTOR_ID, RECOGNIZER_ID),
    description="1 - character error rate of the text EasyOCR reads in pred vs target",
    has_map=True,
    has_components=True,
    notes="optional extra [text] (EasyOCR); images without text score empty_score (1.0)",
)
class TextFidelity(Metric):
    """Agreement of the text read in ``pred`` and ``target`` (EasyOCR), in [0, 1], higher is better.

    Options:
        detect_on: ``"both"`` (default) compares the target's regions and the regions found
            only in the prediction (invented text); ``"target"`` compares the target's only.
        case_sensitive: compare letter case too (default ``False``: OCR flips the case of
            c/o/s/v/w/x/z between a sharp and a slightly soft copy of the same glyph).
        min_confidence: a region counts when either reading reaches this EasyOCR confidence
            (default 0.3: CRAFT also fires on texture that reads as noise in both images).
        empty_score: the score of an image without text (default 1.0; ``float("nan")`` to mark
            it not applicable).
        detector_path, recognizer_path: explicit weight files (checked against the manifest).
        cache: remember the readings of the last 16 targets and pairs, so that ``score``,
            ``components``, ``map`` and ``details`` of the same images (and a target broadcast
            over many predictions) run the recogniser once (default ``True``).

    Example:
        >>> import torch, semfidelity
        >>> text = semfidelity.create_metric("text_fidelity", device="cpu")  # extra [text]
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> text(x, x)  # no text found: empty_score
        tensor([1., 1.])
        >>> text.component_names
        ('text_fidelity', 'worst_region', 'regions', 'chars', 'edits')

    References:
        Baek et al., "Character region awareness for text detection" (CRAFT), CVPR 2019.
        arXiv:1904.01941. Shi, Bai, Yao, "An end-to-end trainable neural network for image-based
        sequence recognition" (CRNN), IEEE TPAMI 2017. arXiv:1507.05717
    """

    def __init__(
        self,
        *,
        device: str | torch.device | None = None,
        as_loss: bool = False,
        detect_on: str = "both",
        case_sensitive: bool = False,
        min_confidence: float = 0.3,
        empty_score: float = 1.0,
        cache: bool = True,
        detector_path: str | os.PathLike[str] | None = None,
        recognizer_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if as_loss:
            raise ValueError("as_loss: text_fidelity is not differentiable (OCR); got True")
        if detect_on not in _DETECT_ON:
            raise ValueError(f"detect_on: expected one of {_DETECT_ON}, got {detect_on!r}")
        self.detect_on = detect_on
        self.case_sensitive = check_bool("case_sensitive", case_sensitive)
        self.min_confidence = check_unit_interval("min_confidence", min_confidence)
        self.empty_score = check_unit_interval("empty_score", empty_score, allow_nan=True)
        self.reader = TextReader(self.device, detector_path, recognizer_path)
        # Submodules, so that .to(device), eval() and freezing reach the networks.
        self.detector = self.reader.detector
        self.recognizer = self.reader.recognizer
        size = 16 if check_bool("cache", cache) else 0
        self._targets = Memo(size)
        self._pairs = Memo(size)

    # ------------------------------------------------------------------ analysis
    def _read_target(self, target: np.ndarray) -> tuple[list[TextRegion], np.ndarray]:
        def compute():
            grey = self.reader.grey(target)
            regions = self.reader.detect([target])[0]
            return self.reader.read(grey, regions), grey

        return self._targets.get(digest(target), compute)

    def _compare(self, pred: np.ndarray, target: np.ndarray) -> list[RegionReading]:
        def compute():
            t_regions, t_grey = self._read_target(target)
            extra: list[TextRegion] = []
            if self.detect_on == "both":
                t_rects = [r.rect for r in t_regions]
                found = self.reader.detect([pred])[0]
                extra = [r for r in found if coverage(r.rect, t_rects) < 0.5]
            t_extra = self.reader.read(t_grey, extra)
            p_read = self.reader.read(self.reader.grey(pred), t_regions + extra)
            sources = ["target"] * len(t_regions) + ["pred"] * len(extra)
            return self._score_regions(t_regions + t_extra, p_read, sources)

        return self._pairs.get((digest(pred), digest(target)), compute)

    def _score_regions(
        self, t_read: list[TextRegion], p_read: list[TextRegion], sources: list[str]
    ) -> list[RegionReading]:
        out = []
        for t, p, source in zip(t_read, p_read, sources):
            if max(t.confidence, p.confidence) < self.min_confidence:
                continue
            a = normalise_text(t.text, self.case_sensitive)
            b = normalise_text(p.text, self.case_sensitive)
            length = max(len(a), len(b))
            if length == 0:
                continue
            out.append(
                RegionReading(
                    t.rect, t.text, p.text, t.confidence, p.confidence, levenshtein(a, b),
                    length, source,
                )
            )  # fmt: skip
        return out

    def _analyse(self, pred: torch.Tensor, target: torch.Tensor) -> list[list[RegionReading]]:
        return per_pair(pred, target, self._compare)

    def _total(self, regions: list[RegionReading]) -> float:
        length = sum(r.length for r in regions)
        if length == 0:
            return self.empty_score
        return 1.0 - sum(r.edits for r in regions) / length

    # --------------------------------------------------------------- contract
    component_names = ("text_fidelity", "worst_region", "regions", "chars", "edits")

    def score(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        values = [self._total(r) for r in self._analyse(pred, target)]
        return column(values, pred)

    def compute_components(
        self, pred: torch.Tensor, target: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        results = self._analyse(pred, target)
        return {
            "text_fidelity": column([self._total(r) for r in results], pred),
            "worst_region": column(
                [min((x.score for x in r), default=self.empty_score) for r in results], pred
            ),
            "regions": column([len(r) for r in results], pred),
            "chars": column([sum(x.length for x in r) for r in results], pred),
            "edits": column([sum(x.edits for x in r) for r in results], pred),
        }

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return region_maps(pred, self._analyse(pred, target), lambda x: x.score)

    def details(self, pred: ImageLike, target: ImageLike, k: int | None = 3) -> list[list[dict]]:
        """Per image, the ``k`` worst regions (all when ``None``), worst first, as dicts:
        ``rect``, ``target_text``, ``pred_text``, ``score``, ``edits``, ``length``, confidences
        and ``source`` (which detector found the region)."""
        p, t = self.prepare(pred, target)
        out = []
        for regions in self._analyse(p, t):
            ranked = sorted(regions, key=lambda r: (r.score, -r.length))
            out.append([r.as_dict() for r in (ranked if k is None else ranked[:k])])
        return out
