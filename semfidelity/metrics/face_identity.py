"""``face_identity``: is the face in the SR image still the same person?

Faces are found in the target (and, with ``detect_on="both"``, also those found only in the
prediction), then each face box is aligned and embedded in *both* images with dlib's ResNet
face-recognition model (:mod:`semfidelity.backbones.face`). Per face, the Euclidean distance
``d`` of the two 128-d descriptors becomes an identity similarity
``max(0, 1 - d / 1.2)``: 1 for identical descriptors, 0.5 at dlib's same-person threshold
(d = 0.6), 0 at twice that. The image scores the lowest face (one changed person is the
failure); ``components`` add the mean, the face count and the largest distance. Range
[0, 1], higher is better.

Without a ground truth, pass the bicubically upscaled LR input as the target: the identity
is then checked against what the camera saw. Images without a detected face score
``empty_score`` (default 1.0; ``components(...)["faces"]`` is 0). See
docs/metrics/face_identity.md for measured numbers and limits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from semfidelity.backbones.face import (
    RECOGNITION_ID,
    SAME_PERSON_DISTANCE,
    SHAPE_ID,
    FaceEmbedder,
)
from semfidelity.io import ImageLike
from semfidelity.metric import Metric
from semfidelity.metrics._checks import check_bool, check_unit_interval
from semfidelity.metrics._regions import Memo, column, coverage, digest, per_pair, region_maps
from semfidelity.registry import register_metric

__all__ = ["FaceIdentity", "FaceMatch", "identity_similarity"]

_DETECT_ON = ("target", "both")


def identity_similarity(distance: float) -> float:
    """Descriptor distance -> similarity in [0, 1]; 0.5 at dlib's same-person threshold."""
    return max(0.0, 1.0 - distance / (2.0 * SAME_PERSON_DISTANCE))


@dataclass(frozen=True)
class FaceMatch:
    """One compared face: its box, the descriptor distance and the similarity."""

    rect: tuple[int, int, int, int]
    distance: float
    source: str  # "target" or "pred": the image whose detector found the face

    @property
    def similarity(self) -> float:
        return identity_similarity(self.distance)

    def as_dict(self) -> dict:
        return {
            "rect": list(self.rect),
            "distance": self.distance,
            "similarity": self.similarity,
            "same_person": self.distance < SAME_PERSON_DISTANCE,
            "source": self.source,
        }


@register_metric(
    "face_identity",
    lower_better=False,
    score_range=(0.0, 1.0),
    differentiable=False,
    min_size=32,
    weights=(SHAPE_ID, RECOGNITION_ID),
    description="identity similarity of the faces in pred vs target (dlib ResNet), worst face",
    has_map=True,
    has_components=True,
    notes="optional extra [face] (dlib); images without a face score empty_score (1.0)",
)
class FaceIdentity(Metric):
    """Lowest per-face identity similarity of ``pred`` vs ``target``; [0, 1], higher is better.

    Options:
        detect_on: ``"both"`` (default) also compares faces found only in the prediction
            (a face the SR model invented); ``"target"`` compares the target's faces only.
        upsample: times the detector doubles the image first (default 1: faces down to about
            40 px; 0 is faster and finds faces from about 80 px).
        detection_threshold: minimum HOG detector score of a face (default 0.5; dlib's own
            default 0 also accepts weak detections, e.g. a shoulder patch in ``astronaut``).
        empty_score: the score of an image without faces (default 1.0; ``float("nan")`` to
            mark it not applicable).
        shape_path, recognition_path: explicit weight files (checked against the manifest).
        cache: remember the readings of the last 16 targets and pairs, so that ``score``,
            ``components``, ``map`` and ``details`` of the same images (and a target broadcast
            over many predictions) run the recogniser once (default ``True``).

    Example:
        >>> import torch, semfidelity
        >>> faces = semfidelity.create_metric("face_identity", device="cpu")  # extra [face]
        >>> x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        >>> faces(x, x)  # no face found: empty_score
        tensor([1., 1.])
        >>> faces.component_names
        ('face_identity', 'mean', 'faces', 'max_distance')

    References:
        Kazemi, Sullivan, "One millisecond face alignment with an ensemble of regression trees",
        CVPR 2014. DOI: 10.1109/CVPR.2014.241. He et al., ResNet, CVPR 2016. arXiv:1512.03385
    """

    def __init__(
        self,
        *,
        device: str | torch.device | None = None,
        as_loss: bool = False,
        detect_on: str = "both",
        upsample: int = 1,
        detection_threshold: float = 0.5,
        empty_score: float = 1.0,
        cache: bool = True,
        shape_path: str | os.PathLike[str] | None = None,
        recognition_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(device=device, as_loss=as_loss)
        if as_loss:
            raise ValueError("as_loss: face_identity is not differentiable (dlib); got True")
        if detect_on not in _DETECT_ON:
            raise ValueError(f"detect_on: expected one of {_DETECT_ON}, got {detect_on!r}")
        if isinstance(upsample, bool) or not isinstance(upsample, int) or not 0 <= upsample <= 3:
            raise ValueError(f"upsample: expected an int in 0..3, got {upsample!r}")
        if isinstance(detection_threshold, bool) or not isinstance(
            detection_threshold, (int, float)
        ):
            raise TypeError(
                f"detection_threshold: expected a float, got {type(detection_threshold).__name__}"
            )
        self.detect_on = detect_on
        self.upsample = upsample
        self.detection_threshold = float(detection_threshold)
        self.empty_score = check_unit_interval("empty_score", empty_score, allow_nan=True)
        self.embedder = FaceEmbedder(shape_path, recognition_path)
        size = 16 if check_bool("cache", cache) else 0
        self._targets = Memo(size)
        self._pairs = Memo(size)

    # ------------------------------------------------------------------ analysis
    def _detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        return self.embedder.detect(image, self.upsample, self.detection_threshold)

    def _target_faces(self, target: np.ndarray) -> list[tuple[tuple, np.ndarray]]:
        def compute():
            return [(box, self.embedder.embed(target, box)) for box in self._detect(target)]

        return self._targets.get(digest(target), compute)

    def _compare(self, pred: np.ndarray, target: np.ndarray) -> list[FaceMatch]:
        def compute():
            faces = self._target_faces(target)
            out = [
                FaceMatch(box, float(np.linalg.norm(e - self.embedder.embed(pred, box))), "target")
                for box, e in faces
            ]
            if self.detect_on == "both":
                known = [box for box, _ in faces]
                for box in self._detect(pred):
                    if coverage(box, known) < 0.5:
                        e_t, e_p = self.embedder.embed(target, box), self.embedder.embed(pred, box)
                        out.append(FaceMatch(box, float(np.linalg.norm(e_t - e_p)), "pred"))
            return out

        return self._pairs.get((digest(pred), digest(target)), compute)

    def _analyse(self, pred: torch.Tensor, target: torch.Tensor) -> list[list[FaceMatch]]:
        return per_pair(pred, target, self._compare)

    def _worst(self, faces: list[FaceMatch]) -> float:
        return min((f.similarity for f in faces), default=self.empty_score)

    # --------------------------------------------------------------- contract
    component_names = ("face_identity", "mean", "faces", "max_distance")

    def score(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        values = [self._worst(f) for f in self._analyse(pred, target)]
        return column(values, pred)

    def compute_components(
        self, pred: torch.Tensor, target: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        results = self._analyse(pred, target)
        return {
            "face_identity": column([self._worst(f) for f in results], pred),
            "mean": column(
                [sum(x.similarity for x in f) / len(f) if f else self.empty_score for f in results],
                pred,
            ),
            "faces": column([len(f) for f in results], pred),
            "max_distance": column(
                [max((x.distance for x in f), default=0.0) for f in results], pred
            ),
        }

    def compute_map(self, pred: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
        return region_maps(pred, self._analyse(pred, target), lambda x: x.similarity)

    def details(self, pred: ImageLike, target: ImageLike) -> list[list[dict]]:
        """Per image, every compared face, least similar first: ``rect``, ``distance``,
        ``similarity``, ``same_person`` (distance < 0.6) and ``source``."""
        p, t = self.prepare(pred, target)
        return [
            [x.as_dict() for x in sorted(f, key=lambda x: x.distance, reverse=True)]
            for f in self._analyse(p, t)
        ]
