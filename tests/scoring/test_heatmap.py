"""Heatmaps: value -> colour is monotone along the map, ends at its anchors, files are RGB PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.scoring.heatmap import COLORMAPS, colorize, save_heatmap


def test_colorize_ends_scaling_and_nan():
    ramp = torch.linspace(0, 1, 11).reshape(1, 1, 1, 11)
    for name, anchors in COLORMAPS.items():
        rgb = colorize(ramp, name)
        assert rgb.shape == (1, 11, 3) and rgb.dtype == np.uint8
        assert tuple(rgb[0, 0]) == anchors[0] and tuple(rgb[0, -1]) == anchors[-1]
    gray = colorize(np.array([[0.0, 0.5, 2.0, np.nan]]), "gray", vmin=0, vmax=1)
    assert gray[0, :, 0].tolist() == [0, 128, 255, 0]  # clipped above vmax, NaN -> lowest
    assert colorize(np.full((2, 2), 3.0), "gray").max() == 0  # constant map: no division by 0


def test_save_heatmap(tmp_path):
    path = save_heatmap(torch.rand(1, 7, 5), tmp_path / "a" / "b.png", cmap="magma")
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.size == (5, 7)
    with pytest.raises(ValueError, match="cmap"):
        colorize(np.zeros((2, 2)), "jet2")
    with pytest.raises(ValueError, match="2-D map"):
        colorize(np.zeros((2, 2, 3)))
