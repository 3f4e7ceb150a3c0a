"""clu: a decoder saved by the test loads through create_metric; maps in [0, 1]; errors."""

from __future__ import annotations

import pytest
import torch

import semfidelity
from semfidelity.metrics.clu import (
    CLUDecoder,
    clu_logits,
    feature_differences,
    load_decoder,
    save_decoder,
)


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("clu")
    decoder = CLUDecoder([64, 256, 512])
    with torch.no_grad():
        decoder.out.bias.fill_(-1.0)  # a distinctive state, checked after loading
    save_decoder(decoder, folder / "decoder.safetensors", config={"backbone": "clip", "depth": 2})
    return folder


@pytest.fixture(scope="module")
def metric(decoder_dir):
    torch.manual_seed(0)
    return semfidelity.create_metric("clu", decoder=decoder_dir, weights="random", device="cpu")


def test_decoder_round_trip(decoder_dir):
    decoder, config = load_decoder(decoder_dir / "decoder.safetensors")
    assert config == {"backbone": "clip", "depth": 2, "channels": [64, 256, 512], "form": "change"}
    assert decoder.out.bias.item() == -1.0


def test_maps_shape_range_and_score(metric, set5_pairs):
    assert metric.config["backbone"] == "clip" and metric.config["depth"] == 2
    assert metric.decoder.out.bias.item() == -1.0
    pred, target = (x[..., :80, :72] for x in set5_pairs["bird"])
    pred = torch.cat([pred, target])
    maps = metric.map(pred, target)
    assert maps.shape == (2, 1, 80, 72)
    assert (maps >= 0).all() and (maps <= 1).all()
    scores = metric(pred, target)
    torch.testing.assert_close(scores, maps.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(metric.score_and_map(pred, target), (scores, maps))
    singles = torch.cat([metric(pred[i : i + 1], target) for i in range(2)])
    torch.testing.assert_close(scores, singles, rtol=0, atol=1e-5)
    assert not torch.equal(maps[0], maps[1])  # the map depends on the difference


def test_functional_pieces():
    fp = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 4, 4)]
    diffs = feature_differences(fp, fp)
    assert all(d.abs().max() == 0 for d in diffs)
    logits = clu_logits(fp, [f.flip(0) for f in fp], CLUDecoder([4, 6]), (16, 16))
    assert logits.shape == (2, 1, 16, 16)


def test_thesis_form_reads_squared_error_maps_and_predicts_similarity(metric, tmp_path, set5_pairs):
    torch.manual_seed(1)
    decoder = CLUDecoder([64, 256, 512], form="thesis")
    save_decoder(decoder, tmp_path / "decoder.safetensors", config={"backbone": "clip", "depth": 2})
    thesis = semfidelity.create_metric(
        "clu", decoder=tmp_path, weights=metric.backbone.state_dict(), device="cpu"
    )
    assert thesis.config["form"] == "thesis" and thesis.decoder.form == "thesis"
    pred, target = (x[..., :64, :64] for x in set5_pairs["bird"])
    fp, ft = thesis.backbone(pred), thesis.backbone(target)
    similarity = torch.sigmoid(decoder([(p - t) ** 2 for p, t in zip(fp, ft)], (64, 64)))
    # one orientation for every decoder: map = change = 1 - the thesis' similarity map
    torch.testing.assert_close(thesis.map(pred, target), 1 - similarity, rtol=0, atol=1e-5)
    torch.testing.assert_close(thesis.similarity_map(pred, target), similarity, rtol=0, atol=1e-5)
    diffs = feature_differences(fp, ft, "thesis")
    assert all(torch.equal(d, (p - t) ** 2) for d, p, t in zip(diffs, fp, ft))
    assert "1 - S" in semfidelity.metric_info("clu")["notes"]
    with pytest.raises(ValueError, match="form"):
        CLUDecoder([4, 6], form="similarity")


def test_loss_gradients_reach_pred_only(metric, decoder_dir, set5_pairs):
    loss_metric = semfidelity.create_metric(
        "clu",
        decoder=decoder_dir,
        weights=metric.backbone.state_dict(),
        as_loss=True,
        device="cpu",
    )
    pred, target = (x[..., :64, :64] for x in set5_pairs["bird"])
    pred = pred.clone().requires_grad_(True)
    loss_metric(pred, target).backward()
    assert pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss_metric.parameters())


def test_missing_decoder_explains_how_to_train(tmp_path):
    with pytest.raises(ValueError, match=r"semfid-train clu .*docs/training\.md"):
        semfidelity.create_metric("clu")
    with pytest.raises(FileNotFoundError, match="decoder.safetensors"):
        semfidelity.create_metric("clu", decoder=tmp_path, weights="random")
    with pytest.raises(ValueError, match="decoder"):
        semfidelity.create_metric("clu", decoder="no-such-decoder", weights="random")
    info = semfidelity.metric_info("clu")
    assert info["score_range"] == [0.0, 1.0] and info["lower_better"] and info["has_map"]


def test_finetuned_backbone_beside_the_decoder_is_used(metric, tmp_path, set5_pairs):
    # semfid-train --finetune writes backbone.safetensors next to the decoder and records it.
    from safetensors.torch import save_file

    state = {k: v.clone().contiguous() for k, v in metric.backbone.state_dict().items()}
    state["bn1.running_mean"] += 0.5
    save_file(state, str(tmp_path / "backbone.safetensors"))
    save_decoder(
        metric.decoder,
        tmp_path / "decoder.safetensors",
        config={"backbone": "clip", "depth": 2, "backbone_weights": "backbone.safetensors"},
    )
    tuned = semfidelity.create_metric("clu", decoder=tmp_path, device="cpu")  # no manifest needed
    torch.testing.assert_close(tuned.backbone.bn1.running_mean, state["bn1.running_mean"])
    pred, target = (x[..., :64, :64] for x in set5_pairs["bird"])
    assert not torch.equal(tuned(pred, target), metric(pred, target))


def test_stage_maps_shapes_identity_and_thesis_mse(metric, tmp_path, set5_pairs):
    pred, target = (x[..., :80, :72] for x in set5_pairs["bird"])
    stages = metric.stage_maps(torch.cat([pred, target]), torch.cat([target, target]))
    assert len(stages) == 3 and all(m.shape == (2, 1, 80, 72) for m in stages)
    assert all(float(m[1].abs().max()) == 0 for m in stages)  # identical images: zero
    assert all(float(m[0].mean()) > 0 for m in stages)
    small = metric.stage_maps(pred, target, upsample=False)
    assert [tuple(m.shape[-2:]) for m in small] == [(40, 36), (20, 18), (10, 9)]
    fp, ft = metric.backbone(pred), metric.backbone(target)
    unit = [torch.nn.functional.normalize(f, dim=1, eps=1e-10) for f in (*fp, *ft)]
    expected = [(unit[s] - unit[s + 3]).abs().mean(1, keepdim=True) for s in range(3)]
    for got, want in zip(small, expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # thesis form: the per-stage MSE maps mean_c (f_p - f_t)^2
    save_decoder(
        CLUDecoder([64, 256, 512], form="thesis"),
        tmp_path / "decoder.safetensors",
        config={"backbone": "clip", "depth": 2},
    )
    thesis = semfidelity.create_metric(
        "clu", decoder=tmp_path, weights=metric.backbone.state_dict(), device="cpu"
    )
    for got, p, t in zip(thesis.stage_maps(pred, target, upsample=False), fp, ft):
        torch.testing.assert_close(got, ((p - t) ** 2).mean(1, keepdim=True))


def test_stage_maps_locate_a_changed_quadrant(metric, set5_pairs):
    target = set5_pairs["bird"][1][..., :64, :64]
    pred = target.clone()
    g = torch.Generator().manual_seed(0)
    pred[..., :32, :32] = torch.rand(1, 3, 32, 32, generator=g)
    for m in metric.stage_maps(pred, target):
        quads = [m[..., :32, :32], m[..., :32, 32:], m[..., 32:, :32], m[..., 32:, 32:]]
        sums = [float(q.sum()) for q in quads]
        assert sums[0] == max(sums) and sums[0] > 2 * sums[3]
