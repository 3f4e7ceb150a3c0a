"""Fine-tuning with frozen early stages (``freeze_stages``): what trains, resume, bad values."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from semfidelity.cli.train import main
from semfidelity.training.train import CHECKPOINT, TrainConfig, train

FROZEN_PREFIXES = ("conv1.", "bn1.", "layer1.")  # stem + layer1 of the imagenet trunk


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
        finetune=True,
        freeze_stages=2,
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("kind", ["clip_lpips", "clu"])
def test_frozen_stages_stay_bit_identical_and_the_rest_trains(
    kind, small_csvs, backbone_file, tmp_path
):
    res = train(_cfg(kind, small_csvs, backbone_file, tmp_path), progress=False)
    start, tuned = load_file(backbone_file), load_file(tmp_path / "backbone.safetensors")
    params = [
        k for k in tuned if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ]
    frozen = [k for k in params if k.startswith(FROZEN_PREFIXES)]
    trained = [k for k in params if k.startswith("layer2.")]
    assert frozen and trained and len(frozen) + len(trained) == len(params)
    assert all(torch.equal(tuned[k], start[k]) for k in frozen)
    changed = [k for k in trained if not torch.equal(tuned[k], start[k])]
    assert len(changed) > len(trained) // 2  # weight decay alone moves every trained tensor
    assert json.loads(res.card.read_text())["config"]["freeze_stages"] == 2


def test_partial_freezing_resumes_bit_identically(small_csvs, backbone_file, tmp_path):
    cfg = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path / "a", epochs=2, freeze_stages=1)
    whole = train(cfg, progress=False)
    cfg.out = str(tmp_path / "b")
    train(cfg, progress=False, stop_after=1)
    resumed = train(cfg, progress=False, resume=True)
    for name in ("heads.safetensors", "backbone.safetensors"):
        a, b = load_file(tmp_path / "a" / name), load_file(tmp_path / "b" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert whole.history == resumed.history
    # another freeze setting cannot resume this checkpoint
    cfg.freeze_stages = 2
    with pytest.raises(ValueError, match="another configuration.*freeze_stages"):
        train(cfg, progress=False, resume=True)


def test_checkpoint_without_the_new_field_resumes_with_its_default(
    small_csvs, backbone_file, tmp_path
):
    cfg = _cfg("clip_lpips", small_csvs, backbone_file, tmp_path, epochs=2, size=32)
    cfg.finetune, cfg.freeze_stages = False, 0
    train(cfg, progress=False, stop_after=1)
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    old = json.loads(ckpt["config"])
    del old["freeze_stages"]  # as written before the field existed
    ckpt["config"] = json.dumps(old)
    torch.save(ckpt, tmp_path / CHECKPOINT)
    assert [h["epoch"] for h in train(cfg, progress=False, resume=True).history] == [0, 1, 2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"freeze_stages": 3}, r"freeze_stages: expected an int in 0..depth \(2\).*got 3"),
        ({"freeze_stages": -1}, r"freeze_stages: expected an int.*got -1"),
        ({"freeze_stages": True}, r"freeze_stages: expected an int.*got True"),
        ({"freeze_stages": 1, "finetune": False}, r"freeze_stages: 1 frozen stages.*finetune"),
    ],
)
def test_bad_freeze_values_are_refused(changes, message, small_csvs, backbone_file, tmp_path):
    with pytest.raises(ValueError, match=message):
        train(_cfg("clu", small_csvs, backbone_file, tmp_path, **changes), progress=False)


def test_cli_freeze_stages(small_csvs, backbone_file, tmp_path, capsys):
    args = ["clu", "--train", str(small_csvs[0]), "--val", str(small_csvs[1])]
    args += ["--backbone-weights", str(backbone_file), "--size", "32", "--epochs", "1"]
    args += ["--batch-size", "4", "--no-progress", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a"), "--freeze-stages", "1"]) == 1
    assert "freeze_stages" in capsys.readouterr().err
    out = tmp_path / "b"
    assert main([*args, "--out", str(out), "--finetune", "--freeze-stages", "2"]) == 0
    tuned, start = load_file(out / "backbone.safetensors"), load_file(backbone_file)
    assert torch.equal(tuned["layer1.0.conv1.weight"], start["layer1.0.conv1.weight"])
    assert not torch.equal(tuned["layer2.0.conv1.weight"], start["layer2.0.conv1.weight"])
