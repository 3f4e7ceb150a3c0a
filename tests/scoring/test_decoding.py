"""Decoding for batch scoring: every image mode converted like semfidelity.io, or a reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.io import load_image
from semfidelity.scoring.decoding import (
    DecodeError,
    PairDataset,
    SizeBatcher,
    decode_image,
    to_float,
)
from semfidelity.scoring.pairs import Pair

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 20, 3), dtype=np.uint8)


def _save(path, img, **kw):
    img.save(path, **kw)
    return path


def test_modes_match_io_load_image(tmp_path):
    files = {
        "rgb": _save(tmp_path / "rgb.png", Image.fromarray(RGB)),
        "gray": _save(tmp_path / "gray.png", Image.fromarray(RGB[..., 0])),
        "palette": _save(tmp_path / "p.png", Image.fromarray(RGB).quantize(16)),
        "rgba": _save(tmp_path / "rgba.png", Image.fromarray(np.dstack([RGB, RGB[..., :1]]))),
        "la": _save(tmp_path / "la.png", Image.fromarray(RGB[..., :2].copy(), mode="LA")),
        "bilevel": _save(tmp_path / "b.png", Image.fromarray(RGB[..., 0] > 128)),
        "u16": _save(tmp_path / "u16.png", Image.fromarray(RGB[..., 0].astype(np.uint16) * 257)),
        "cmyk": _save(tmp_path / "c.jpg", Image.fromarray(RGB).convert("CMYK"), quality=100),
    }
    for name, path in files.items():
        got = to_float(decode_image(path)).unsqueeze(0)
        assert got.shape == (1, 3, 12, 20), name
        torch.testing.assert_close(got, load_image(path), atol=1e-6, rtol=0, msg=name)
    rgba = decode_image(files["rgba"])
    assert rgba.dtype == torch.uint8
    assert np.array_equal(rgba.permute(1, 2, 0).numpy(), RGB)  # alpha dropped, colour untouched
    u16 = decode_image(files["u16"])
    assert u16.dtype == torch.float32
    torch.testing.assert_close(u16[0], torch.from_numpy(RGB[..., 0] / 255.0).float())
    cmyk = to_float(decode_image(files["cmyk"])).permute(1, 2, 0).numpy()
    assert np.abs(cmyk - RGB / 255.0).mean() < 0.03  # lossy JPEG, colours preserved


def test_exif_rotation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(tmp_path / "rot.jpg", Image.fromarray(RGB), exif=exif, quality=95)
    got = decode_image(path)
    assert got.shape == (3, 20, 12)
    with Image.open(path) as raw:
        assert raw.size == (20, 12)  # stored unrotated


@pytest.mark.parametrize(
    ("content", "reason", "fragment"),
    [
        (b"", "decode", "not an image"),
        (b"hello, not an image", "decode", "not an image"),
        (None, "missing", "not found"),
    ],
)
def test_decode_failures(tmp_path, content, reason, fragment):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DecodeError, match=fragment) as info:
        decode_image(path)
    assert info.value.reason == reason and str(path) in str(info.value)


def test_truncated_png_is_a_decode_error(tmp_path):
    good = _save(tmp_path / "g.png", Image.fromarray(RNG.integers(0, 256, (64, 64, 3), np.uint8)))
    bad = tmp_path / "t.png"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DecodeError, match="cannot decode") as info:
        decode_image(bad)
    assert info.value.reason == "decode"


def test_dataset_size_mismatch_and_resize(tmp_path):
    a = _save(tmp_path / "a.png", Image.fromarray(RGB))
    b = _save(tmp_path / "b.png", Image.fromarray(RGB).resize((10, 6)))
    pair = Pair("a", a, b)
    item = PairDataset([pair])[0]
    assert item["reason"] == "size_mismatch" and "ref 12x20" in item["error"]
    item = PairDataset([pair], resize_pred_to_ref=True)[0]
    assert item["reason"] == "" and item["pred"].shape == (3, 12, 20)
    assert (
        item["pred"].dtype == torch.float32 and 0 <= item["pred"].min() <= item["pred"].max() <= 1
    )


def _item(i, h, w, reason=""):
    return {"index": i, "reason": reason, "ref": torch.zeros(3, h, w, dtype=torch.uint8)}


def test_size_batcher_groups_by_size_and_bounds_memory():
    b = SizeBatcher(batch_size=2, max_pixels=1000, max_buffered=3)
    out = []
    for it in [
        _item(0, 8, 8),
        _item(1, 4, 4),
        _item(2, 8, 8),
        _item(3, 30, 30),
        _item(4, 4, 4, "x"),
    ]:
        out += [[x["index"] for x in batch] for batch in b.add(it)]
    out += [[x["index"] for x in batch] for batch in b.flush()]
    # 8x8 pair fills a batch; 30x30 (900 px) is alone (max_pixels); failures pass through.
    assert out == [[0, 2], [3], [4], [1]]
    b = SizeBatcher(batch_size=8, max_buffered=3)
    out = []
    for i in range(5):
        out += [[x["index"] for x in batch] for batch in b.add(_item(i, 4 + i, 4))]
    assert out == [[0], [1]] and b._count == 3  # never more than max_buffered wait
    with pytest.raises(ValueError, match="batch_size"):
        SizeBatcher(0)


def test_pixel_limit_refuses_before_decoding(tmp_path):
    """A 15 KB 1-bit 9000x9000 PNG would take gigabytes: too_large, from the header alone."""
    import numpy as np
    from PIL import Image

    from semfidelity.scoring.decoding import MAX_PIXELS, DecodeError, decode_image

    path = tmp_path / "bomb.png"
    Image.fromarray(np.zeros((9000, 9000), dtype=bool)).save(path)
    assert path.stat().st_size < 100_000 and 9000 * 9000 > MAX_PIXELS
    with pytest.raises(DecodeError, match="9000x9000 = 81000000 pixels, more than") as info:
        decode_image(path)
    assert info.value.reason == "too_large"
    assert decode_image(path, max_pixels=9000 * 9000).shape == (3, 9000, 9000)
