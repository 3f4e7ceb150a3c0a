"""``lpips`` equals the official lpips package (same random backbone, official heads)."""

from __future__ import annotations

import lpips as lpips_pkg
import pytest
import torch

import semfidelity


def _copy_backbone(ref: lpips_pkg.LPIPS) -> dict[str, torch.Tensor]:
    # The package's slices keep torchvision's feature indices: net.slice2.3.weight -> features.3
    out = {}
    for key, value in ref.net.state_dict().items():
        _, index, param = key.split(".")
        out[f"features.{index}.{param}"] = value
    return out


@pytest.fixture(scope="module", params=["alex", "vgg"])
def pair_of_metrics(request):
    torch.manual_seed(0)
    net = request.param
    ref = lpips_pkg.LPIPS(net=net, pnet_rand=True, pretrained=True, verbose=False).eval()
    ours = semfidelity.create_metric("lpips", net=net, weights=_copy_backbone(ref), device="cpu")
    return ref, ours


@pytest.fixture(scope="module")
def real_pairs(set5_pairs, baboon):
    preds = [set5_pairs["butterfly"][0], baboon["esrgan_xinntao"]]
    targets = [set5_pairs["butterfly"][1], baboon["gt"]]
    crop = lambda x: x[..., 40:168, 60:188]  # noqa: E731
    return torch.cat([crop(p) for p in preds]), torch.cat([crop(t) for t in targets])


def test_scores_and_maps_equal_the_lpips_package(pair_of_metrics, real_pairs):
    ref, ours = pair_of_metrics
    pred, target = real_pairs
    with torch.no_grad():
        want = ref(pred, target, normalize=True).flatten()
        ref.spatial = True  # read at each forward: the package's spatial=True output
        want_map = ref(pred, target, normalize=True)
        ref.spatial = False
    got, got_map = ours(pred, target), ours.map(pred, target)
    assert got.shape == (2,) and got_map.shape == (2, 1, 128, 128)
    assert (got > 0.01).all()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    torch.testing.assert_close(got_map, want_map, rtol=0, atol=1e-5)
    one_pass = ours.score_and_map(pred, target)  # what semfid-score --maps calls
    torch.testing.assert_close(one_pass, (got, got_map), rtol=0, atol=1e-6)


def test_identity_batch_invariance_and_broadcast(pair_of_metrics, real_pairs):
    _, ours = pair_of_metrics
    pred, target = (x[..., :64, :64] for x in real_pairs)
    assert ours(target, target).abs().max() < 1e-6
    batch = ours(pred, target)
    singles = torch.cat([ours(pred[i : i + 1], target[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-5)
    broadcast = ours(pred, target[:1])
    singles = torch.cat([ours(pred[i : i + 1], target[:1]) for i in range(2)])
    torch.testing.assert_close(broadcast, singles, rtol=0, atol=1e-5)


def test_loss_gradients_reach_pred_only(pair_of_metrics, real_pairs):
    _, ours = pair_of_metrics
    loss_metric = semfidelity.create_metric(
        "lpips", net=ours.net_name, weights=ours.net.state_dict(), as_loss=True, device="cpu"
    )
    pred, target = real_pairs
    pred = pred[:1, :, :64, :64].clone().requires_grad_(True)
    loss = loss_metric(pred, target[:1, :, :64, :64])
    assert loss.ndim == 0
    loss.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss_metric.parameters())
    same = target[:1, :, :64, :64].clone().requires_grad_(True)
    loss_metric(same, target[:1, :, :64, :64]).backward()
    assert torch.isfinite(same.grad).all()


def test_metadata_and_bad_options():
    info = semfidelity.metric_info("lpips")
    assert info["lower_better"] and info["has_map"] and info["score_range"] == [0.0, None]
    with pytest.raises(ValueError, match="net"):
        semfidelity.create_metric("lpips", net="squeeze", weights="random")
