"""text_fidelity with the real EasyOCR weights (CRAFT + english_g2) on rendered and real text.

The numbers asserted here are the ones docs/metrics/text_fidelity.md reports.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont
from repo_data import DATA

from semfidelity import create_metric, metric_info

FONT = DATA / "text_face" / "DejaVuSans.ttf"
LINES = ("PLATE 3741", "ROAD NO 58")


def render(lines, size=(320, 104), font_size=28) -> Image.Image:
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), font_size)
    for i, line in enumerate(lines):
        draw.text((12, 8 + i * int(font_size * 1.6)), line, fill="black", font=font)
    return img


def bicubic(img: Image.Image, scale: int) -> Image.Image:
    w, h = img.size
    return img.resize((w // scale, h // scale), Image.BICUBIC).resize((w, h), Image.BICUBIC)


def tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()


@pytest.fixture(scope="module")
def metric():
    return create_metric("text_fidelity", device="cpu")


@pytest.fixture(scope="module")
def plate():
    return tensor(render(LINES))


def test_metadata_range_orientation_and_weights():
    info = metric_info("text_fidelity")
    assert info["score_range"] == [0.0, 1.0] and not info["lower_better"]
    assert info["weights"] == ["easyocr-craft-mlt-25k", "easyocr-english-g2"]
    assert info["has_map"] and info["has_components"] and not info["differentiable"]


@pytest.mark.parametrize(
    "changed",
    [("PLATE 8741", "ROAD NO 58"), ("PLATE 3741", "ROAD NQ 58")],
    ids=["3->8", "O->Q"],
)
def test_one_changed_character_lowers_the_score_while_psnr_ssim_prefer_it(metric, plate, changed):
    pred = tensor(render(changed))
    x2 = tensor(bicubic(render(LINES), 2))
    assert metric(plate, plate).item() == 1.0
    parts = metric.components(pred, plate)
    # 1 edit in 20 characters; the changed line alone: 1 in 10.
    assert parts["text_fidelity"].item() == pytest.approx(0.95, abs=1e-6)
    assert parts["worst_region"].item() == pytest.approx(0.9, abs=1e-6)
    assert parts["chars"].item() == 20 and parts["edits"].item() == 1
    assert metric(x2, plate).item() == 1.0  # bicubic x2 of the same text reads the same
    # PSNR and SSIM rank the changed digit/letter *above* the blurrier but faithful x2 image.
    psnr, ssim = create_metric("psnr", device="cpu"), create_metric("ssim", device="cpu")
    assert psnr(pred, plate) > psnr(x2, plate) and psnr(pred, plate) > 27
    assert ssim(pred, plate) > ssim(x2, plate) and ssim(pred, plate) > 0.99
    worst = metric.details(pred, plate, k=1)[0][0]
    changed_line = [line for line, orig in zip(changed, LINES) if line != orig][0]
    original_line = LINES[changed.index(changed_line)]
    assert (worst["target_text"], worst["pred_text"]) == (original_line, changed_line)
    assert worst["score"] == pytest.approx(0.9)


def test_bicubic_x4_keeps_legible_text_near_one(metric):
    big = render(LINES, size=(448, 144), font_size=40)
    assert metric(tensor(bicubic(big, 4)), tensor(big)).item() == 1.0
    small = render(LINES)  # 28 px glyphs are 7 px in the x4 LR image: no longer legible
    assert metric(tensor(bicubic(small, 4)), tensor(small)).item() < 0.7


def test_real_scanned_text_from_skimage(metric):
    from skimage import data

    title = Image.fromarray(data.page()).convert("RGB").crop((0, 0, 384, 40))
    page = tensor(title)
    assert [r["target_text"] for r in metric.details(page, page)[0]] == [
        "Region-based segmentation"
    ]
    assert metric(tensor(bicubic(title, 2)), page).item() == 1.0


def test_map_marks_the_changed_region_only(metric, plate):
    pred = tensor(render(("PLATE 8741", "ROAD NO 58")))
    heat = metric.map(pred, plate)
    assert heat.shape == (1, 1, 104, 320)
    x0, y0, x1, y1 = metric.details(pred, plate, k=1)[0][0]["rect"]
    assert torch.allclose(heat[0, 0, y0:y1, x0:x1], torch.tensor(0.9))
    assert heat.min().item() == pytest.approx(0.9) and heat[0, 0, 100, 300].item() == 1.0
    assert (heat < 1).float().mean() < 0.2  # the unchanged line and background stay 1


def test_batch_broadcast_and_invariance(metric, plate):
    preds = torch.cat([plate, tensor(render(("PLATE 8741", "ROAD NO 58")))])
    batch = metric(preds, plate)
    single = torch.cat([metric(preds[i : i + 1], plate) for i in range(2)])
    assert batch.shape == (2,) and batch.dtype == torch.float32
    assert torch.equal(batch, single) and torch.equal(
        batch, metric(preds, plate.expand(2, -1, -1, -1))
    )


def test_images_without_text_return_the_documented_value(metric):
    from skimage import data

    coffee = tensor(Image.fromarray(data.coffee()).crop((0, 0, 160, 120)))
    parts = metric.components(coffee, coffee)
    assert parts["text_fidelity"].item() == 1.0 and parts["chars"].item() == 0
    flat = torch.full((1, 3, 64, 64), 0.5)
    assert metric(flat, flat).item() == 1.0
    nan_metric = create_metric("text_fidelity", device="cpu", empty_score=math.nan)
    assert math.isnan(nan_metric(flat, flat).item())


def test_text_invented_by_the_prediction_is_caught(metric):
    blank = tensor(Image.new("RGB", (320, 104), "white"))
    invented = tensor(render(("HELLO 42",)))
    worst = metric.details(invented, blank)[0][0]
    assert worst["source"] == "pred" and worst["pred_text"] == "HELLO 42"
    assert metric(invented, blank).item() == 0.0
    only_target = create_metric("text_fidelity", device="cpu", detect_on="target")
    assert only_target(invented, blank).item() == 1.0


def test_reads_as_easyocr_reader_does(plate, tmp_path, monkeypatch):
    """Our network construction and safe loading give EasyOCR's own readings."""
    import easyocr

    from semfidelity import weights
    from semfidelity.backbones.ocr import TextReader

    folder = weights.resolve("easyocr-english-g2").parent  # the pip package holds both files
    monkeypatch.setattr(sys, "path", list(sys.path))  # the Reader appends its network folder
    reader = easyocr.Reader(
        ["en"], gpu=False, model_storage_directory=str(folder), download_enabled=False,
        verbose=False, quantize=False, user_network_directory=str(tmp_path),
    )  # fmt: skip
    grey = (plate[0, 0] * 255).round().to(torch.uint8).numpy()  # R = G = B
    expected = [(text, conf) for _, text, conf in reader.readtext(grey)]
    ours = TextReader(torch.device("cpu"))
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    got = [(r.text, r.confidence) for r in ours.read(ours.grey(rgb), ours.detect([rgb])[0])]
    assert [t for t, _ in got] == [t for t, _ in expected] == list(LINES)
    assert np.allclose([c for _, c in got], [c for _, c in expected], atol=1e-6)


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "easyocr", None)
    with pytest.raises(ImportError, match=r"semfidelity\[text\]"):
        create_metric("text_fidelity", device="cpu")


def test_bad_options():
    with pytest.raises(ValueError, match="detect_on"):
        create_metric("text_fidelity", device="cpu", detect_on="pred")
    with pytest.raises(ValueError, match="not differentiable"):
        create_metric("text_fidelity", device="cpu", as_loss=True)
    with pytest.raises(ValueError, match="min_confidence"):
        create_metric("text_fidelity", device="cpu", min_confidence=2.0)
