"""ResNet-50 stage features equal torchvision's and open_clip RN50's own intermediate outputs."""

from __future__ import annotations

import logging

import open_clip
import pytest
import torch
import torchvision

from semfidelity.backbones.resnet import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    build_resnet_features,
)


def _norm(x, mean, std):
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def _randomise_bn(model: torch.nn.Module) -> None:
    # Non-trivial running statistics, so that loading them (and eval mode) is actually tested.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.fixture(scope="module")
def image(set5_pairs):
    return set5_pairs["bird"][1][..., :64, :64]


def test_imagenet_stages_equal_torchvision(image):
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(weights=None).eval()
    _randomise_bn(tv)
    ours = build_resnet_features("imagenet", depth=4, weights=tv.state_dict())
    with torch.no_grad():
        feats = ours(image)
        x = tv.relu(tv.bn1(tv.conv1(_norm(image, IMAGENET_MEAN, IMAGENET_STD))))
        expected = [x]
        x = tv.maxpool(x)
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            x = layer(x)
            expected.append(x)
    assert ours.channels == [f.shape[1] for f in feats] == [64, 256, 512, 1024, 2048]
    assert [f.shape[-1] for f in feats] == [64 // s for s in ours.strides]
    for got, want in zip(feats, expected):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    shallow = build_resnet_features("imagenet", depth=2, weights=tv.state_dict())
    with torch.no_grad():
        got = shallow(image)
    assert len(got) == 3
    torch.testing.assert_close(got[2], feats[2], rtol=0, atol=1e-5)


def test_clip_stages_equal_open_clip_rn50_trunk(image):
    torch.manual_seed(0)
    model = open_clip.create_model("RN50", pretrained=None).eval()
    visual = model.visual
    _randomise_bn(visual)
    captured = {}
    names = ("act3", "layer1", "layer2", "layer3", "layer4")
    hooks = [
        getattr(visual, n).register_forward_hook(lambda m, i, o, n=n: captured.__setitem__(n, o))
        for n in names
    ]
    with torch.no_grad():  # the trunk as ModifiedResNet.forward runs it, minus attnpool
        x = visual.stem(_norm(image, CLIP_MEAN, CLIP_STD))
        for layer in (visual.layer1, visual.layer2, visual.layer3, visual.layer4):
            x = layer(x)
    for h in hooks:
        h.remove()
    ours = build_resnet_features("clip", depth=4, weights=model.state_dict())
    with torch.no_grad():
        feats = ours(image)
    for got, name in zip(feats, names):
        torch.testing.assert_close(got, captured[name], rtol=0, atol=1e-5)


def test_frozen_eval_and_weight_errors(caplog):
    with caplog.at_level(logging.WARNING):
        model = build_resnet_features("clip", depth=1, weights="random")
    assert "random" in caplog.text
    model.train()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="entries missing"):
        build_resnet_features(
            "imagenet", depth=1, weights={"conv1.weight": torch.zeros(64, 3, 7, 7)}
        )
    with pytest.raises(ValueError, match="weights: expected"):
        build_resnet_features("imagenet", weights="no-such-file-or-id")
    with pytest.raises(ValueError, match="depth"):
        build_resnet_features("imagenet", depth=5, weights="random")
    with pytest.raises(ValueError, match="flavour"):
        build_resnet_features("vit", weights="random")
    with pytest.raises(TypeError, match="weights"):
        build_resnet_features("imagenet", weights=3)


def test_weights_from_a_file_path(tmp_path, image):
    from safetensors.torch import save_file

    torch.manual_seed(3)
    first = build_resnet_features("imagenet", depth=1, weights="random")
    with torch.no_grad():
        first.bn1.running_mean.uniform_(-0.2, 0.2)
    file = tmp_path / "trunk.safetensors"
    save_file({k: v.contiguous() for k, v in first.state_dict().items()}, str(file))
    again = build_resnet_features("imagenet", depth=1, weights=str(file))
    with torch.no_grad():
        for a, b in zip(first(image), again(image)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("flavour", ["imagenet", "clip"])
def test_stage_modules_partition_the_parameters_in_stage_order(flavour):
    model = build_resnet_features(flavour, 2, "random")
    stages = model.stage_modules()
    assert len(stages) == 3
    ids = [[id(p) for m in mods for p in m.parameters()] for mods in stages]
    flat = [i for stage in ids for i in stage]
    assert sorted(flat) == sorted(id(p) for p in model.parameters())  # each exactly once
    assert all(stage for stage in ids)
    assert (
        stages[0][0] is model.conv1
        and stages[1][-1] is model.layer1
        and stages[2] == [model.layer2]
    )
