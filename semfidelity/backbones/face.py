"""dlib's face detector, 5-point aligner and ResNet face-recognition model (128-d descriptors).

The pipeline of ``dlib.face_recognition_model_v1`` as dlib documents it: HOG frontal-face
detector (built into dlib, no weight file) -> 5-point landmarks (``shape_predictor``) ->
aligned 150x150 chip with 25% padding (``get_face_chip``) -> 128-d descriptor. Two
descriptors closer than 0.6 (Euclidean) are the same person by dlib's own threshold (99.38%
on LFW). The weight files come from the pip package ``face-recognition-models`` (CC0), found
through the weights manifest without importing that package (its ``__init__`` imports
``pkg_resources``, which current setuptools no longer ships). dlib runs on the CPU.

dlib is an optional extra: ``pip install 'semfidelity[face]'``.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

from semfidelity.weights import resolve

__all__ = ["FACE_EXTRA", "FaceEmbedder", "import_dlib", "SAME_PERSON_DISTANCE"]

FACE_EXTRA = "pip install 'semfidelity[face]'"
SHAPE_ID = "dlib-shape-predictor-5"
RECOGNITION_ID = "dlib-face-recognition-resnet-v1"
SAME_PERSON_DISTANCE = 0.6
CHIP_SIZE, CHIP_PADDING = 150, 0.25  # what compute_face_descriptor(image, shape) uses

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends)


def import_dlib() -> ModuleType:
    """The ``dlib`` module, or ``ImportError`` naming the extra that installs it."""
    try:
        import dlib
    except ImportError as exc:
        raise ImportError(
            f"face_identity needs dlib, an optional extra: {FACE_EXTRA} (import failed: {exc})"
        ) from exc
    return dlib


class FaceEmbedder:
    """Detect faces and embed them. Inputs are HWC uint8 RGB NumPy arrays.

    Args:
        shape_path, recognition_path: explicit weight files (else the manifest resolution:
            ``SEMFID_WEIGHTS_DIR``, then the installed ``face-recognition-models`` package).
    """

    def __init__(
        self,
        shape_path: str | os.PathLike[str] | None = None,
        recognition_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._dlib = dlib = import_dlib()
        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(str(resolve(SHAPE_ID, shape_path)))
        self.model = dlib.face_recognition_model_v1(str(resolve(RECOGNITION_ID, recognition_path)))

    def detect(self, image: np.ndarray, upsample: int, threshold: float) -> list[Box]:
        """Face boxes whose HOG detector score reaches ``threshold``, best first.

        ``upsample`` doubles the image that many times first (finds faces down to about
        80 / 2**upsample pixels).
        """
        rects, scores, _ = self.detector.run(image, upsample, threshold)
        order = sorted(range(len(rects)), key=lambda i: -scores[i])
        return [
            (rects[i].left(), rects[i].top(), rects[i].right() + 1, rects[i].bottom() + 1)
            for i in order
        ]

    def embed(self, image: np.ndarray, box: Box) -> np.ndarray:
        """128-d descriptor of the face inside ``box`` of ``image`` (landmarks found in this
        image, so a face that moved or changed shape inside the box is aligned as it is)."""
        dlib = self._dlib
        x0, y0, x1, y1 = box
        shape = self.shape_predictor(image, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.asarray(self.model.compute_face_descriptor(chip), dtype=np.float64)
