"""CLIP-IQA: equal to piq's CLIPIQA (the model torchmetrics' clip_iqa wraps) given the same
full-size random CLIP RN50 weights and tokens; properties on a tiny CLIP ResNet config."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import open_clip
import piq
import pytest
import torch
from piq.feature_extractors import clip as piq_clip

from semfidelity import create_metric, metric_info
from semfidelity.metrics.clipiqa import CLIPIQA_PROMPTS

TINY_RN = "semfid-tiny-rn"
TINY_RN_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny():
    if TINY_RN not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="semfid-tiny-rn-"))
        (folder / f"{TINY_RN}.json").write_text(json.dumps(TINY_RN_CONFIG))
        open_clip.add_model_config(folder)
    return {"clip_model": TINY_RN, "clip_weights": "random", "device": "cpu"}


@pytest.fixture(scope="module")
def rn50_pair(tmp_path_factory):
    """(ours, piq's CLIPIQA) on the same random full-size RN50. piq's build_model rounds the
    weights to float16 (as OpenAI's does), so both get the float16-rounded state dict; the
    logit scale is OpenAI's trained 100."""
    from safetensors.torch import save_file

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        state = open_clip.create_model("RN50-quickgelu", pretrained=None).state_dict()
    state = {k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}
    state["logit_scale"] = torch.tensor(math.log(100.0))
    path = tmp_path_factory.mktemp("rn50") / "rn50.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    ours = create_metric("clipiqa", clip_weights=str(path), device="cpu")
    tokens = open_clip.tokenize(["Good photo.", "Bad photo."])
    mp = pytest.MonkeyPatch()
    mp.setattr(piq.clip_iqa.clip, "load", lambda: piq_clip.build_model(dict(state)).float().eval())
    mp.setattr(piq.clip_iqa, "download_tensor", lambda *a, **k: tokens)
    ref = piq.CLIPIQA(data_range=1.0)
    mp.undo()
    return ours, ref


def test_metadata():
    info = metric_info("clipiqa")
    assert info["requires_reference"] is False and info["lower_better"] is False
    assert info["weights"] == ["clip-rn50-openai"] and info["score_range"] == [0.0, 1.0]


def test_equals_piq_clipiqa(rn50_pair, set5_pairs, baboon):
    ours, ref = rn50_pair
    images = [set5_pairs["woman"][1], set5_pairs["bird"][0], baboon["esrgan_lornatang"]]
    for x in images:  # full resolution, different sizes: no resize anywhere
        x = x[..., :224, :320]
        assert ours(x).item() == pytest.approx(ref(x).item(), abs=1e-5)
    batch = torch.cat([x[..., :96, :96] for x in images])
    assert torch.allclose(ours(batch), ref(batch).flatten(), atol=1e-5)


def test_bounds_batch_invariance_and_target_ignored(tiny, set5_pairs):
    m = create_metric("clipiqa", **tiny)
    a, b = set5_pairs["head"][1], set5_pairs["head"][0]
    both = m(torch.cat([a, b]))
    assert ((both > 0) & (both < 1)).all()
    assert torch.allclose(both, torch.cat([m(a), m(b)]), atol=1e-5)
    assert m(a, b).item() == pytest.approx(m(a).item(), abs=0)


def test_prompt_sets_and_components(tiny, set5_pairs):
    x = set5_pairs["bird"][1]
    m = create_metric("clipiqa", prompts=("quality", "sharpness", ("Sharp.", "Soft.")), **tiny)
    parts = m.components(x)
    assert set(parts) == {"quality", "sharpness", "user_defined_2", "clipiqa"}
    mean = (parts["quality"] + parts["sharpness"] + parts["user_defined_2"]) / 3
    assert torch.allclose(parts["clipiqa"], mean)
    single = create_metric("clipiqa", **tiny)
    assert parts["quality"].item() == pytest.approx(single(x).item(), abs=1e-6)
    assert len(CLIPIQA_PROMPTS) == 16


def test_antonyms_swap_to_one_minus(tiny, set5_pairs):
    x = set5_pairs["baby"][1]
    good = create_metric("clipiqa", prompts=(("Good photo.", "Bad photo."),), **tiny)
    bad = create_metric("clipiqa", prompts=(("Bad photo.", "Good photo."),), **tiny)
    assert good(x).item() + bad(x).item() == pytest.approx(1.0, abs=1e-6)


def test_gradients_flow(tiny, set5_pairs):
    m = create_metric("clipiqa", as_loss=True, **tiny)
    p = set5_pairs["bird"][0][..., :64, :64].clone().requires_grad_(True)
    loss = m(p)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_bad_options(tiny):
    with pytest.raises(ValueError, match="prompts: unknown attribute"):
        create_metric("clipiqa", prompts=("qualty",), **tiny)
    with pytest.raises(ValueError, match="prompts"):
        create_metric("clipiqa", prompts=(("only one",),), **tiny)
    with pytest.raises(ValueError, match="logit_scale"):
        create_metric("clipiqa", logit_scale=0, **tiny)
    with pytest.raises(ValueError, match="CLIP ResNet"):
        create_metric("clipiqa", clip_model="ViT-B-32", clip_weights="random", device="cpu")
