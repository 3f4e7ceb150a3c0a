"""DISTS: equal to the official DISTS_pytorch model and to piq's DISTS given the same (random,
full-size) VGG-16 weights and the official alpha/beta; properties; loss mode."""

from __future__ import annotations

import DISTS_pytorch.DISTS_pt as official
import piq
import pytest
import torch
from torchvision.models import vgg16

from semfidelity import create_metric, metric_info
from semfidelity import weights as W


@pytest.fixture(scope="module")
def vgg_state() -> dict[str, torch.Tensor]:
    """Random full-size VGG-16 weights (torchvision init, fixed seed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return vgg16(weights=None).state_dict()


@pytest.fixture(scope="module")
def ours(vgg_state):
    return create_metric("dists", weights=vgg_state, device="cpu")


def _vgg_with(state):
    def build(*args, **kwargs):
        model = vgg16(weights=None)
        model.load_state_dict(state)
        return model

    return build


@pytest.fixture(scope="module")
def reference(vgg_state):
    mp = pytest.MonkeyPatch()
    mp.setattr(official.models, "vgg16", _vgg_with(vgg_state))
    model = official.DISTS(load_weights=False)
    mp.undo()
    ab = W.load_state_dict("dists-alpha-beta")
    model.alpha.data, model.beta.data = ab["alpha"], ab["beta"]
    return model.eval()


@pytest.fixture(scope="module")
def piq_dists(vgg_state):
    ab = W.load_state_dict("dists-alpha-beta")
    mp = pytest.MonkeyPatch()
    mp.setattr(piq.perceptual, "vgg16", _vgg_with(vgg_state))
    mp.setattr(piq.perceptual.torch.hub, "load_state_dict_from_url", lambda *a, **k: ab)
    model = piq.DISTS(reduction="none")
    mp.undo()
    return model.eval()


def test_bundled_alpha_beta_are_the_official_ones():
    ab = W.load_state_dict("dists-alpha-beta")
    assert ab["alpha"].shape == ab["beta"].shape == (1, 1475, 1, 1)
    total = ab["alpha"].sum() + ab["beta"].sum()
    assert (ab["alpha"] >= 0).all() and (ab["beta"] >= 0).all()
    assert ab["beta"].sum() / total == pytest.approx(0.1240, abs=1e-4)
    assert metric_info("dists")["weights"] == ["vgg16-imagenet", "dists-alpha-beta"]


def test_equals_official_dists_pytorch(ours, reference, set5_pairs, baboon):
    pairs = [(p[..., :96, :128], t[..., :96, :128]) for p, t in set5_pairs.values()]
    pairs.append((baboon["esrgan_xinntao"][..., :96, :128], baboon["gt"][..., :96, :128]))
    pred, target = torch.cat([p for p, _ in pairs]), torch.cat([t for _, t in pairs])
    with torch.no_grad():
        ref = reference(target, pred)  # official order (ref, dist); the score is symmetric
    got = ours(pred, target)
    assert got.shape == (len(pairs),)
    assert torch.allclose(got, ref, atol=1e-6), (got - ref).abs().max()


def test_equals_piq_with_resize(piq_dists, vgg_state, set5_pairs):
    pred, target = set5_pairs["baby"]  # 512x512: both resized to 256x256 (bilinear)
    resized = create_metric("dists", weights=vgg_state, resize=256, device="cpu")
    with torch.no_grad():
        ref = piq_dists(pred, target)
    assert resized(pred, target).item() == pytest.approx(ref.item(), abs=1e-6)


def test_identity_symmetry_bounds_and_batch(ours, set5_pairs):
    pred, target = (x[..., :64, :80] for x in set5_pairs["bird"])
    assert ours(target, target).item() == pytest.approx(0.0, abs=1e-6)
    assert ours(pred, target).item() == pytest.approx(ours(target, pred).item(), abs=1e-6)
    noisy = (target + 0.2 * torch.randn_like(target)).clamp(0, 1)
    batch = torch.cat([pred, noisy])
    scores = ours(batch, target)  # target of batch 1 broadcast
    assert torch.allclose(scores, torch.cat([ours(pred, target), ours(noisy, target)]), atol=1e-6)
    assert ((scores > 0) & (scores < 1)).all()


def test_as_loss_gives_gradients(vgg_state, set5_pairs):
    pred, target = (x[..., :48, :48] for x in set5_pairs["head"])
    loss_fn = create_metric("dists", weights=vgg_state, as_loss=True, device="cpu")
    p = pred.clone().requires_grad_(True)
    loss = loss_fn(p, target)
    loss.backward()
    assert loss.ndim == 0 and p.grad is not None and torch.isfinite(p.grad).all()
    assert p.grad.abs().sum() > 0
    q = target.clone().requires_grad_(True)
    loss_fn(q, target).backward()  # identical inputs: finite gradients
    assert torch.isfinite(q.grad).all()


def test_bad_options():
    with pytest.raises(ValueError, match="resize"):
        create_metric("dists", weights="random", resize=8, device="cpu")
    with pytest.raises(ValueError, match="smaller than the minimum"):
        create_metric("dists", weights="random", device="cpu")(torch.rand(1, 3, 16, 16))
