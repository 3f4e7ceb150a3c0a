"""A small scoring run for the report tests: noise grows with the index, one corrupt file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from semfidelity.cli.score import main as score_main

NOISE = (2, 6, 12, 20, 30, 45)  # pair i gets +-NOISE[i] uniform noise: psnr falls with i


def make_run(root: Path) -> dict[str, Path]:
    """Score ``root/ref`` vs ``root/pred`` (psnr, ssim with maps); returns the paths."""
    rng = np.random.default_rng(0)
    ref, pred = root / "ref", root / "pred"
    ref.mkdir(parents=True)
    pred.mkdir(parents=True)
    yy, xx = np.mgrid[0:48, 0:64]
    for i, amp in enumerate(NOISE):
        img = np.stack([(xx * 4 + i * 20) % 256, (yy * 5) % 256, (xx + yy) * 2 % 256], -1)
        img = img.astype(np.uint8)
        noisy = np.clip(img.astype(int) + rng.integers(-amp, amp + 1, img.shape), 0, 255)
        Image.fromarray(img).save(ref / f"p{i}.png")
        Image.fromarray(noisy.astype(np.uint8)).save(pred / f"p{i}.png")
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(ref / "broken.png")
    (pred / "broken.png").write_bytes(b"not a png")
    out, maps = root / "scores.csv", root / "maps"
    code = score_main(
        [str(ref), str(pred), "--metrics", "psnr,ssim", "--out", str(out), "--maps", str(maps)]
    )
    assert code == 1  # the corrupt pair is an error row
    return {"ref": ref, "pred": pred, "scores": out, "maps": maps}


def report_data(html_path: Path) -> dict:
    """The JSON the report's script renders from."""
    text = html_path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))
