"""semfid-train on pairs made by semfid-make-pairs from real images (CPU, 64x64, frozen
randomly initialised ResNet-50 stages; features cached)."""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import load_file

import semfidelity
from semfidelity.cli.train import main
from semfidelity.training import PairDataset, evaluate_metrics
from semfidelity.training.train import TrainConfig, train


def test_regressor_learns_on_real_image_pairs(train_csv, val_csv, backbone_file, tmp_path):
    out = tmp_path / "heads"
    args = ["clip_lpips", "--train", str(train_csv), "--val", str(val_csv), "--out", str(out)]
    args += ["--backbone-weights", str(backbone_file), "--depth", "2", "--size", "64"]
    args += ["--epochs", "5", "--lr", "0.05", "--batch-size", "8", "--seed", "0"]
    start = time.perf_counter()
    assert main([*args, "--no-progress", "--quiet"]) == 0
    seconds = time.perf_counter() - start
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    val_loss = [h["val_mse"] for h in history]
    print(
        f"\nclip_lpips run: {seconds:.1f} s, val MSE per epoch {[round(v, 4) for v in val_loss]}, "
        f"val SRCC {history[-1]['val_srcc']:.3f}"
    )
    assert [h["epoch"] for h in history] == list(range(6))
    assert val_loss[-1] < val_loss[0] - 0.05
    assert history[-1]["val_srcc"] > 0.3
    assert {"val_mse_bin", "val_plcc", "val_krcc", "train_loss"} <= set(history[-1])
    assert seconds < 100

    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "clip_lpips" and card["complete"]
    assert card["data"]["train"]["n"] == 96 and len(card["data"]["val"]["csv_sha256"]) == 64
    assert card["versions"]["torch"] == torch.__version__
    assert card["final_metrics"]["val_srcc"] == history[-1]["val_srcc"]

    # the folder loads with create_metric and reproduces the validation scores
    metric = semfidelity.create_metric(
        "clip_lpips", heads=str(out), weights=str(backbone_file), device="cpu"
    )
    assert metric.calibrated and metric.config["depth"] == 2
    res = evaluate_metrics([metric], val_csv, size=64, batch_size=16, raw=("clip_lpips",))
    assert res["clip_lpips"]["mse"] == pytest.approx(history[-1]["val_mse"], rel=1e-5)
    assert res["clip_lpips"]["srcc"] == pytest.approx(history[-1]["val_srcc"])


def _cfg(kind, small_csvs, backbone_file, out, epochs=3):
    return TrainConfig(
        kind=kind,
        train_csv=str(small_csvs[0]),
        val_csv=str(small_csvs[1]),
        out=str(out),
        depth=2,
        backbone_weights=str(backbone_file),
        size=64,
        epochs=epochs,
        lr=0.01,
        batch_size=4,
        seed=3,
    )


def test_regressor_resume_gives_the_same_final_weights(small_csvs, backbone_file, tmp_path):
    whole = train(_cfg("clip_lpips", small_csvs, backbone_file, tmp_path / "a"), progress=False)
    part = train(
        _cfg("clip_lpips", small_csvs, backbone_file, tmp_path / "b"), progress=False, stop_after=1
    )
    assert [h["epoch"] for h in part.history] == [0, 1]
    assert not json.loads(part.card.read_text())["complete"]
    resumed = train(
        _cfg("clip_lpips", small_csvs, backbone_file, tmp_path / "b"), resume=True, progress=False
    )
    a, b = load_file(whole.weights), load_file(resumed.weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert whole.history == resumed.history
    assert whole.history[-1]["val_loss"] != whole.history[0]["val_loss"]  # it did train


def test_clu_resume_map_metrics_and_loading(small_csvs, backbone_file, tmp_path):
    cfg = _cfg("clu", small_csvs, backbone_file, tmp_path / "a", epochs=2)
    cfg.size, cfg.lr = 48, 0.003
    whole = train(cfg, progress=False)
    cfg.out = str(tmp_path / "b")
    train(cfg, progress=False, stop_after=1)
    resumed = train(cfg, progress=False, resume=True)
    a, b = load_file(whole.weights), load_file(resumed.weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    first, last = whole.history[0], whole.history[-1]
    assert {"val_iou", "val_auroc", "val_srcc", "val_mse_bin"} <= set(last)
    assert 0.0 <= last["val_iou"] <= 1.0 and last["val_auroc"] > 0.6
    assert last["val_loss"] < first["val_loss"]
    metric = semfidelity.create_metric("clu", decoder=cfg.out, weights=str(backbone_file))
    ds = PairDataset(small_csvs[1], size=48)
    m = metric.map(ds[0]["distorted"], ds[0]["reference"])
    assert m.shape == (1, 1, 48, 48) and 0 <= float(m.min()) and float(m.max()) <= 1


def test_clu_thesis_form_trains_and_loads(small_csvs, backbone_file, tmp_path):
    cfg = _cfg("clu", small_csvs, backbone_file, tmp_path, epochs=1)
    cfg.size, cfg.lr, cfg.form = 32, 0.003, "thesis"
    res = train(cfg, progress=False)
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"]
    metric = semfidelity.create_metric("clu", decoder=tmp_path, weights=str(backbone_file))
    assert metric.config["form"] == "thesis"
    bad = _cfg("clu", small_csvs, backbone_file, tmp_path / "x")
    bad.form = "similarity"
    with pytest.raises(ValueError, match="form"):
        train(bad, progress=False)


def test_resume_with_other_settings_and_bad_input_are_refused(small_csvs, backbone_file, tmp_path):
    train(_cfg("clip_lpips", small_csvs, backbone_file, tmp_path), progress=False, stop_after=1)
    other = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path)
    other.lr = 0.5
    with pytest.raises(ValueError, match="another configuration.*'lr'"):
        train(other, resume=True, progress=False)
    with pytest.raises(ValueError, match="kind"):
        train(_cfg("lpips", small_csvs, backbone_file, tmp_path), progress=False)
    bad = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path)
    bad.size, bad.batch_size = None, 4
    with pytest.raises(ValueError, match="batch_size"):
        train(bad, progress=False)
    assert (
        main(
            [
                "clu",
                "--train",
                str(tmp_path / "none.csv"),
                "--val",
                str(small_csvs[1]),
                "--out",
                str(tmp_path / "x"),
                "--quiet",
            ]
        )
        == 1
    )


def test_finetune_trains_and_saves_the_backbone(small_csvs, backbone_file, tmp_path):
    cfg = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path, epochs=1)
    cfg.finetune, cfg.size, cfg.lr = True, 32, 0.05
    res = train(cfg, progress=False)
    tuned = load_file(tmp_path / "backbone.safetensors")
    start = load_file(backbone_file)
    assert tuned.keys() <= start.keys()
    assert any(not torch.equal(tuned[k], start[k]) for k in tuned)
    card = json.loads(res.card.read_text())
    assert "backbone.safetensors" in card["load"]
    cfg.cache_features, cfg.out = True, str(tmp_path / "x")
    with pytest.raises(ValueError, match="cache_features"):
        train(cfg, progress=False)
