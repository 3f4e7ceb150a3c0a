"""The bad-input matrix: each kind of bad input through the Python API and through semfid-score.

Every row names the expected exception type and message fragment of the Python API, and the
expected exit code and message fragment of the CLI (found in its stdout, stderr or output rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import toy_metrics
from PIL import Image

import semfidelity
from semfidelity.cli.score import main
from semfidelity.scoring.decoding import PairDataset, SizeBatcher, make_loader
from semfidelity.scoring.heatmap import save_heatmap
from semfidelity.scoring.pairs import discover_pairs
from semfidelity.scoring.scorefile import OutputError, file_format, read_rows

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="module")
def _toys():
    with toy_metrics.registered():
        yield


def png(path: Path, size=(16, 16), value=None, fmt=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (
        RNG.integers(0, 256, (*size, 3), dtype=np.uint8)
        if value is None
        else (np.full((*size, 3), value, np.uint8))
    )
    Image.fromarray(arr).save(path, format=fmt)
    return path


def pair(tmp: Path, pred_bytes: bytes | None = None, **kw) -> tuple[Path, Path]:
    ref = png(tmp / "ref" / "a.png")
    pred = tmp / "pred" / "a.png"
    if pred_bytes is None:
        png(pred, **kw)
    else:
        pred.parent.mkdir(parents=True, exist_ok=True)
        pred.write_bytes(pred_bytes)
    return ref, pred


def truncated(tmp: Path, fmt: str) -> bytes:
    data = png(tmp / f"full.{fmt}", size=(64, 64), fmt="JPEG" if fmt == "jpg" else None)
    return data.read_bytes()[: data.stat().st_size // 2]


def corrupt_crc(tmp: Path) -> bytes:
    data = bytearray(png(tmp / "full.png", size=(32, 32)).read_bytes())
    i = data.index(b"IDAT") + 8
    data[i : i + 4] = bytes(b ^ 0xFF for b in data[i : i + 4])
    return bytes(data)


def folders(tmp: Path, refs: list[str], preds: list[str]) -> tuple[Path, Path]:
    for folder, names in (("r", refs), ("p", preds)):
        for n in names:
            png(tmp / folder / n, fmt="BMP" if n.endswith(".bmp") else None)
    return tmp / "r", tmp / "p"


def psnr(ref: Path, pred: Path):
    return semfidelity.create_metric("psnr", device="cpu")(pred, ref)


@dataclass
class Case:
    kind: str
    setup: Callable[[Path], tuple[Path, Path]]
    api: Callable[[Path, Path, Path], object] | None
    api_error: tuple[type, str] | None
    cli: list[str]
    cli_code: int
    cli_msg: str
    metrics: str = "psnr"
    patch: dict = field(default_factory=dict)


CASES = [
    Case("empty file", lambda t: pair(t, b""), lambda r, p, t: psnr(r, p),
         (ValueError, "cannot decode"), [], 1, "decode: not an image"),
    Case("text file named .png", lambda t: pair(t, b"just text"), lambda r, p, t: psnr(r, p),
         (ValueError, "cannot decode"), [], 1, "decode: not an image"),
    Case("HTML page named .png", lambda t: pair(t, b"<!doctype html><html></html>"),
         lambda r, p, t: psnr(r, p), (ValueError, "cannot decode"), [], 1, "decode: not an image"),
    Case("truncated PNG", lambda t: pair(t, truncated(t, "png")), lambda r, p, t: psnr(r, p),
         (ValueError, "cannot decode"), [], 1, "decode: cannot decode"),
    Case("truncated JPEG", lambda t: pair(t, truncated(t, "jpg")), lambda r, p, t: psnr(r, p),
         (ValueError, "truncated"), [], 1, "truncated"),
    Case("PNG with a corrupt chunk", lambda t: pair(t, corrupt_crc(t)), lambda r, p, t: psnr(r, p),
         (ValueError, "cannot decode"), [], 1, "decode: cannot decode"),
    Case("decompression bomb", lambda t: pair(t), lambda r, p, t: psnr(r, p),
         (ValueError, "decompression bomb"), [], 1, "decode: cannot decode",
         patch={"MAX_IMAGE_PIXELS": 50}),
    Case("missing prediction file", lambda t: (png(t / "a.png"), t / "nope.png"),
         lambda r, p, t: psnr(r, p), (FileNotFoundError, "not found"), [], 2, "no such file"),
    Case("size mismatch", lambda t: pair(t, size=(16, 17)), lambda r, p, t: psnr(r, p),
         (ValueError, "same height and width"), [], 1, "size_mismatch: size mismatch: ref 16x16"),
    Case("image below min_size", lambda t: pair(t), lambda r, p, t:
         semfidelity.create_metric("toy_big")(p, r), (ValueError, "smaller than the minimum"),
         [], 1, "too_small: toy_big needs at least 24x24", metrics="toy_big"),
    Case("metric fails at run time", lambda t: pair(t, value=255), lambda r, p, t:
         semfidelity.create_metric("toy_fail")(p, r), (RuntimeError, "toy failure"),
         [], 1, "metric_error: toy_fail: RuntimeError", metrics="toy_fail"),
    Case("unknown metric", pair, lambda r, p, t: semfidelity.create_metric("psnrr"),
         (ValueError, "Did you mean: psnr"), [], 2, "Did you mean: psnr", metrics="psnrr"),
    Case("unknown metric option", pair, lambda r, p, t: semfidelity.create_metric("psnr", bogus=1),
         (TypeError, "unknown option(s) 'bogus'"), ["--opt", "psnr.bogus=1"], 2, "'bogus'"),
    Case("bad option value", pair, lambda r, p, t: semfidelity.create_metric("psnr", data_range=-1),
         (ValueError, "data_range"), ["--opt", "psnr.data_range=-1"], 2, "data_range"),
    Case("bad device", pair, lambda r, p, t: semfidelity.create_metric("psnr", device="gpu0"),
         (ValueError, "cannot parse 'gpu0'"), ["--device", "gpu0"], 2, "cannot parse 'gpu0'"),
    Case("output with an unknown extension", pair, lambda r, p, t: file_format(t / "s.txt"),
         (OutputError, ".csv, .jsonl or .ndjson"), ["--out", "{tmp}/s.txt"], 2, ".csv, .jsonl"),
    Case("REF a file, PRED a folder", lambda t: (png(t / "a.png"), png(t / "d" / "a.png").parent),
         lambda r, p, t: discover_pairs(r, p), (ValueError, "both be files or both be folders"),
         [], 2, "both be files or both be folders"),
    Case("resume a file that is not a score file", pair,
         lambda r, p, t: read_rows(t / "s.jsonl", "jsonl"), (OutputError, "not valid JSON"),
         ["--out", "{tmp}/s.jsonl", "--resume"], 2, "not valid JSON"),
    Case("batch size 0", pair, lambda r, p, t: SizeBatcher(0), (ValueError, "batch_size"),
         ["--batch-size", "0"], 2, "--batch-size: expected >= 1"),
    Case("negative workers", pair, lambda r, p, t: make_loader(PairDataset([]), workers=-1),
         (ValueError, "workers"), ["--workers", "-1"], 2, "--workers: expected >= 0"),
    Case("unknown colour map", pair, lambda r, p, t: save_heatmap(np.zeros((2, 2)), t / "m.png",
         cmap="rainbowz"), (ValueError, "cmap"), ["--cmap", "rainbowz"], 2, "invalid choice"),
    # CLI-only conditions (no Python API counterpart raises; the API reports them as data):
    Case("empty folders: no pairs", lambda t: ((t / "r").mkdir() or t / "r",
         (t / "p").mkdir() or t / "p"), None, None, [], 2, "no pairs found"),
    Case("unmatched files", lambda t: folders(t, ["a.png", "c.png"], ["a.png", "b.png"]), None,
         None, [], 1, "unmatched_pred: 1"),
    Case("duplicate stems", lambda t: folders(t, ["a.png", "b.png", "b.bmp"], ["a.png", "b.png"]),
         None, None, [], 1, "duplicate: 1"),
    Case("malformed --opt", pair, None, None, ["--opt", "psnr"], 2, "METRIC.NAME=VALUE"),
    Case("--resume without --out", pair, None, None, ["--resume"], 2, "--resume needs --out"),
    Case("--tws-weights without tws", pair, None, None, ["--tws-weights", "1,1,1"], 2,
         "needs 'tws'"),
    Case("resume with other metrics", pair, None, None, ["--out", "{tmp}/o.csv", "--resume"], 2,
         "has columns"),
]  # fmt: skip

BOTH = [c for c in CASES if c.api is not None]


def test_matrix_size():
    assert len(BOTH) >= 20 and len(CASES) >= 25
    assert len({c.kind for c in CASES}) == len(CASES)


def _prepare(case: Case, tmp: Path, monkeypatch) -> tuple[Path, Path]:
    for name, value in case.patch.items():
        monkeypatch.setattr(Image, name, value)
    ref, pred = case.setup(tmp)
    (tmp / "s.jsonl").write_text("this is not json\n")
    (tmp / "o.csv").write_text("key,ref,pred,height,width,ssim,error\n")
    return ref, pred


@pytest.mark.parametrize("case", BOTH, ids=[c.kind for c in BOTH])
def test_python_api(case, tmp_path, monkeypatch):
    ref, pred = _prepare(case, tmp_path, monkeypatch)
    exc_type, fragment = case.api_error
    with pytest.raises(exc_type) as info:
        case.api(ref, pred, tmp_path)
    assert fragment in str(info.value)


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_cli(case, tmp_path, monkeypatch, capsys):
    ref, pred = _prepare(case, tmp_path, monkeypatch)
    extra = [a.replace("{tmp}", str(tmp_path)) for a in case.cli]
    if "--out" not in extra and "--resume" not in extra:
        extra += ["--out", str(tmp_path / "scores.csv")]
    code = main([str(ref), str(pred), "--metrics", case.metrics, *extra])
    cap = capsys.readouterr()
    rows = (tmp_path / "scores.csv").read_text() if (tmp_path / "scores.csv").exists() else ""
    assert code == case.cli_code, cap.out + cap.err
    assert case.cli_msg in cap.out + cap.err + rows, cap.out + cap.err
    if code == 1:  # a failed item is listed in the summary and recorded
        assert "failures by reason:" in cap.out


def test_converted_inputs_score_like_the_python_api(tmp_path, capsys):
    """16-bit, greyscale, palette, RGBA, CMYK and EXIF-rotated files are converted, not errors."""
    base = RNG.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    preds = {
        "u16.png": Image.fromarray(base[..., 0].astype(np.uint16) * 257),
        "gray.png": Image.fromarray(base[..., 1]),
        "pal.png": Image.fromarray(base).quantize(32),
        "rgba.png": Image.fromarray(np.dstack([base, base[..., :1]])),
        "cmyk.jpg": Image.fromarray(base).convert("CMYK"),
        "exif.jpg": Image.fromarray(base),
    }
    (tmp_path / "pred").mkdir()
    for name, img in preds.items():
        png(tmp_path / "ref" / (Path(name).stem + ".png"), value=128,
            size=(20, 12) if name == "exif.jpg" else (12, 20))  # fmt: skip
        img.save(tmp_path / "pred" / name, **({"exif": exif} if name == "exif.jpg" else {}))
    out = tmp_path / "s.csv"
    assert main([str(tmp_path / "ref"), str(tmp_path / "pred"), "--metrics", "psnr",
                 "--out", str(out)]) == 0  # fmt: skip
    rows = out.read_text().splitlines()[1:]
    assert len(rows) == len(preds)
    for line in rows:
        key, ref, pred, h, w, value, error = line.split(",")
        assert error == "" and float(value) == pytest.approx(
            psnr(Path(ref), Path(pred)).item(), rel=1e-6
        ), key
        if key == "exif":  # stored 12x20, displayed (and scored) 20x12
            assert (h, w) == ("20", "12")
    assert "6 scored without error" in capsys.readouterr().out
