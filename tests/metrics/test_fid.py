"""FID: Fréchet distance equal to torchmetrics' and to the scipy sqrtm formula; the FID
Inception-v3 equal to pytorch-fid's given the same (random) weights; FID sets end to end
equal to torchmetrics' FrechetInceptionDistance with the same feature network."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image
from pytorch_fid import inception as pfid
from torchmetrics.image.fid import FrechetInceptionDistance, _compute_fid
from torchvision.models import inception_v3

from semfidelity.functional.fid import feature_statistics, frechet_distance
from semfidelity.metrics.fid import FID, fid_folders


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    """Random full-size weights in the layout of pt_inception-2015-12-05 (1008-class head)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=True)
    return net.state_dict()


@pytest.fixture(scope="module")
def fid(state):
    return FID(weights=state, device="cpu")


def _uint8(n: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)


def test_frechet_distance_equals_torchmetrics_and_scipy():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(40, 8, generator=g, dtype=torch.float64)
    b = 0.5 * torch.randn(40, 8, generator=g, dtype=torch.float64) + 0.3
    (m1, s1), (m2, s2) = feature_statistics(a), feature_statistics(b)
    ours = frechet_distance(m1, s1, m2, s2).item()
    assert ours == pytest.approx(_compute_fid(m1, s1, m2, s2).item(), rel=1e-10)
    root = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    ref = ((m1 - m2) ** 2).sum().item() + np.trace(s1.numpy() + s2.numpy() - 2 * root)
    assert ours == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(m1, s1, m1, s1).item() == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(m2, s2, m1, s1).item() == pytest.approx(ours, rel=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(a[:1])


def test_inception_equals_pytorch_fid(fid, state, monkeypatch):
    monkeypatch.setattr(pfid, "load_state_dict_from_url", lambda *a, **k: state)
    ref = pfid.InceptionV3([3], resize_input=True, normalize_input=True).eval()
    x = _uint8(2, 299, seed=1)  # at 299 px no resize happens in either
    with torch.no_grad():
        # pytorch-fid maps [0, 1] by 2x - 1, torch-fidelity/torchmetrics uint8 by (x - 128) / 128
        want = ref(x.double().div(256).float())[0].flatten(1)
    got = fid.features(x)
    assert got.shape == (2, 2048) and got.std() > 0
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (got - want).abs().max()


def test_fid_equals_torchmetrics_with_the_same_network(fid):
    tm = FrechetInceptionDistance(feature=fid.net, normalize=False)
    real, fake = _uint8(3, 48, seed=2), _uint8(3, 48, seed=3) // 2
    tm.update(real, real=True)
    tm.update(fake, real=False)
    fid.reset()
    fid.update(real, real=True)
    fid.update(fake[:2], real=False)  # accumulation over batches
    fid.update(fake[2:], real=False)
    assert fid.compute() == pytest.approx(tm.compute().item(), rel=1e-5)
    assert fid.compute() > 0


def test_fid_folders(state, tmp_path):
    for name, seed in (("pred", 4), ("ref", 5)):
        (tmp_path / name).mkdir()
        for i, img in enumerate(_uint8(2, 40, seed)):
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / name / f"{i}.png")
    got = fid_folders(tmp_path / "pred", tmp_path / "ref", weights=state, device="cpu")
    direct = FID(weights=state, device="cpu")
    for name, real in (("pred", False), ("ref", True)):
        for p in sorted((tmp_path / name).iterdir()):
            direct.update(str(p), real=real)
    assert got == pytest.approx(direct.compute(), rel=1e-6) and got > 0
    with pytest.raises(ValueError, match="FID needs >= 2"):
        (tmp_path / "one").mkdir()
        fid_folders(tmp_path / "one", tmp_path / "ref", weights=state, device="cpu")
