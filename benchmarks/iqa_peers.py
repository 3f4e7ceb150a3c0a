"""Peers of the IQA metrics of issue 14 for ``benchmarks/run.py``: ``dists`` (the official
DISTS_pytorch model, piq's DISTS), ``niqe`` (BasicSR's ``calculate_niqe``, the NumPy copy in
tests/reference, one image at a time) and ``clipiqa`` (piq's CLIPIQA, the model torchmetrics'
``clip_iqa`` wraps).

Offline, as in the parity tests: the peers' VGG-16 / CLIP RN50 get random full-size weights
(their pretrained files cannot be downloaded here), DISTS' alpha/beta are the bundled official
ones and CLIP-IQA's prompt tokens come from open_clip's tokenizer. Timing only for the deep ones.
"""

from __future__ import annotations

import math
import warnings
from typing import Any
from unittest import mock

import numpy as np
import torch
from torchvision.models import vgg16 as _tv_vgg16  # before any patching of torchvision.models

from benchmarks.peers import Factory, Peer

__all__ = ["IQA_PEERS"]


def _random_vgg16(*args: Any, **kwargs: Any) -> torch.nn.Module:
    return _tv_vgg16(weights=None)


def _alpha_beta() -> dict[str, torch.Tensor]:
    from semfidelity import weights as W

    return W.load_state_dict("dists-alpha-beta")


def _official_dists(device: torch.device, opts: dict[str, Any]) -> Peer:
    import DISTS_pytorch.DISTS_pt as official

    with mock.patch.object(official.models, "vgg16", _random_vgg16):
        model = official.DISTS(load_weights=False)
    ab = _alpha_beta()
    model.alpha.data, model.beta.data = ab["alpha"], ab["beta"]
    model = model.to(device).eval()

    def fn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(t, p, batch_average=False)

    return Peer("DISTS_pytorch", fn, "official model, random VGG-16 (timing only)")


def _piq_dists(device: torch.device, opts: dict[str, Any]) -> Peer:
    import piq

    with (
        mock.patch.object(piq.perceptual, "vgg16", _random_vgg16),
        mock.patch.object(
            piq.perceptual.torch.hub, "load_state_dict_from_url", lambda *a, **k: _alpha_beta()
        ),
    ):
        model = piq.DISTS(reduction="none")
    model = model.to(device).eval()

    def fn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(p, t)

    return Peer(
        "piq",
        fn,
        "piq.DISTS, random VGG-16 (timing only); downscales inputs whose short side exceeds "
        "256 px to 256 (bilinear), so above 256 px it does less work than ours/the official",
    )


def _basicsr_niqe(device: torch.device, opts: dict[str, Any]) -> Peer:
    from tests.reference.basicsr_niqe import calculate_niqe

    crop = int(opts.get("crop_border") or 0)

    def fn(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        out = []
        for x in p:
            bgr = (x.permute(1, 2, 0).cpu().numpy() * 255.0).round()[..., ::-1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out.append(float(calculate_niqe(bgr.astype(np.float64), crop)))
        return out

    return Peer("BasicSR calculate_niqe (per image)", fn, "NumPy/SciPy, tests/reference copy")


def _piq_clipiqa(device: torch.device, opts: dict[str, Any]) -> Peer:
    import open_clip
    import piq
    from piq.feature_extractors import clip as piq_clip

    state = open_clip.create_model("RN50-quickgelu", pretrained=None).state_dict()
    state["logit_scale"] = torch.tensor(math.log(100.0))
    tokens = open_clip.tokenize(["Good photo.", "Bad photo."])
    with (
        mock.patch.object(
            piq.clip_iqa.clip, "load", lambda: piq_clip.build_model(dict(state)).float().eval()
        ),
        mock.patch.object(piq.clip_iqa, "download_tensor", lambda *a, **k: tokens),
    ):
        model = piq.CLIPIQA(data_range=1.0)
    model = model.to(device).eval()

    def fn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(p).flatten()

    return Peer("piq", fn, "piq.CLIPIQA (torchmetrics' clip_iqa wraps it), random RN50")


IQA_PEERS: dict[str, list[tuple[str, Factory]]] = {
    "dists": [("DISTS_pytorch", _official_dists), ("piq", _piq_dists)],
    "niqe": [("BasicSR calculate_niqe (per image)", _basicsr_niqe)],
    "clipiqa": [("piq", _piq_clipiqa)],
}
