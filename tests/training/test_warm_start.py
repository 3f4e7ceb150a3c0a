"""``--init``: a run starts from an earlier run's head/decoder (and fine-tuned backbone)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import semfidelity
from semfidelity.cli.train import main
from semfidelity.training.train import CHECKPOINT, TrainConfig, train


def _cfg(kind, small_csvs, backbone_file, out, **kw):
    base = dict(
        kind=kind,
        train_csv=str(small_csvs[0]),
        val_csv=str(small_csvs[1]),
        out=str(out),
        depth=2,
        backbone_weights=str(backbone_file),
        size=32,
        epochs=1,
        lr=0.05,
        batch_size=4,
        seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


def _val(record):
    return {k: v for k, v in record.items() if k.startswith("val_")}


@pytest.fixture(scope="module")
def tuned_run(small_csvs, backbone_file, tmp_path_factory):
    """A clip_lpips run that fine-tuned its backbone (stem frozen)."""
    out = tmp_path_factory.mktemp("tuned")
    cfg = _cfg("clip_lpips", small_csvs, backbone_file, out, finetune=True, freeze_stages=1)
    return train(cfg, progress=False)


@pytest.mark.parametrize("source", ["folder", "checkpoint"])
def test_init_starts_where_the_earlier_run_ended(
    source, tuned_run, small_csvs, backbone_file, tmp_path
):
    init = tuned_run.out if source == "folder" else tuned_run.out / CHECKPOINT
    cfg = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path, init=str(init), lr=0.01)
    res = train(cfg, progress=False)
    # epoch 0 validates the starting point: exactly the earlier run's final model
    assert _val(res.history[0]) == _val(tuned_run.history[-1])
    assert res.history[-1]["val_loss"] != res.history[0]["val_loss"]  # and it trains on
    # its backbone (frozen here) is the earlier run's fine-tuned one, saved beside the heads
    a, b = (
        load_file(tuned_run.out / "backbone.safetensors"),
        load_file(tmp_path / "backbone.safetensors"),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    card = json.loads(res.card.read_text())
    assert card["init"]["backbone"] and len(card["init"]["sha256"]) == 64
    assert "backbone.safetensors" in card["load"]
    metric = semfidelity.create_metric("clip_lpips", heads=tmp_path, device="cpu")
    assert metric.calibrated and torch.equal(
        metric.backbone.layer2[0].conv1.weight, b["layer2.0.conv1.weight"]
    )


def test_resume_of_an_initialised_run_is_bit_identical(
    tuned_run, small_csvs, backbone_file, tmp_path
):
    cfg = _cfg(
        "clip_lpips", small_csvs, backbone_file, tmp_path / "a", init=str(tuned_run.out), epochs=2
    )
    whole = train(cfg, progress=False)
    cfg.out = str(tmp_path / "b")
    train(cfg, progress=False, stop_after=1)
    resumed = train(cfg, progress=False, resume=True)
    for name in ("heads.safetensors", "backbone.safetensors"):
        a, b = load_file(tmp_path / "a" / name), load_file(tmp_path / "b" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert whole.history == resumed.history


def test_clu_init_from_a_decoder_folder(small_csvs, backbone_file, tmp_path):
    first = train(_cfg("clu", small_csvs, backbone_file, tmp_path / "a", lr=0.003), progress=False)
    second = train(
        _cfg("clu", small_csvs, backbone_file, tmp_path / "b", lr=0.003, init=str(tmp_path / "a")),
        progress=False,
    )
    assert _val(second.history[0]) == _val(first.history[-1])
    assert not (tmp_path / "b" / "backbone.safetensors").exists()  # none was fine-tuned


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "clu"}, r"'kind': \('clip_lpips', 'clu'\)"),  # from its checkpoint.pt
        ({"depth": 1}, r"init: .* other settings .*'depth': \(2, 1\)"),
        ({"head": "lpips"}, r"'head': \('thesis', 'lpips'\)"),
        ({"backbone": "clip"}, r"'backbone': \('imagenet', 'clip'\)"),
    ],
)
def test_mismatched_init_is_refused(
    changes, message, tuned_run, small_csvs, backbone_file, tmp_path
):
    changes = {"kind": "clip_lpips", **changes}
    cfg = _cfg(
        changes.pop("kind"), small_csvs, backbone_file, tmp_path, init=str(tuned_run.out), **changes
    )
    with pytest.raises(ValueError, match=message):
        train(cfg, progress=False)


def test_wrong_files_and_empty_folders_are_refused(tuned_run, small_csvs, backbone_file, tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = _cfg("clu", small_csvs, backbone_file, tmp_path / "out", init=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="holds neither decoder.safetensors nor checkpoint.pt"):
        train(cfg, progress=False)
    cfg.init = str(tuned_run.out / "heads.safetensors")
    with pytest.raises(ValueError, match="init: .*not a semfidelity clu_decoder file"):
        train(cfg, progress=False)


def test_cli_init(tuned_run, small_csvs, backbone_file, tmp_path, capsys):
    args = ["clip_lpips", "--train", str(small_csvs[0]), "--val", str(small_csvs[1])]
    args += ["--backbone-weights", str(backbone_file), "--size", "32", "--epochs", "1"]
    args += ["--batch-size", "4", "--no-progress", "--quiet", "--seed", "3"]
    assert main([*args, "--out", str(tmp_path / "x"), "--init", str(tmp_path / "nowhere")]) == 1
    assert "init" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "y"), "--init", str(tuned_run.out)]) == 0
    first = json.loads((tmp_path / "y" / "metrics.jsonl").read_text().splitlines()[0])
    assert _val(first) == _val(tuned_run.history[-1])
