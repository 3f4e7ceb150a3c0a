"""Heatmaps: value -> colour is monotone along the map, ends at its anchors, files are RGB PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semfidelity.scoring.heatmap import COLORMAPS, add_colorbar, colorbar, colorize, save_heatmap


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
        assert im.mode == "RGB" and im.size[1] == 7 and im.size[0] > 5 + 12  # map + colour bar
    with pytest.raises(ValueError, match="cmap"):
        colorize(np.zeros((2, 2)), "jet2")
    with pytest.raises(ValueError, match="2-D map"):
        colorize(np.zeros((2, 2, 3)))


def test_saved_heatmap_carries_a_labelled_colour_bar(tmp_path):
    values = torch.rand(1, 1, 60, 40, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    path = save_heatmap(values, tmp_path / "m.png", "viridis", vmin=0.0, vmax=1.0)
    with Image.open(path) as im:
        rgb = np.asarray(im)
    assert rgb.shape[0] == 60 and rgb.shape[1] > 40 + 12
    assert np.array_equal(rgb[:, :40], colorize(values, "viridis", 0.0, 1.0))  # map untouched
    panel = rgb[:, 40:]
    assert np.array_equal(panel, colorbar(60, "viridis", 0.0, 1.0))
    bar = panel[:, 4 + 6]  # middle column of the bar: vmax at the top, vmin at the bottom
    assert tuple(bar[0]) == COLORMAPS["viridis"][-1] and tuple(bar[-1]) == COLORMAPS["viridis"][0]
    text = panel[:, 4 + 12 + 4 :]
    assert (text.min(axis=-1) < 128).any(axis=1)[:12].any()  # the top label ("1") is drawn
    assert (text.min(axis=-1) < 128).any(axis=1)[-12:].any()  # the bottom label ("0")
    raw = save_heatmap(values, tmp_path / "raw.png", vmin=0.0, vmax=1.0, legend=False)
    with Image.open(raw) as im:
        assert im.size == (40, 60)


def test_colour_bar_labels_name_the_scale_used():
    """Auto-scaled maps label the bar with the map's own range: the labels differ by range."""
    low = add_colorbar(colorize(np.zeros((50, 10))), "gray", 0.0, 1.0)
    high = add_colorbar(colorize(np.zeros((50, 10))), "gray", 0.0, 250.0)
    assert low.shape[0] == high.shape[0] == 50
    assert high.shape[1] > low.shape[1]  # "250" and "125" take more room than "1" and "0.5"
    with pytest.raises(ValueError, match="height"):
        colorbar(0)
