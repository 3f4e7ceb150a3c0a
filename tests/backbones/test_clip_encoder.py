"""ClipEncoder: parity with open_clip's own preprocessing and encode_image, weights, tiles."""

from __future__ import annotations

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
from semfidelity.weights import WeightNotFoundError, get_entry

# open_clip's PIL pipeline rounds the resized image to 8 bits; ours stays in float. Documented
# tolerance (docs/metrics/tws.md): at most 1 grey level (1/255) per pixel after resizing.
PIL_TOLERANCE = 1.0 / 255.0


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


def test_tile_embeddings_equal_embeddings_of_the_crops(encoder):
    x = torch.rand(2, 3, 48, 80)
    pixels = encoder.tile_pixels(x, (2, 2))
    got = encoder.encode(pixels.flatten(0, 1)).view(2, 4, -1)  # as clip_view="tiles" does
    assert got.shape == (2, 4, 16)
    for k, (top, left, th, tw) in enumerate(tile_grid(48, 80, (2, 2))):
        want = encoder.embed(x[..., top : top + th, left : left + tw])
        torch.testing.assert_close(got[:, k], want, atol=1e-5, rtol=0)


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
