"""HFCaptioner: the local VLM judge backend as a captioner (tiny random BLIP-2, no network).

Plumbing only (random weights write random words): loading like the judge, greedy decoding
without the echoed prompt, paths and tensors alike, batching, and use as a pseudo-label
captioner with a per-image failure.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from test_hf_judge import tiny_blip2, tiny_processor

from semfidelity.io import load_image
from semfidelity.selection.judges.base import to_pil
from semfidelity.selection.judges.caption import HFCaptioner
from semfidelity.training.captions import Captioner, caption_each


@pytest.fixture(scope="module")
def parts():
    processor = tiny_processor()
    return tiny_blip2(len(processor.tokenizer)), processor


@pytest.fixture
def images(tmp_path):
    g = torch.Generator().manual_seed(0)
    paths = []
    for i, size in enumerate([(40, 50), (32, 32), (64, 48)]):
        path = tmp_path / f"im {i}.png"
        to_pil(torch.rand(3, *size, generator=g)).save(path)
        paths.append(path)
    return paths


def test_loads_like_the_judge_and_captions_files(tmp_path, parts, images, monkeypatch):
    model, processor = parts
    model.save_pretrained(tmp_path / "m")
    processor.save_pretrained(tmp_path / "m")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cap = HFCaptioner(str(tmp_path / "m"), device="cpu", max_new_tokens=4)
    assert isinstance(cap, Captioner)
    first = cap.caption(images)
    assert len(first) == 3 and all(isinstance(c, str) for c in first)
    assert cap.caption(images) == first  # greedy: deterministic
    tensors = [load_image(p)[0] for p in images]
    assert cap.caption_images(tensors) == first


def test_the_prompt_is_not_part_of_the_caption(parts, images):
    model, processor = parts
    prompt = "question : is this a photo ?"
    cap = HFCaptioner(model, processor=processor, prompt=prompt, device="cpu", batch_size=2)
    pils = [Image.open(p).convert("RGB") for p in images]
    inputs = processor(images=pils, text=[prompt] * 3, return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=30, do_sample=False)
    n = inputs["input_ids"].shape[1]
    assert torch.equal(ids[:, :n], inputs["input_ids"])  # generate echoes the prompt
    want = [
        " ".join(t.split()) for t in processor.batch_decode(ids[:, n:], skip_special_tokens=True)
    ]
    assert cap.caption(images) == want
    echoed = processor.batch_decode(ids, skip_special_tokens=True)
    assert all(e.startswith("question") for e in echoed)


def test_a_bad_image_fails_alone(parts, images, tmp_path):
    model, processor = parts
    cap = HFCaptioner(model, processor=processor, device="cpu", max_new_tokens=2)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"no image")
    done, failed = caption_each(cap, [images[0], broken, images[1]])
    assert set(done) == {images[0], images[1]} and set(failed) == {broken}
    assert "cannot decode image" in failed[broken]


def test_bad_arguments(parts):
    model, processor = parts
    with pytest.raises(ValueError, match="processor"):
        HFCaptioner(model)
    with pytest.raises(ValueError, match="max_new_tokens"):
        HFCaptioner(model, processor=processor, max_new_tokens=0)
    with pytest.raises(TypeError, match="prompt"):
        HFCaptioner(model, processor=processor, prompt=None)
