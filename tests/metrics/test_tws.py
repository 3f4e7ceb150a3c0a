"""TWS and clip_sim: properties, broadcasting, loss use, options (tiny random CLIP)."""

from __future__ import annotations

import pytest
import torch
from tiny_clip import TINY_CLIP_OPTIONS, make_tiny_clip

import semfidelity
from semfidelity.backbones.clip import tile_grid
from semfidelity.functional import edge_ssim, wavelet_similarity
from semfidelity.metrics.tws import parse_tws_mix

NAMES = ("semantic", "edge", "wavelet", "tws")


def tws(**options):
    make_tiny_clip()
    return semfidelity.create_metric("tws", device="cpu", **{**TINY_CLIP_OPTIONS, **options})


@pytest.fixture(scope="module")
def metric():
    return tws()


@pytest.fixture(scope="module")
def pair():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(1, 3, 48, 64, generator=g)
    noise = 0.15 * torch.randn(4, 3, 48, 64, generator=g) * torch.arange(1, 5).view(4, 1, 1, 1)
    return (target + noise).clamp(0, 1), target


class VisualCounter:
    """Counts the images that go through the CLIP image tower."""

    def __init__(self, metric):
        self.batches: list[int] = []
        self.handle = metric.clip.visual.register_forward_pre_hook(
            lambda _m, args: self.batches.append(args[0].shape[0])
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def test_registered_with_metadata():
    info = semfidelity.metric_info("tws")
    assert info["score_range"] == [0.0, 1.0] and not info["lower_better"]
    assert info["has_components"] and info["differentiable"]
    assert info["weights"] == ["clip-vit-b-32-openai"]
    assert set(info["options"]) >= {
        "clip_model", "clip_pretrained", "clip_view", "clip_weights", "clip_grid",
        "clip_pooling", "clip_p", "semantic_scale", "clip_encoder", "edge", "wavelet",
        "levels", "wavelet_formula", "wavelet_k", "mix", "weights",
    }  # fmt: skip
    assert semfidelity.metric_info("clip_sim")["weights"] == ["clip-vit-b-32-openai"]


def test_identity_gives_one_for_every_component(metric, set5_pairs):
    _, hr = set5_pairs["bird"]
    x = torch.cat([hr[..., :96, :128], torch.rand(1, 3, 96, 128)])
    comps = metric.components(x, x)
    for name in NAMES:
        torch.testing.assert_close(comps[name], torch.ones(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(metric(x, x), torch.ones(2), atol=1e-5, rtol=0)


def test_components_stay_in_unit_interval(metric):
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(6, 3, 40, 40, generator=g), torch.rand(6, 3, 40, 40, generator=g)
    extremes = torch.stack([torch.zeros(3, 40, 40), torch.ones(3, 40, 40)])
    for pred, target in [(a, b), (a, 1 - a), (extremes, extremes.flip(0))]:
        comps = metric.components(pred, target)
        for name in NAMES:
            assert comps[name].shape == (pred.shape[0],) and comps[name].dtype == torch.float32
            assert float(comps[name].min()) >= 0.0 and float(comps[name].max()) <= 1.0


def test_tws_is_the_weighted_sum_and_reuses_classical_terms(pair):
    pred, target = pair
    m = tws(mix=(2, 1, 1))
    assert m.mix == (0.5, 0.25, 0.25)
    comps = m.components(pred, target)
    want = 0.5 * comps["semantic"] + 0.25 * comps["edge"] + 0.25 * comps["wavelet"]
    torch.testing.assert_close(comps["tws"], want, atol=1e-6, rtol=0)
    torch.testing.assert_close(m(pred, target), want, atol=1e-6, rtol=0)
    torch.testing.assert_close(comps["edge"], edge_ssim(pred, target), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        comps["wavelet"], wavelet_similarity(pred, target), atol=1e-6, rtol=0
    )
    clip_sim = semfidelity.create_metric("clip_sim", device="cpu", **TINY_CLIP_OPTIONS)
    torch.testing.assert_close(clip_sim(pred, target), comps["semantic"], atol=1e-6, rtol=0)


def test_more_noise_scores_lower(metric, pair):
    pred, target = pair
    comps = metric.components(pred, target)
    for name in ("edge", "wavelet", "tws"):
        assert bool((comps[name].diff() < 0).all()), (name, comps[name])


def test_one_target_against_n_preds_equals_explicit_pairs_and_embeds_target_once(metric, pair):
    pred, target = pair
    n = pred.shape[0]
    with VisualCounter(metric) as counter:
        broadcast = metric.components(pred, target)
    assert sorted(counter.batches) == [1, n]  # target embedded once, preds in one batch
    explicit = metric.components(pred, target.expand(n, -1, -1, -1).clone())
    singles = [metric.components(pred[i : i + 1], target) for i in range(n)]
    for name in NAMES:
        torch.testing.assert_close(broadcast[name], explicit[name], atol=1e-5, rtol=0)
        single = torch.cat([s[name] for s in singles])
        torch.testing.assert_close(broadcast[name], single, atol=1e-5, rtol=0)


def test_loss_mode_gradients_reach_pred_not_clip(pair):
    pred, target = pair
    loss_fn = tws(as_loss=True)
    x = pred.clone().requires_grad_(True)
    loss = loss_fn(x, target)
    assert loss.ndim == 0
    scores = tws()(pred, target)
    torch.testing.assert_close(loss.detach(), 1 - scores.mean(), atol=1e-6, rtol=0)
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0
    assert all(p.grad is None and not p.requires_grad for p in loss_fn.parameters())
    assert not loss_fn.training


def test_loss_at_identity_has_finite_gradients(pair):
    _, target = pair
    x = target.clone().requires_grad_(True)
    tws(as_loss=True)(x, target).backward()
    assert torch.isfinite(x.grad).all()


def test_semantic_gradient_reaches_pred_through_preprocessing(pair):
    pred, target = pair
    x = pred[:1].clone().requires_grad_(True)
    semfidelity.create_metric("clip_sim", device="cpu", as_loss=True, **TINY_CLIP_OPTIONS)(
        x, target
    ).backward()
    assert float(x.grad.abs().sum()) > 0


@pytest.mark.parametrize("mix", [(1, 1, 1), (0, 1, 1)])
def test_component_names_are_known_before_a_forward(pair, mix):
    m = tws(mix=mix)
    assert m.component_names == tuple(m.components(*pair))


def test_luma_is_computed_once_per_image(pair, monkeypatch):
    import semfidelity.functional.color as color

    rgb_conversions = []
    weighted_sum = color._weighted_sum

    def counting(x, weights):
        rgb_conversions.append(x.shape[1] == 3)
        return weighted_sum(x, weights)

    monkeypatch.setattr(color, "_weighted_sum", counting)
    m = tws(mix=(0, 1, 1))
    m(*pair)
    assert sum(rgb_conversions) == 2  # pred and target, shared by the edge and wavelet terms
    rgb_conversions.clear()
    m.components(*pair)
    assert sum(rgb_conversions) == 2


def test_zero_weight_components_are_not_computed(pair):
    pred, target = pair
    m = tws(mix=(0, 1, 1))
    assert m.clip is None  # not built at all
    score = m(pred, target)
    want = 0.5 * (edge_ssim(pred, target) + wavelet_similarity(pred, target))
    torch.testing.assert_close(score, want, atol=1e-6, rtol=0)
    comps = m.components(pred, target)
    assert set(comps) == {"edge", "wavelet", "tws"}
    torch.testing.assert_close(comps["tws"], want, atol=1e-6, rtol=0)


def test_zero_semantic_weight_needs_no_clip_weights(monkeypatch, tmp_path):
    """Issue 12: a zero semantic weight raised WeightNotFoundError when CLIP was not cached."""
    from hubserver import isolate_hub_env

    from semfidelity.weights import WeightNotFoundError

    isolate_hub_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SEMFID_OFFLINE", "1")
    with pytest.raises(WeightNotFoundError):
        semfidelity.create_metric("tws", device="cpu")
    m = semfidelity.create_metric("tws", device="cpu", mix=(0, 1, 1))
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(m(x, x), torch.ones(1), atol=1e-6, rtol=0)


def test_wavelet_formula_options(pair):
    pred, target = pair
    for formula, k in (("stable", 0.015), ("stable", 0.05), ("ratio", 0.015)):
        got = tws(mix=(0, 0, 1), wavelet_formula=formula, wavelet_k=k)(pred, target)
        want = wavelet_similarity(pred, target, formula=formula, k=k)
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_tiles_view_on_a_non_square_image(pair):
    pred, target = pair  # 48 x 64
    m = tws(clip_view="tiles", clip_grid=(2, 3), semantic_scale="raw", clip_pooling="mean")
    with VisualCounter(m) as counter:
        comps = m.components(pred, target)
    n, k = pred.shape[0], 6
    assert sorted(counter.batches) == [1 + k, n * (1 + k)]  # one call per side
    enc = m.clip

    def emb(x):
        return enc.encode(enc.preprocess_whole(x))

    glob = (emb(pred) * emb(target)).sum(-1).clamp(0, 1)
    tile_cos = torch.stack(
        [
            (emb(pred[..., t : t + h, c : c + w]) * emb(target[..., t : t + h, c : c + w]))
            .sum(-1)
            .clamp(0, 1)
            for t, c, h, w in tile_grid(48, 64, (2, 3), overlap=0.25)
        ]
    ).mean(0)
    torch.testing.assert_close(comps["semantic"], 0.5 * (glob + tile_cos), atol=1e-5, rtol=0)
    assert not torch.allclose(comps["semantic"], glob)
    torch.testing.assert_close(m(target, target), torch.ones(1), atol=1e-5, rtol=0)


def test_canny_edges_score_but_refuse_loss_mode(pair):
    pred, target = pair
    comps = tws(edge="canny").components(pred, target)
    assert float(comps["edge"].min()) >= 0 and float(comps["edge"].max()) <= 1
    with pytest.raises(ValueError, match="edge.*canny.*not differentiable"):
        tws(edge="canny", as_loss=True)


def test_other_wavelet_and_levels(pair):
    pred, target = pair
    comps = tws(wavelet="db2", levels=2).components(pred, target)
    want = wavelet_similarity(pred, target, wavelet="db2", levels=2)
    torch.testing.assert_close(comps["wavelet"], want, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"clip_view": "crops"}, ValueError, "clip_view.*'whole', 'tiles', 'centre'"),
        ({"clip_grid": (0, 2)}, ValueError, "clip_grid"),
        ({"edge": "laplace"}, ValueError, "edge.*'sobel'"),
        ({"wavelet": "morl"}, ValueError, "wavelet.*discrete"),
        ({"levels": 0}, ValueError, "levels.*>= 1"),
        ({"wavelet_formula": "l2"}, ValueError, "wavelet_formula.*'stable', 'ratio'"),
        ({"wavelet_k": -0.1}, ValueError, "wavelet_k"),
        ({"mix": (1, 1)}, ValueError, "mix.*3 numbers"),
        ({"mix": (1, -1, 1)}, ValueError, "mix.*non-negative"),
        ({"mix": (0, 0, 0)}, ValueError, "mix.*positive sum"),
        ({"mix": "1,1,1"}, TypeError, "mix.*parse_tws_mix"),
        ({"mix": (1, 1, 1), "weights": (1, 1, 1)}, TypeError, "mix or its deprecated name"),
        ({"wavelets": "haar"}, TypeError, "did you mean 'wavelet'"),
    ],
)
def test_bad_options_raise_naming_the_option(options, error, match):
    with pytest.raises(error, match=match):
        tws(**options)


def test_min_size_covers_the_wavelet_levels_like_the_wavelet_metric():
    wavelet = semfidelity.create_metric("wavelet", device="cpu", wavelet="db4", levels=3)
    m = tws(wavelet="db4", levels=3)
    assert m.min_size == wavelet.min_size == 56
    assert tws().min_size == 16  # haar, 3 levels: the metric's own floor
    x = torch.rand(1, 3, 20, 20)
    with pytest.raises(ValueError, match="smaller than the minimum 56x56"):
        m(x, x)


def test_parse_tws_mix():
    assert parse_tws_mix("2,1,1") == (0.5, 0.25, 0.25)
    assert parse_tws_mix(" 0.2, 0.3 ,0.5") == pytest.approx((0.2, 0.3, 0.5))
    with pytest.raises(ValueError, match="semantic,edge,wavelet"):
        parse_tws_mix("a,b,c")
    with pytest.raises(ValueError, match="3 numbers"):
        parse_tws_mix("1,2")
    with pytest.raises(ValueError, match="non-negative"):
        parse_tws_mix("1,-2,1")


def test_deprecated_weights_names_warn_and_still_work(pair):
    pred, target = pair
    with pytest.warns(DeprecationWarning, match="use mix="):
        old = tws(weights=(0, 1, 1))
    with pytest.warns(DeprecationWarning, match="TWS.mix"):
        assert old.weights == old.mix == (0.0, 0.5, 0.5)
    torch.testing.assert_close(old(pred, target), tws(mix=(0, 1, 1))(pred, target))
    from semfidelity.metrics import tws as module

    with pytest.warns(DeprecationWarning, match="parse_tws_mix"):
        assert module.parse_tws_weights("2,1,1") == (0.5, 0.25, 0.25)
    with pytest.warns(DeprecationWarning, match="normalise_tws_mix"):
        assert module.normalise_tws_weights((2, 1, 1)) == (0.5, 0.25, 0.25)


def test_too_small_image_is_refused(metric):
    with pytest.raises(ValueError, match="smaller than the minimum"):
        metric(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_under_autocast_statistics_stay_float32(metric, pair):
    pred, target = pair
    ref = metric.components(pred, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = metric.components(pred, target)
    for name in NAMES:
        assert got[name].dtype == torch.float32
    for name in ("edge", "wavelet"):  # computed with autocast disabled
        torch.testing.assert_close(got[name], ref[name], atol=1e-6, rtol=0)
    torch.testing.assert_close(got["semantic"], ref["semantic"], atol=0.05, rtol=0)
