"""TWS semantic term (issue 12): full coverage, region pooling, floor rescaling, maps.

Coverage uses the tiny random CLIP; the pooling logic is also checked with a deterministic toy
encoder whose embeddings are a known function of region content (tests/toy_encoder.py).
"""

from __future__ import annotations

import math

import pytest
import torch
from repo_data import SET5
from tiny_clip import TINY_CLIP_OPTIONS, make_tiny_clip
from toy_encoder import ToyEncoder

import semfidelity
from semfidelity.backbones import clip_floor
from semfidelity.backbones.clip_floor import FLOOR_IMAGES, floor_images, semantic_floor
from semfidelity.functional.semantic import paint_regions, pool_similarities, rescale_cosine

SHAPES = {"square": (64, 64), "wide": (64, 160), "tall": (160, 64)}


def clip_sim(**options):
    make_tiny_clip()
    if "clip_encoder" not in options:
        options = {**TINY_CLIP_OPTIONS, **options}
    return semfidelity.create_metric("clip_sim", device="cpu", **options)


def paste(x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """Central (H/4 x W/4) block of ``x`` replaced by the top-left block of ``other``."""
    x = x.clone()
    h, w = x.shape[-2:]
    ph, pw = h // 4, w // 4
    y0, x0 = h // 2 - ph // 2, w // 2 - pw // 2
    x[..., y0 : y0 + ph, x0 : x0 + pw] = other[..., :ph, :pw]
    return x


def strips(h: int, w: int) -> dict[str, tuple[slice, slice]]:
    sh, sw = int(0.15 * h), int(0.15 * w)
    full = slice(None)
    return {
        "left": (full, slice(0, sw)),
        "right": (full, slice(w - sw, w)),
        "top": (slice(0, sh), full),
        "bottom": (slice(h - sh, h), full),
    }


@pytest.mark.parametrize("view", ["whole", "tiles"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_change_in_any_border_strip_moves_the_semantic_term(view, shape):
    h, w = SHAPES[shape]
    target = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    m = clip_sim(clip_view=view)
    preds = []
    for rows, cols in strips(h, w).values():
        pred = target.clone()
        pred[..., rows, cols] = 1.0 - pred[..., rows, cols]
        preds.append(pred)
    scores = m(torch.cat(preds), target)
    assert bool((scores < 1.0 - 1e-4).all()), (view, shape, scores)
    torch.testing.assert_close(m(target, target), torch.ones(1), atol=1e-5, rtol=0)


def test_the_old_centre_crop_is_blind_to_the_sides_of_a_wide_image():
    """Issue 12, measured item 1, kept reachable as ``clip_view="centre"``."""
    h, w = SHAPES["wide"]
    target = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    pred = target.clone()
    rows, cols = strips(h, w)["left"]
    pred[..., rows, cols] = 1.0 - pred[..., rows, cols]
    assert float(clip_sim(clip_view="centre")(pred, target)) == pytest.approx(1.0, abs=1e-6)
    assert float(clip_sim()(pred, target)) < 1.0 - 1e-4


def test_centre_raw_whole_is_the_old_clamped_cosine_and_global_is_a_deprecated_alias():
    g = torch.Generator().manual_seed(1)
    target = torch.rand(1, 3, 48, 64, generator=g)
    pred = (target + 0.3 * torch.randn(3, 3, 48, 64, generator=g)).clamp(0, 1)
    old = clip_sim(clip_view="centre", semantic_scale="raw")
    enc = old.clip
    want = (enc.embed(pred) * enc.embed(target)).sum(-1).clamp(0, 1)
    torch.testing.assert_close(old(pred, target), want, atol=1e-6, rtol=0)
    with pytest.warns(FutureWarning, match="clip_view='global'.*'centre'"):
        alias = clip_sim(clip_view="global", semantic_scale="raw")
    torch.testing.assert_close(alias(pred, target), want, atol=1e-6, rtol=0)


def test_pooling_maths():
    whole = torch.tensor([1.0, 1.0, 0.5])
    regions = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]])
    torch.testing.assert_close(
        pool_similarities(whole, regions, "mean"), torch.tensor([0.875, 1.0, 0.5])
    )
    torch.testing.assert_close(
        pool_similarities(whole, regions, "min"), torch.tensor([0.0, 1.0, 0.5])
    )
    torch.testing.assert_close(pool_similarities(whole, regions, "whole"), whole)
    got = pool_similarities(whole, regions, "pnorm", 4.0)
    want = torch.tensor([1 - (0.5 * 0.25) ** 0.25, 1.0, 0.5])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    torch.testing.assert_close(pool_similarities(whole, regions, "pnorm", 1.0), want.new_tensor(
        [0.875, 1.0, 0.5]), atol=1e-5, rtol=0)  # fmt: skip
    # the same total dissimilarity concentrated in one region scores lower than spread thinly
    spread = torch.full((1, 4), 0.75)
    one = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    ones = torch.ones(1)
    assert float(pool_similarities(ones, one)) < float(pool_similarities(ones, spread))
    # finite gradients where everything agrees (loss use at identity)
    r = torch.ones(2, 4, requires_grad=True)
    pool_similarities(torch.ones(2), r).sum().backward()
    assert torch.isfinite(r.grad).all()


def test_rescale_and_paint():
    cos = torch.tensor([1.0, 0.8, 0.5, -0.2])
    torch.testing.assert_close(rescale_cosine(cos, 0.6), torch.tensor([1.0, 0.5, 0.0, 0.0]))
    torch.testing.assert_close(rescale_cosine(cos, None), torch.tensor([1.0, 0.8, 0.5, 0.0]))
    boxes = [(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 0.5, 1.0), (0.25, 0.0, 0.5, 0.5)]
    m = paint_regions(torch.tensor([[1.0, 0.0, 0.5]]), boxes, (4, 2))[0, 0]
    torch.testing.assert_close(m, torch.tensor([[1.0, 1.0], [0.75, 1.0], [0.25, 0.0], [0.0, 0.0]]))


@pytest.fixture(scope="module")
def set5_hr(set5_pairs):
    return {name: set5_pairs[name][1] for name in SET5}


def _pasted_and_noisy(set5_hr, name):
    gt = set5_hr[name]
    other = set5_hr[SET5[(SET5.index(name) + 1) % len(SET5)]]
    pasted = paste(gt, other)
    sigma = float(((pasted - gt) ** 2).mean()) ** 0.5  # same MSE, hence the same PSNR
    noise = sigma * torch.randn(gt.shape, generator=torch.Generator().manual_seed(0))
    return gt, pasted, gt + noise  # noise unclipped: exactly the same PSNR


def test_toy_encoder_a_foreign_block_lowers_the_term_more_than_global_noise(set5_hr):
    """Foreign content on 1/16 of the image vs Gaussian noise of the same PSNR (Set5 HR)."""
    pooled = clip_sim(clip_encoder=ToyEncoder())
    mean = clip_sim(clip_encoder=ToyEncoder(), clip_pooling="mean")
    for name in SET5:
        gt, pasted, noisy = _pasted_and_noisy(set5_hr, name)
        noisy = noisy.clamp(0, 1)
        s_pasted, s_noisy = float(pooled(pasted, gt)), float(pooled(noisy, gt))
        assert s_pasted < s_noisy, (name, s_pasted, s_noisy)
        # pooling is what makes the block count: the p-norm drop exceeds the mean's
        drop_pnorm, drop_mean = 1 - s_pasted, 1 - float(mean(pasted, gt))
        assert drop_pnorm > 1.5 * drop_mean, (name, drop_pnorm, drop_mean)


def test_toy_encoder_regions_are_windows_of_its_tokens(set5_hr):
    gt = set5_hr["baby"]
    pasted = paste(gt, set5_hr["bird"])
    m = clip_sim(clip_encoder=ToyEncoder(), clip_pooling="min", semantic_scale="raw")
    enc = m.clip
    _, tp = enc.encode_with_tokens(enc.preprocess_whole(pasted))
    _, tt = enc.encode_with_tokens(enc.preprocess_whole(gt))
    cos = torch.nn.functional.cosine_similarity(tp, tt, dim=-1)  # (1, 4, 4): grid (4, 4)
    whole = float(
        (enc.encode(enc.preprocess_whole(pasted)) * enc.encode(enc.preprocess_whole(gt))).sum()
    )
    assert float(m(pasted, gt)) == pytest.approx(min(whole, float(cos.min())), abs=1e-5)
    smap = m.semantic_map(pasted, gt)[0, 0]  # 512x512: token (i, j) covers a 128 px square
    worst = divmod(int(cos.flatten().argmin()), 4)
    block = smap[worst[0] * 128 : (worst[0] + 1) * 128, worst[1] * 128 : (worst[1] + 1) * 128]
    assert float(block.mean()) == pytest.approx(float(cos.min()), abs=1e-5)


def test_tiny_clip_pooling_turns_the_order_of_local_and_global_change(set5_hr):
    """Random ViT: with whole-image pooling a brightness shift of the same PSNR looks worse
    than a foreign block; the default p-norm over regions ranks the block worse."""
    default, whole = clip_sim(), clip_sim(clip_pooling="whole")
    flips = 0
    for name in SET5:
        gt, pasted, _ = _pasted_and_noisy(set5_hr, name)
        shift = (gt + float(((pasted - gt) ** 2).mean()) ** 0.5).clamp(0, 1)
        flips += float(default(pasted, gt)) < float(default(shift, gt)) and float(
            whole(pasted, gt)
        ) > float(whole(shift, gt))
    assert flips >= 4


def test_floor_is_measured_once_per_encoder_and_view(monkeypatch):
    calls = []
    real = clip_floor.measure_floor
    monkeypatch.setattr(clip_floor, "_MEMORY", {})
    monkeypatch.setattr(clip_floor, "measure_floor", lambda *a: calls.append(a[1:]) or real(*a))
    enc = ToyEncoder(floor_key="toy-once")
    f1 = semantic_floor(enc, "whole", (4, 4))
    f2 = semantic_floor(enc, "whole", (4, 4))
    semantic_floor(enc, "tiles", (2, 2))
    assert f1 is f2 and calls == [("whole", (4, 4)), ("tiles", (2, 2))]
    assert -1 < f1.whole < 1 and -1 < f1.region < 1 and f1.images == len(FLOOR_IMAGES) == 16


def test_floor_procedure_is_the_median_cosine_of_unrelated_images():
    imgs = floor_images()
    assert imgs.shape == (16, 3, 448, 448) and float(imgs.min()) >= 0 and float(imgs.max()) <= 1
    enc = ToyEncoder()
    emb = enc.encode(enc.preprocess_whole(imgs))
    cos = emb @ emb.T
    pairs = [float(cos[i, j]) for i in range(16) for j in range(i + 1, 16)]
    assert len(pairs) == 120
    floor = clip_floor.measure_floor(enc, "whole", (4, 4))
    assert floor.whole == pytest.approx(float(torch.tensor(pairs).median()), abs=1e-6)
    # the floor maps a typical unrelated pair to 0 and spreads related pairs over [0, 1]
    assert floor.whole > 0.3


def test_floor_of_manifest_weights_is_cached_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMFID_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(clip_floor, "_MEMORY", {})
    enc = ToyEncoder(floor_key="toy-disk", floor_persistent=True)
    first = semantic_floor(enc, "whole", (4, 4))
    assert (tmp_path / "semantic_floors.json").is_file()
    monkeypatch.setattr(clip_floor, "_MEMORY", {})
    monkeypatch.setattr(clip_floor, "measure_floor", lambda *a: pytest.fail("re-measured"))
    assert semantic_floor(enc, "whole", (4, 4)) == first


def test_semantic_scale_floor_spreads_the_raw_cosine():
    g = torch.Generator().manual_seed(2)
    target = torch.rand(1, 3, 64, 64, generator=g)
    pred = (target + 0.1 * torch.randn(2, 3, 64, 64, generator=g)).clamp(0, 1)
    for pooling in ("whole", "pnorm"):
        raw = clip_sim(clip_pooling=pooling, semantic_scale="raw")(pred, target)
        floor = clip_sim(clip_pooling=pooling)(pred, target)
        assert bool((floor < raw).all()), (pooling, floor, raw)  # same order, wider range
    m = clip_sim(clip_pooling="whole")
    f = m.semantic_floor().whole
    whole, _, _ = m.similarities(pred, target)
    raw_whole, _, _ = clip_sim(clip_pooling="whole", semantic_scale="raw").similarities(
        pred, target
    )
    torch.testing.assert_close(whole, ((raw_whole - f) / (1 - f)).clamp(0, 1), atol=1e-5, rtol=0)


def test_grid_option_forms():
    from semfidelity.backbones.clip_views import check_grid

    assert check_grid(None, "whole") == (4, 4) and check_grid(None, "tiles") == (2, 2)
    assert check_grid(3, "tiles") == (3, 3) and check_grid("2x3", "tiles") == (2, 3)
    assert check_grid([1, 2], "whole") == (1, 2)
    for bad in ("2by3", (2,), (2, 0), (True, 2), 2.5):
        with pytest.raises(ValueError, match="clip_grid"):
            check_grid(bad, "whole")


@pytest.mark.parametrize(
    "options, match",
    [
        ({"clip_view": "crops"}, "clip_view.*'whole', 'tiles', 'centre'"),
        ({"clip_grid": (0, 2)}, "clip_grid"),
        ({"clip_grid": (8, 8)}, "clip_grid.*token grid"),
        ({"clip_pooling": "max"}, "clip_pooling.*'pnorm'"),
        ({"clip_p": 0.5}, "clip_p.*>= 1"),
        ({"clip_p": math.inf}, "clip_p"),
        ({"semantic_scale": "log"}, "semantic_scale.*'floor', 'raw'"),
    ],
)
def test_bad_semantic_options(options, match):
    with pytest.raises(ValueError, match=match):
        m = clip_sim(**options)
        x = torch.rand(1, 3, 64, 64)
        m(x, x)


def test_tws_map_points_at_the_foreign_block(set5_hr):
    make_tiny_clip()
    m = semfidelity.create_metric("tws", device="cpu", **TINY_CLIP_OPTIONS)
    assert semfidelity.metric_info("tws")["has_map"]
    gt = set5_hr["bird"][..., :192, :256]
    pasted = paste(gt, set5_hr["butterfly"])  # block rows 72:120, cols 96:160
    maps = m.components_map(torch.cat([pasted, gt]), gt)
    assert set(maps) == {"semantic", "edge", "wavelet", "tws"}
    for name, v in maps.items():
        assert v.shape == (2, 1, 192, 256) and v.dtype == torch.float32
        assert float(v.min()) >= 0 and float(v.max()) <= 1, name
        torch.testing.assert_close(v[1], torch.ones(1, 192, 256), atol=1e-4, rtol=0)
    want = (maps["semantic"] + maps["edge"] + maps["wavelet"]) / 3
    torch.testing.assert_close(maps["tws"], want, atol=1e-6, rtol=0)
    torch.testing.assert_close(m.map(pasted, gt), maps["tws"][:1], atol=1e-6, rtol=0)
    score, trust = m.score_and_map(pasted, gt)  # one CLIP pass for both
    torch.testing.assert_close(score, m(pasted, gt), atol=1e-6, rtol=0)
    torch.testing.assert_close(trust, maps["tws"][:1], atol=1e-6, rtol=0)
    inside = torch.zeros(192, 256, dtype=torch.bool)
    inside[72:120, 96:160] = True
    for name, v in maps.items():
        assert float(v[0, 0][inside].mean()) < float(v[0, 0][~inside].mean()) - 0.1, name
    no_sem = semfidelity.create_metric("tws", device="cpu", mix=(0, 1, 1))
    assert set(no_sem.components_map(pasted, gt)) == {"edge", "wavelet", "tws"}
