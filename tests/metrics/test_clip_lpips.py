"""clip_lpips: identity, bounds, monotone degradation, map localisation, heads I/O, loss."""

from __future__ import annotations

import pytest
import torch

import semfidelity
from semfidelity.metrics.clip_lpips import (
    LinearHeads,
    ThesisHeads,
    clip_lpips_distance,
    load_heads,
    save_heads,
)


@pytest.fixture(scope="module", params=["thesis", "lpips"])
def metric(request):
    torch.manual_seed(0)
    return semfidelity.create_metric(
        "clip_lpips", weights="random", head=request.param, device="cpu"
    )


@pytest.fixture(scope="module")
def lpips_metric(metric):
    return semfidelity.create_metric(
        "clip_lpips", weights=metric.backbone.state_dict(), head="lpips", device="cpu"
    )


@pytest.fixture(scope="module")
def image(baboon):
    return baboon["gt"][..., 100:196, 150:246].contiguous()  # (1, 3, 96, 96)


def _noise(image: torch.Tensor, strength: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (image + strength * torch.randn(image.shape, generator=g)).clamp(0, 1)


def test_identity_is_zero_and_scores_non_negative(metric, image, set5_pairs):
    assert metric(image, image).abs().max() < 1e-6
    pred, target = (x[..., :96, :96] for x in set5_pairs["head"])
    assert (metric(pred, target) > 0).all()
    assert not metric.calibrated
    info = semfidelity.metric_info("clip_lpips")
    assert "uncalibrated" in info["notes"] and info["lower_better"]


def test_monotone_in_perturbation_strength(metric, image):
    strengths = (0.02, 0.05, 0.1, 0.2, 0.4)
    preds = torch.cat([_noise(image, s) for s in strengths])
    scores = metric(preds, image)
    assert scores.shape == (5,)
    assert (scores[1:] > scores[:-1]).all(), scores


def test_map_localises_a_quadrant_perturbation(metric, image):
    pred = image.clone()
    pred[..., :48, 48:] = _noise(image, 0.3)[..., :48, 48:]  # top-right quadrant only
    dmap = metric.map(pred, image)
    assert dmap.shape == (1, 1, 96, 96) and (dmap >= 0).all()
    torch.testing.assert_close(metric.score_and_map(pred, image), (metric(pred, image), dmap))
    mass = [dmap[..., r : r + 48, c : c + 48].sum() for r in (0, 48) for c in (0, 48)]
    assert max(range(4), key=lambda i: mass[i]) == 1, mass


def test_batch_invariance_and_broadcast(metric, image):
    preds = torch.cat([_noise(image, 0.1, seed=s) for s in range(3)])
    singles = torch.cat([metric(preds[i : i + 1], image) for i in range(3)])
    torch.testing.assert_close(metric(preds, image), singles, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        metric(preds, image.expand(3, -1, -1, -1)), singles, rtol=0, atol=1e-5
    )


def test_loss_gradients_reach_pred_only(metric, image):
    loss_metric = semfidelity.create_metric(
        "clip_lpips", weights=metric.backbone.state_dict(), as_loss=True, device="cpu"
    )
    pred = _noise(image, 0.1)[..., :64, :64].clone().requires_grad_(True)
    loss = loss_metric(pred, image[..., :64, :64])
    loss.backward()
    assert loss.ndim == 0 and pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss_metric.parameters())
    same = image[..., :64, :64].clone().requires_grad_(True)
    loss_metric(same, image[..., :64, :64]).backward()
    assert torch.isfinite(same.grad).all()


def test_linear_heads_are_non_negative_and_distance_is_their_weighted_sum():
    heads = LinearHeads([4, 8])
    with torch.no_grad():
        heads.raw[0].copy_(torch.linspace(-30, 3, 4))
    weights = heads.weights()
    assert all((w >= 0).all() for w in weights)
    torch.testing.assert_close(weights[1], torch.full((8,), 0.5))
    fp = [torch.rand(2, 4, 5, 5), torch.rand(2, 8, 3, 3)]
    ft = [torch.rand(1, 4, 5, 5), torch.rand(1, 8, 3, 3)]
    score, maps = clip_lpips_distance(fp, ft, heads)
    assert score.shape == (2,) and [m.shape for m in maps] == [(2, 1, 5, 5), (2, 1, 3, 3)]
    n = [f / f.norm(dim=1, keepdim=True) for f in fp], [f / f.norm(dim=1, keepdim=True) for f in ft]
    manual = [
        ((a - b) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean((1, 2)) for a, b, w in zip(*n, weights)
    ]
    torch.testing.assert_close(score, (manual[0] + manual[1]) / 2)
    with pytest.raises(ValueError, match="channels"):
        LinearHeads([])


def test_defaults_are_the_thesis_model(metric):
    # thesis Table 1: best user-study model R50-ImageNet at depth 2 (stem + layer1 + layer2)
    assert metric.config["depth"] == 2 and metric.config["backbone"] == "imagenet"
    assert metric.backbone.channels == [64, 256, 512]
    assert semfidelity.create_metric("clip_lpips", weights="random").config["head"] == "thesis"


def test_thesis_heads_are_a_linear_layer_on_the_per_channel_mse():
    heads = ThesisHeads([4, 8])
    with torch.no_grad():
        heads.linear[0].weight.normal_()
        heads.linear[0].bias.fill_(-0.3)
    fp = [torch.rand(2, 4, 5, 5), torch.rand(2, 8, 3, 3)]
    ft = [torch.rand(1, 4, 5, 5), torch.rand(1, 8, 3, 3)]
    score, maps = clip_lpips_distance(fp, ft, heads)
    assert [m.shape for m in maps] == [(2, 1, 5, 5), (2, 1, 3, 3)]
    per_stage = [
        layer(((p - t) ** 2).mean(dim=(2, 3)))[:, 0] for p, t, layer in zip(fp, ft, heads.linear)
    ]
    torch.testing.assert_close(score, (per_stage[0] + per_stage[1]) / 2)
    untrained = ThesisHeads([4, 8])  # weights 1/C, bias 0: the plain per-stage feature MSE
    mse = [((p - t) ** 2).mean(dim=(1, 2, 3)) for p, t in zip(fp, ft)]
    torch.testing.assert_close(clip_lpips_distance(fp, ft, untrained)[0], (mse[0] + mse[1]) / 2)


def test_stage_maps_average_to_the_map(metric, image):
    pred = _noise(image, 0.1)
    stages = metric.stage_maps(pred, image)
    assert len(stages) == 3 and all(m.shape == (1, 1, 96, 96) for m in stages)
    torch.testing.assert_close(torch.stack(stages).mean(0), metric.map(pred, image))
    small = metric.stage_maps(pred, image, upsample=False)
    assert [m.shape[-1] for m in small] == [48, 24, 12]


def test_trained_heads_load_from_a_folder(lpips_metric, image, tmp_path):
    metric = lpips_metric
    heads = LinearHeads(metric.backbone.channels, init=1.0)
    save_heads(heads, tmp_path / "heads.safetensors", config={"backbone": "imagenet", "depth": 2})
    loaded, config = load_heads(tmp_path)
    assert config == {
        "backbone": "imagenet",
        "depth": 2,
        "channels": heads.channels,
        "head": "lpips",
    }
    calibrated = semfidelity.create_metric(
        "clip_lpips", heads=tmp_path, weights=metric.backbone.state_dict(), device="cpu"
    )
    assert calibrated.calibrated and calibrated.config["head"] == "lpips"
    pred = _noise(image, 0.1)
    # every weight doubled (0.5 -> 1.0): the score doubles
    torch.testing.assert_close(calibrated(pred, image), 2 * metric(pred, image), rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match="holds head='lpips'"):
        semfidelity.create_metric("clip_lpips", heads=tmp_path, head="thesis", weights="random")
    with pytest.raises(ValueError, match="trained for backbone='imagenet'"):
        semfidelity.create_metric("clip_lpips", heads=tmp_path, backbone="clip", weights="random")
    with pytest.raises(ValueError, match="backbone and depth"):
        save_heads(heads, tmp_path / "x.safetensors", config={"depth": 4})
