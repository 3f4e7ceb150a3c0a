"""semfid-score with text_fidelity and face_identity (real models): scores, components, maps."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from semfidelity.cli.score import main

DATA = Path(__file__).resolve().parents[1] / "data"


def _plate(text: str) -> Image.Image:
    img = Image.new("RGB", (320, 104), "white")
    font = ImageFont.truetype(str(DATA / "text_face" / "DejaVuSans.ttf"), 28)
    draw = ImageDraw.Draw(img)
    draw.text((12, 8), text, fill="black", font=font)
    draw.text((12, 52), "ROAD NO 58", fill="black", font=font)
    return img


def test_score_components_and_maps(tmp_path):
    from skimage import data

    ref, pred, maps, out = (tmp_path / n for n in ("ref", "pred", "maps", "s.csv"))
    ref.mkdir(), pred.mkdir()
    _plate("PLATE 3741").save(ref / "plate.png")
    _plate("PLATE 8741").save(pred / "plate.png")
    face = Image.fromarray(data.astronaut()).crop((100, 0, 356, 256))
    face.save(ref / "face.png")
    face.filter(ImageFilter.GaussianBlur(2)).save(pred / "face.png")
    args = [str(ref), str(pred), "--metrics", "text_fidelity,face_identity", "--out", str(out)]
    assert main([*args, "--components", "--maps", str(maps)]) == 0
    with open(out, newline="") as fh:
        rows = {r["key"]: r for r in csv.DictReader(fh)}
    plate, portrait = rows["plate"], rows["face"]
    assert float(plate["text_fidelity"]) == pytest.approx(0.95)
    assert float(plate["text_fidelity.worst_region"]) == pytest.approx(0.9)
    assert float(plate["face_identity"]) == 1.0 and float(plate["face_identity.faces"]) == 0
    assert float(portrait["face_identity.faces"]) == 1
    assert 0.5 < float(portrait["face_identity"]) < 0.9
    for metric in ("text_fidelity", "face_identity"):
        for key in ("plate", "face"):
            assert (maps / metric / f"{key}.png").is_file()
