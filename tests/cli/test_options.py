"""METRIC.NAME=VALUE options, shared by semfid-score (--opt) and semfid-eval (--option/--opt)."""

from __future__ import annotations

import pytest

from semfidelity.cli._options import parse_metric_options


def test_values_are_json_when_they_can_be():
    opts = parse_metric_options(
        ["ssim.y_channel=true", "psnr.crop_border=4", "tws.weights=[0.5,0.25,0.25]", "x.p=a/b"]
    )
    assert opts == {
        "ssim": {"y_channel": True},
        "psnr": {"crop_border": 4},
        "tws": {"weights": [0.5, 0.25, 0.25]},
        "x": {"p": "a/b"},
    }


def test_metric_names_are_checked_against_the_selection():
    assert parse_metric_options([], ["PSNR", "ssim"]) == {"psnr": {}, "ssim": {}}
    assert parse_metric_options(["PSNR.crop_border=2"], ["psnr"]) == {"psnr": {"crop_border": 2}}
    with pytest.raises(ValueError, match=r"--opt 'lpips.net=vgg': metric 'lpips' is not in"):
        parse_metric_options(["lpips.net=vgg"], ["psnr"])


@pytest.mark.parametrize("bad", ["ssim", "ssim=1", ".x=1", "ssim.=1", "ssim.x"])
def test_malformed_items_name_the_flag_and_the_item(bad):
    with pytest.raises(ValueError, match=rf"--option: expected METRIC.NAME=VALUE, got '{bad}'"):
        parse_metric_options([bad], flag="--option")
