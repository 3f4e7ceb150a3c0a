"""ClipTextEncoder: equal to open_clip's encode_text given the same weights (tiny real config)."""

from __future__ import annotations

import open_clip
import pytest
import torch
from safetensors.torch import save_file
from tiny_clip import make_tiny_clip_text

from semfidelity.backbones.clip import ClipEncoder
from semfidelity.backbones.clip_text import ClipTextEncoder

TEXTS = ["a red box on a table", "a red cake on a table", "", "a " * 100]


def _saved_model(tmp_path, seed: int):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.create_model(make_tiny_clip_text(), pretrained=None).eval()
    file = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(file))
    return model, file


def test_embedding_equals_open_clip_encode_text(tmp_path):
    model, file = _saved_model(tmp_path, seed=7)
    enc = ClipTextEncoder(make_tiny_clip_text(), "openai", weights=file, batch_size=3)
    tokens = open_clip.get_tokenizer(make_tiny_clip_text())(TEXTS)
    with torch.no_grad():
        want = model.encode_text(tokens, normalize=True)
    ours = enc.embed(TEXTS)
    assert ours.shape == (4, 16) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(4), atol=1e-6, rtol=0)
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.training


def test_random_text_tower_belongs_to_the_random_image_tower():
    # "random" on both sides is one seed-0 model, so C2I with random weights is a real CLIP pair
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = open_clip.create_model(make_tiny_clip_text(), pretrained=None).eval()
    text = ClipTextEncoder(make_tiny_clip_text(), "openai", weights="random")
    image = ClipEncoder(make_tiny_clip_text(), "openai", weights="random")
    tokens = open_clip.get_tokenizer(make_tiny_clip_text())(TEXTS[:2])
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(
            text.embed(TEXTS[:2]), model.encode_text(tokens, normalize=True), atol=1e-6, rtol=0
        )
        want = model.encode_image((x - image.mean) / image.std, normalize=True)
    torch.testing.assert_close(image.embed(x), want, atol=1e-6, rtol=0)


def test_a_state_dict_without_the_text_tower_is_refused(tmp_path):
    model, _ = _saved_model(tmp_path, seed=1)
    file = tmp_path / "visual_only.safetensors"
    visual = {k: v.contiguous() for k, v in model.state_dict().items() if k.startswith("visual.")}
    save_file(visual, str(file))
    with pytest.raises(ValueError, match="clip_weights: not an open_clip .* text tower"):
        ClipTextEncoder(make_tiny_clip_text(), "openai", weights=file)


def test_bad_arguments():
    with pytest.raises(TypeError, match="clip_weights"):
        ClipTextEncoder(make_tiny_clip_text(), "openai", weights=3)
    with pytest.raises(ValueError, match="batch_size"):
        ClipTextEncoder(make_tiny_clip_text(), "openai", weights="random", batch_size=0)
    with pytest.raises(ValueError, match="clip_pretrained: no manifest weight"):
        ClipTextEncoder(make_tiny_clip_text(), "laion2b")
    enc = ClipTextEncoder(make_tiny_clip_text(), "openai", weights="random")
    with pytest.raises(TypeError, match="texts"):
        enc.embed("one string")
