"""face_identity with dlib's real face models on real photographs.

Faces: scikit-image's ``astronaut`` (Eileen Collins) and matplotlib's ``grace_hopper.jpg``
(tests/data/text_face, public domain; see SOURCES.md). The numbers asserted here are the ones
docs/metrics/face_identity.md reports.
"""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter
from repo_data import DATA

from semfidelity import create_metric, metric_info

FACE = (175, 76, 266, 167)  # astronaut's face box as dlib's HOG detector finds it


def tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(buf).convert("RGB")


def bicubic(img: Image.Image, scale: int) -> Image.Image:
    w, h = img.size
    return img.resize((w // scale, h // scale), Image.BICUBIC).resize((w, h), Image.BICUBIC)


@pytest.fixture(scope="module")
def metric():
    return create_metric("face_identity", device="cpu")


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="module")
def swapped(astronaut) -> Image.Image:
    """astronaut with Grace Hopper's face pasted over hers: same place, another person."""
    hopper = Image.open(DATA / "text_face" / "grace_hopper.jpg").convert("RGB")
    face = hopper.crop((160, 109, 387, 346))  # her face box (180, 139, 367, 326) + margin
    x0, y0, x1, y1 = FACE
    out = astronaut.copy()
    out.paste(face.resize((x1 - x0 + 40, y1 - y0 + 50)), (x0 - 20, y0 - 30))
    return out


def test_metadata_range_orientation_and_weights():
    info = metric_info("face_identity")
    assert info["score_range"] == [0.0, 1.0] and not info["lower_better"]
    assert info["weights"] == ["dlib-shape-predictor-5", "dlib-face-recognition-resnet-v1"]


def test_same_face_degraded_scores_above_a_different_face(metric, astronaut, swapped):
    gt = tensor(astronaut)
    assert metric(gt, gt).item() == 1.0
    [face] = metric.details(gt, gt)[0]  # the shoulder-patch false positive is filtered
    assert tuple(face["rect"]) == FACE
    blurred = metric(tensor(astronaut.filter(ImageFilter.GaussianBlur(2))), gt).item()
    compressed = metric(tensor(jpeg(astronaut, 20)), gt).item()
    other = metric(tensor(swapped), gt).item()
    assert blurred == pytest.approx(0.686, abs=0.01)
    assert compressed == pytest.approx(0.839, abs=0.02)  # JPEG encoders may differ a little
    assert other < 0.5 < blurred  # different person by dlib's threshold; same person
    assert other < blurred - 0.15
    swapped_face = metric.details(tensor(swapped), gt)[0][0]
    assert not swapped_face["same_person"] and swapped_face["distance"] > 0.6


def test_against_the_upscaled_lr_input(metric, astronaut, swapped):
    """No ground truth: compare with the bicubically upscaled x4 LR input."""
    lr_up = tensor(bicubic(astronaut, 4))
    faithful = metric(tensor(astronaut), lr_up).item()
    hallucinated = metric(tensor(swapped), lr_up).item()
    assert faithful > 0.6 and hallucinated < 0.5


def test_map_marks_the_drifted_face(metric, astronaut, swapped):
    gt = tensor(astronaut)
    heat = metric.map(tensor(swapped), gt)
    sim = metric(tensor(swapped), gt).item()
    x0, y0, x1, y1 = FACE
    assert heat.shape == (1, 1, 512, 512)
    assert torch.allclose(heat[0, 0, y0:y1, x0:x1], torch.tensor(sim))
    assert heat[0, 0, 400, 50].item() == 1.0 and heat.min().item() == pytest.approx(sim)


def test_components_batch_and_broadcast(metric, astronaut, swapped):
    gt = tensor(astronaut)
    preds = torch.cat([gt, tensor(swapped)])
    parts = metric.components(preds, gt)
    assert parts["faces"].tolist() == [1, 1]
    assert torch.equal(parts["face_identity"], metric(preds, gt))
    assert torch.equal(parts["mean"], parts["face_identity"])  # one face: min == mean
    single = torch.cat([metric(preds[i : i + 1], gt) for i in range(2)])
    assert torch.equal(single, metric(preds, gt.expand(2, -1, -1, -1)))


def test_images_without_faces_return_the_documented_value(metric):
    from skimage import data

    coffee = tensor(Image.fromarray(data.coffee()).crop((0, 0, 200, 160)))
    parts = metric.components(coffee, coffee)
    assert parts["face_identity"].item() == 1.0 and parts["faces"].item() == 0
    nan_metric = create_metric("face_identity", device="cpu", empty_score=math.nan)
    assert math.isnan(nan_metric(coffee, coffee).item())


def test_embedding_is_dlibs_own_descriptor(astronaut):
    import dlib

    from semfidelity import weights
    from semfidelity.backbones.face import FaceEmbedder

    image = np.asarray(astronaut)
    ours = FaceEmbedder()
    sp = dlib.shape_predictor(str(weights.resolve("dlib-shape-predictor-5")))
    net = dlib.face_recognition_model_v1(str(weights.resolve("dlib-face-recognition-resnet-v1")))
    x0, y0, x1, y1 = FACE
    expected = np.asarray(
        net.compute_face_descriptor(image, sp(image, dlib.rectangle(x0, y0, x1 - 1, y1 - 1)))
    )
    assert ours.detect(image, 1, 0.5) == [FACE]
    assert np.allclose(ours.embed(image, FACE), expected, atol=1e-6)


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)
    with pytest.raises(ImportError, match=r"semfidelity\[face\]"):
        create_metric("face_identity", device="cpu")


def test_bad_options():
    with pytest.raises(ValueError, match="upsample"):
        create_metric("face_identity", device="cpu", upsample=-1)
    with pytest.raises(ValueError, match="not differentiable"):
        create_metric("face_identity", device="cpu", as_loss=True)
    with pytest.raises(ValueError, match="empty_score"):
        create_metric("face_identity", device="cpu", empty_score=3.0)


def test_cache_off_recomputes_the_same_scores(metric, astronaut, swapped):
    uncached = create_metric("face_identity", device="cpu", cache=False)
    pair = (tensor(swapped), tensor(astronaut))
    assert torch.equal(uncached(*pair), metric(*pair))
    assert uncached._pairs._items == {}  # nothing kept
