"""splice_sym / splice_nonsym: SpLiCE's decomposition end to end on a tiny random CLIP (image and
text towers), against SpLiCE's own pipeline re-traced with open_clip + scikit-learn, and the
properties of both scores."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import Lasso
from tiny_clip import make_tiny_clip_text

import semfidelity
from semfidelity.backbones import clip_concepts
from semfidelity.backbones.clip_concepts import (
    concept_embeddings,
    load_vocabulary,
    splice_image_mean,
)
from semfidelity.metrics.splice import code_containment, code_cosine

VOCAB = load_vocabulary()[-300:]  # the 300 most frequent default concepts: fast to embed


def build(name="splice_sym", **options):
    options = {
        "clip_model": make_tiny_clip_text(),
        "clip_weights": "random",
        "vocabulary": VOCAB,
        "device": "cpu",
        **options,
    }
    return semfidelity.create_metric(name, **options)


@pytest.fixture(scope="module")
def metrics():
    return build("splice_sym"), build("splice_nonsym")


@pytest.fixture(scope="module")
def images(set5_pairs):
    """Four real 96x96 crops: HR and bicubic x4 of two Set5 images."""
    crop = (slice(None), slice(None), slice(40, 136), slice(40, 136))
    return {
        "baby_hr": set5_pairs["baby"][1][crop],
        "baby_bic": set5_pairs["baby"][0][crop],
        "bird_hr": set5_pairs["bird"][1][crop],
        "bird_bic": set5_pairs["bird"][0][crop],
    }


def splice_reference(images: torch.Tensor, l1: float) -> torch.Tensor:
    """SpLiCE's pipeline (splice/splice.py `load` + splice/model.py `encode_image` with the
    'skl' solver), traced with open_clip and scikit-learn on the same tiny random model."""
    import open_clip

    name = make_tiny_clip_text()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = open_clip.create_model(name, pretrained=None).eval()
    tokens = open_clip.get_tokenizer(name)(list(VOCAB))
    with torch.no_grad():
        concepts = F.normalize(model.encode_text(tokens).double(), dim=1)
        concepts = F.normalize(concepts - concepts.mean(0), dim=1)
        # 32x32 inputs: open_clip's transform is then ToTensor + Normalize only (no resize).
        mean_px = torch.tensor(open_clip.OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
        std_px = torch.tensor(open_clip.OPENAI_DATASET_STD).view(1, 3, 1, 1)
        z = F.normalize(model.encode_image((images - mean_px) / std_px).double(), dim=1)
    mean = z.new_zeros(z.shape[1])  # the tiny model has no published mean: passed explicitly
    z = F.normalize(z - mean, dim=1)
    d = z.shape[1]
    lasso = Lasso(
        alpha=l1 / (2 * d), fit_intercept=False, positive=True, max_iter=100000, tol=1e-12
    )
    return torch.stack(
        [torch.from_numpy(lasso.fit(concepts.T.numpy(), row.numpy()).coef_.copy()) for row in z]
    )


def test_codes_equal_splice_pipeline_with_sklearn(images):
    x = F.interpolate(torch.cat([images["baby_hr"], images["bird_bic"]]), size=32, mode="area")
    m = build(image_mean=torch.zeros(16), l1_penalty=0.1, tol=1e-9)
    ours = m.codes(x)
    ref = splice_reference(x, 0.1)
    assert (ref > 0).sum(1).min() >= 2  # non-trivial codes
    assert torch.equal(ours > 1e-7, ref > 1e-7)
    assert (ours - ref).abs().max() < 1e-5


def test_identity_gives_one_and_codes_are_sparse(metrics, images):
    x = torch.cat([images["baby_hr"], images["bird_hr"]])
    for m in metrics:
        assert torch.allclose(m(x, x), torch.ones(2), atol=1e-6)
    codes = metrics[0].codes(x)
    assert ((codes > 0).sum(1) >= 1).all() and ((codes > 0).sum(1) < len(VOCAB) // 4).all()


def test_bounds_batch_invariance_and_broadcast(metrics, images):
    target = images["baby_hr"]
    pred = torch.cat([images["baby_bic"], images["bird_hr"], images["bird_bic"]])
    for m in metrics:
        s = m(pred, target)
        assert s.shape == (3,) and s.dtype == torch.float32
        assert ((s >= 0) & (s <= 1)).all()
        alone = torch.cat([m(pred[i : i + 1], target) for i in range(3)])
        assert torch.allclose(s, alone, atol=1e-5, rtol=0)
        assert torch.allclose(m(pred, target.expand(3, -1, -1, -1)), s, atol=1e-6, rtol=0)
        assert (s < 1.0).all()


def test_sym_is_symmetric_nonsym_is_not(metrics, images):
    a = torch.cat([images["baby_hr"], images["baby_hr"], images["bird_hr"]])
    b = torch.cat([images["baby_bic"], images["bird_hr"], images["bird_bic"]])
    sym, nonsym = metrics
    assert torch.allclose(sym(a, b), sym(b, a), atol=1e-6)
    assert not torch.allclose(nonsym(a, b), nonsym(b, a), atol=1e-3)


def test_code_comparisons():
    w_t = torch.tensor([[0.5, 0.2, 0.0, 0.0]])
    assert code_cosine(w_t, w_t).item() == pytest.approx(1.0)
    assert code_containment(w_t * 2, w_t).item() == pytest.approx(1.0)  # more of all: kept
    assert code_containment(w_t / 2, w_t).item() == pytest.approx(0.5)
    gained = torch.tensor([[0.5, 0.2, 0.9, 0.0]])  # an extra concept costs nothing here
    assert code_containment(gained, w_t).item() == pytest.approx(1.0)
    assert code_cosine(gained, w_t).item() < 0.6
    zero = torch.zeros(1, 4)
    assert code_cosine(zero, zero).item() == 1.0 and code_cosine(zero, w_t).item() == 0.0
    assert code_containment(w_t, zero).item() == 1.0 and code_containment(zero, w_t).item() == 0.0


def test_explain_lists_the_residual(metrics, images):
    m = metrics[1]
    target, pred = images["baby_hr"], images["bird_hr"]
    (out,) = m.explain(pred, target, top_k=None)
    assert out["score"] == pytest.approx(float(m(pred, target)), abs=1e-6)
    w_t, w_p = m.codes(target)[0], m.codes(pred)[0]
    lost = sum(w for _, w in out["lost"])
    gained = sum(w for _, w in out["gained"])
    assert lost - gained == pytest.approx(float(w_t.sum() - w_p.sum()), abs=1e-9)
    assert out["lost"] and out["gained"]
    weights = [w for _, w in out["lost"]]
    assert weights == sorted(weights, reverse=True) and min(weights) > 0
    target_concepts = {c for c, _ in out["target"]}
    only_target = [c for c, w in out["lost"] if c not in {p for p, _ in out["pred"]}]
    assert set(only_target) <= target_concepts
    assert -1.0 <= out["target_reconstruction_cosine"] <= 1.0
    (same,) = m.explain(target, target, top_k=3)
    assert same["lost"] == [] and same["gained"] == [] and len(same["target"]) <= 3


def test_vocabulary_file_and_size(tmp_path, images):
    path = tmp_path / "concepts.txt"
    path.write_text("\n".join(["  skip me ", "", *VOCAB[-50:]]) + "\n", encoding="utf-8")
    assert load_vocabulary(path, size=50) == tuple(VOCAB[-50:])
    from_file = build(vocabulary=str(path), vocabulary_size=50)
    from_list = build(vocabulary=VOCAB[-50:])
    x = torch.cat([images["baby_hr"], images["bird_bic"]])
    assert torch.equal(from_file.codes(x), from_list.codes(x))
    assert len(load_vocabulary()) == 10000 and load_vocabulary()[-3:] == ("the", "of", "-")


def test_concept_embeddings_are_cached(monkeypatch, tmp_path):
    calls = []
    real = clip_concepts._embed_texts
    monkeypatch.setattr(
        clip_concepts, "_embed_texts", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    monkeypatch.setenv("SEMFID_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(clip_concepts, "_MEMORY", {})
    name = make_tiny_clip_text()
    words = ("cat", "dog", "house")
    first = concept_embeddings(words, name, "openai", "random")
    again = concept_embeddings(words, name, "openai", "random")
    assert len(calls) == 1 and torch.equal(first, again)
    assert torch.allclose(first.norm(dim=1), torch.ones(3), atol=1e-6)
    # Manifest weights are also kept on disk, keyed by weight id and vocabulary.
    real_key = clip_concepts._weights_key
    monkeypatch.setattr(
        clip_concepts, "_weights_key", lambda *a: (real_key(*a)[0], True)
    )  # random weights stand in for a manifest weight here
    concept_embeddings(("sun", "moon"), name, "openai", "random")
    clip_concepts._MEMORY.clear()
    from_disk = concept_embeddings(("sun", "moon"), name, "openai", "random")
    assert len(calls) == 2 and from_disk.shape == (2, 16)
    assert len(list((tmp_path / "splice_concepts").glob("*.safetensors"))) == 1


def test_image_means():
    vit = splice_image_mean("ViT-B-32", "openai")
    assert vit.shape == (512,) and vit.norm().item() == pytest.approx(0.6842, abs=1e-4)
    assert splice_image_mean("RN50-quickgelu", "openai").shape == (1024,)
    assert splice_image_mean("ViT-L-14", "openai") is None
    m = build()  # no published mean for the tiny model: measured on scikit-image photos
    assert m.image_mean.shape == (1, 16) and 0 < m.image_mean.norm() < 1
    with pytest.raises(ValueError, match="publishes no image mean"):
        build(image_mean="splice")
    with pytest.raises(ValueError, match="expected 16 values"):
        build(image_mean=torch.zeros(8))


def test_options_are_checked():
    with pytest.raises(ValueError, match="as_loss: splice_sym is not differentiable"):
        build(as_loss=True)
    with pytest.raises(ValueError, match="l1_penalty"):
        build(l1_penalty=-0.1)
    with pytest.raises(ValueError, match="clip_view"):
        build(clip_view="tiles")
    with pytest.raises(ValueError, match="not a file"):
        build(vocabulary="no/such/vocabulary.txt")
    with pytest.raises(ValueError, match="vocabulary_size"):
        build(vocabulary_size=0)
    info = semfidelity.metric_info("splice_nonsym")
    assert info["score_range"] == [0.0, 1.0] and info["lower_better"] is False
    assert info["differentiable"] is False and info["weights"] == ["clip-vit-b-32-openai"]


def test_default_vocabulary_end_to_end(images):
    m = build("splice_sym", vocabulary=None, clip_view="whole")
    assert len(m.concepts) == 10000 and m.dictionary.shape == (10000, 16)
    s = m(torch.cat([images["baby_bic"], images["bird_hr"]]), images["baby_hr"])
    assert ((s >= 0) & (s <= 1)).all()
