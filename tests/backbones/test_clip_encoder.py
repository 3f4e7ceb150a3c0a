"""ClipEncoder: parity with open_clip's own preprocessing and encode_image, weights, tiles."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image
from safetensors.torch import save_file
from tiny_clip import make_tiny_clip

from semfidelity.backbones.clip import CLIP_WEIGHT_IDS, ClipEncoder, clip_weight_id, tile_grid
from semfidelity.backbones.clip_views import TILE_OVERLAP, embed_views
from semfidelity.weights import WeightNotFoundError, get_entry

# open_clip's PIL pipeline rounds the resized image to 8 bits; ours stays in float. Documented
# tolerance (docs/metrics/tws.md): at most 1 grey level (1/255) per pixel after resizing.
PIL_TOLERANCE = 1.0 / 255.0

TINY_RN = "semfid-tiny-rn-tokens"  # not clipiqa's "semfid-tiny-rn": another config
TINY_RN_CONFIG = {
    "embed_dim": 16,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "patch_size": None},
    "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def encoder() -> ClipEncoder:
    return ClipEncoder(make_tiny_clip(), "openai", weights="random")


@pytest.fixture(scope="module")
def reference(encoder):
    """An independently built open_clip model holding the encoder's weights, and its transform."""
    model = open_clip.create_model(make_tiny_clip(), pretrained=None)
    model.visual.load_state_dict(encoder.visual.state_dict())
    model.eval()
    transform = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    return model, transform


def test_embedding_equals_open_clip_encode_image_on_sized_input(encoder, reference):
    model, transform = reference
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model.encode_image(torch.stack([transform(img) for img in x]), normalize=True)
        ours = encoder.embed(x)
    assert ours.shape == (3, 16) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(3), atol=1e-6, rtol=0)


@pytest.mark.parametrize("size", [(61, 97), (512, 384)])
def test_preprocessing_matches_open_clip_pil_pipeline(encoder, reference, shared_data, size):
    model, transform = reference
    h, w = size
    path = shared_data / "set5_swinir" / "HR" / "butterfly.png"
    img = Image.open(path).convert("RGB").resize((w, h), Image.BICUBIC)
    ref_pixels = transform(img)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(255.0).unsqueeze(0)
    ours = encoder.preprocess(x)[0]
    assert ours.shape == ref_pixels.shape == (3, 32, 32)
    diff = (ours - ref_pixels).abs() * encoder.std.view(3, 1, 1)  # back to [0, 1] pixel units
    assert float(diff.max()) <= PIL_TOLERANCE
    assert float(diff.mean()) <= 0.5 / 255.0
    with torch.no_grad():
        cos = encoder.encode(ours[None]) * model.encode_image(ref_pixels[None], normalize=True)
    assert float(cos.sum()) > 0.999


def test_preprocessing_is_batched_and_differentiable(encoder):
    x = torch.rand(2, 3, 40, 70, requires_grad=True)
    emb = encoder.embed(x)
    single = torch.cat([encoder.embed(x[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(emb, single, atol=1e-5, rtol=0)
    emb.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())


@pytest.mark.parametrize("hw,grid", [((48, 80), (2, 2)), ((65, 97), (2, 3)), ((33, 33), (3, 1))])
def test_tile_grid_covers_image_with_equal_tiles(hw, grid):
    h, w = hw
    tiles = tile_grid(h, w, grid)
    assert len(tiles) == grid[0] * grid[1]
    assert len({(th, tw) for _, _, th, tw in tiles}) == 1
    covered = torch.zeros(h, w, dtype=torch.bool)
    for top, left, th, tw in tiles:
        assert top >= 0 and left >= 0 and top + th <= h and left + tw <= w
        covered[top : top + th, left : left + tw] = True
    assert bool(covered.all())


@pytest.mark.parametrize("hw,grid", [((48, 80), (2, 2)), ((65, 97), (2, 3)), ((40, 40), (3, 3))])
def test_overlapping_tile_grid_covers_image(hw, grid):
    h, w = hw
    tiles = tile_grid(h, w, grid, overlap=0.25)
    covered = torch.zeros(h, w, dtype=torch.int64)
    for top, left, th, tw in tiles:
        assert top >= 0 and left >= 0 and top + th <= h and left + tw <= w
        assert th >= 1.25 * h / grid[0] - 1 and tw >= 1.25 * w / grid[1] - 1
        covered[top : top + th, left : left + tw] += 1
    assert bool((covered >= 1).all()) and int(covered.max()) >= 2


def test_tiles_view_embeds_the_whole_image_and_each_resized_crop_in_one_call(encoder):
    x = torch.rand(2, 3, 48, 80)
    calls = []
    handle = encoder.visual.register_forward_pre_hook(lambda _m, a: calls.append(a[0].shape[0]))
    try:
        got = embed_views(encoder, x, "tiles", (2, 2))
    finally:
        handle.remove()
    assert calls == [2 * 5] and got.regions.shape == (2, 4, 16)
    torch.testing.assert_close(got.whole, encoder.encode(encoder.preprocess_whole(x)))
    for k, (top, left, th, tw) in enumerate(tile_grid(48, 80, (2, 2), overlap=TILE_OVERLAP)):
        want = encoder.encode(encoder.preprocess_whole(x[..., top : top + th, left : left + tw]))
        torch.testing.assert_close(got.regions[:, k], want, atol=1e-5, rtol=0)
        assert got.boxes[k] == (top / 48, left / 80, th / 48, tw / 80)


def test_whole_view_regions_are_token_windows(encoder):
    x = torch.rand(2, 3, 48, 80)
    pixels = encoder.preprocess_whole(x)
    assert pixels.shape == (2, 3, 32, 32)
    pooled, tokens = encoder.encode_with_tokens(pixels)
    torch.testing.assert_close(pooled, encoder.encode(pixels))
    assert tokens.shape == (2, 4, 4, 16)  # 32 px input, patch 8
    got = embed_views(encoder, x, "whole", (2, 2))
    want = F.normalize(tokens[:, 2:, :2].mean(dim=(1, 2)), dim=-1)  # bottom-left window
    torch.testing.assert_close(got.regions[:, 2], want, atol=1e-6, rtol=0)
    assert got.boxes[2] == (0.5, 0.0, 0.5, 0.5)


def test_resnet_tower_gives_attention_pool_tokens():
    make_tiny_clip()
    if TINY_RN not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="semfid-tiny-rn-tokens-"))
        (folder / f"{TINY_RN}.json").write_text(json.dumps(TINY_RN_CONFIG))
        open_clip.add_model_config(folder)
    enc = ClipEncoder(TINY_RN, "openai", weights="random")
    assert enc.tokens == "resnet"
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    pixels = enc.preprocess_whole(x)
    pooled, tokens = enc.encode_with_tokens(pixels)
    with torch.no_grad():
        torch.testing.assert_close(pooled, F.normalize(enc.visual(pixels), dim=-1))
    assert tokens.shape == (2, 2, 2, 16)
    y = x.clone()
    y[..., 32:, 32:] = 1 - y[..., 32:, 32:]  # bottom-right quarter changed
    _, tokens_y = enc.encode_with_tokens(enc.preprocess_whole(y))
    change = (tokens_y - tokens).norm(dim=-1)[0]
    assert int(change.flatten().argmax()) == 3


def test_weights_from_a_local_safetensors_file(tmp_path):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        model = open_clip.create_model(make_tiny_clip(), pretrained=None).eval()
    file = tmp_path / "tiny_clip.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(file))
    enc = ClipEncoder(make_tiny_clip(), "openai", weights=file)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        want = F.normalize(model.encode_image((x - enc.mean) / enc.std), dim=-1)
    torch.testing.assert_close(enc.embed(x), want, atol=1e-6, rtol=0)
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.training


def test_state_dict_without_visual_keys_is_refused(tmp_path):
    file = tmp_path / "text_only.safetensors"
    save_file({"token_embedding.weight": torch.zeros(4, 4)}, str(file))
    with pytest.raises(ValueError, match="clip_weights.*visual"):
        ClipEncoder(make_tiny_clip(), "openai", weights=file)


def test_bad_model_names_and_missing_manifest_entry():
    with pytest.raises(ValueError, match="clip_model.*ViT-B-33"):
        ClipEncoder("ViT-B-33", "openai", weights="random")
    with pytest.raises(ValueError, match="clip_pretrained.*no manifest weight"):
        ClipEncoder(make_tiny_clip(), "openai")
    with pytest.raises(TypeError, match="clip_weights"):
        ClipEncoder(make_tiny_clip(), "openai", weights=3)


def test_manifest_ids_exist_and_name_quickgelu_architectures():
    for (model, tag), weight_id in CLIP_WEIGHT_IDS.items():
        entry = get_entry(weight_id)
        assert tag == "openai"
        assert f"{model}-quickgelu" in open_clip.list_models()
        assert model in entry.architecture and "quickgelu" in entry.architecture
        assert clip_weight_id(f"{model}-quickgelu", tag) == weight_id
    assert clip_weight_id("ViT-B-32", "laion2b_s34b_b79k") is None


def test_offline_without_weights_names_the_weight_id(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SEMFID_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(WeightNotFoundError, match="clip-vit-b-32-openai"):
        ClipEncoder("ViT-B-32", "openai")
