"""semfidelity.io: high-bit-depth files are scaled by their declared white level, never guessed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.io import load_image, pil_to_tensor

RNG = np.random.default_rng(3)


def _pgm16(path, pixels: np.ndarray, maxval: int = 65535):
    header = f"P5\n{pixels.shape[1]} {pixels.shape[0]}\n{maxval}\n".encode()
    path.write_bytes(header + pixels.astype(">u2").tobytes())
    return path


@pytest.mark.parametrize("top", [65535, 200])  # 200: a dark 16-bit image (max <= 255)
def test_16bit_pgm_png_and_tiff_agree(tmp_path, top):
    pixels = RNG.integers(0, top + 1, (9, 11), dtype=np.uint16)
    pgm = load_image(_pgm16(tmp_path / "a.pgm", pixels))
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "a.tif")
    want = torch.from_numpy(pixels / 65535.0).float().expand(1, 3, -1, -1)
    for got in (pgm, load_image(tmp_path / "a.png"), load_image(tmp_path / "a.tif")):
        torch.testing.assert_close(got, want, atol=1e-7, rtol=0)


def test_pgm_maxval_is_the_white_level(tmp_path):
    pixels = np.array([[0, 1023, 512]], dtype=np.uint16)
    got = load_image(_pgm16(tmp_path / "m.pgm", pixels, maxval=1023))[0, 0, 0]
    torch.testing.assert_close(got, torch.tensor([0.0, 1.0, 512 / 1023]), atol=2e-5, rtol=0)


def test_tiff_max_sample_value_is_the_white_level(tmp_path):
    pixels = np.array([[0, 1000, 4095]], dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "t.tif", tiffinfo={281: 4095})
    got = load_image(tmp_path / "t.tif")[0, 0, 0]
    torch.testing.assert_close(got, torch.tensor([0.0, 1000 / 4095, 1.0]), atol=1e-7, rtol=0)


def test_images_without_a_declared_white_level_are_refused(tmp_path):
    Image.fromarray(np.array([[0, 7, 200]], dtype=np.int32)).save(tmp_path / "i32.tif")
    with pytest.raises(ValueError, match="signed 32-bit integer TIFF declares no white level"):
        load_image(tmp_path / "i32.tif")
    with pytest.raises(ValueError, match="mode 'I' image .*no white level"):
        pil_to_tensor(Image.fromarray(np.array([[0, 7, 200]], dtype=np.int32)))


def test_float_images_must_hold_unit_range(tmp_path):
    unit = RNG.random((5, 6), dtype=np.float32)
    Image.fromarray(unit).save(tmp_path / "unit.tif")
    torch.testing.assert_close(load_image(tmp_path / "unit.tif")[0, 1], torch.from_numpy(unit))
    Image.fromarray(unit * 255).save(tmp_path / "u255.tif")
    with pytest.raises(ValueError, match=r"must hold values in \[0, 1\], got min .* max 2"):
        load_image(tmp_path / "u255.tif")
