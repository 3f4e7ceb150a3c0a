"""No ground truth, only the LR input: pools with a known answer (issue 13).

For each Set5 image and baboon (tests/data) the pool is {GT, GT + mild noise (sigma 0.02),
blur sigma 1, blur sigma 2, bicubic-upsampled LR, GT with a pasted foreign block, JPEG q20}.
The GT must rank first or second (only its mildly noisy copy may precede it), no blurred or
bicubic candidate may reach the top 2, and the pasted candidate must be in the bottom 2.
The same rule is checked on scikit-image photographs that the constants were not tuned on
(their LR made by PIL's bicubic, not the MATLAB one of Set5).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from kornia.filters import gaussian_blur2d
from PIL import Image
from repo_data import DATA, SET5, load_png

from semfidelity.selection import FaithfulRealismScorer, rank

NAMES = ("gt", "noise", "blur1", "blur2", "bicubic", "pasted", "jpeg")


def _blur(x, sigma):
    k = 2 * int(3 * sigma + 0.5) + 1
    return gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="reflect")


def _pil(x):
    return Image.fromarray((x[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy())


def _tensor(im):
    return torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[
        None
    ]


def _jpeg(x, quality):
    buf = io.BytesIO()
    _pil(x).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return _tensor(Image.open(buf))


def _resize(x, size):
    return _tensor(_pil(x).resize(size, Image.BICUBIC))


def _paste(x, other):
    x = x.clone()
    h, w = x.shape[-2:]
    ph, pw = h // 4, w // 4
    y0, x0 = h // 2 - ph // 2, w // 2 - pw // 2
    x[..., y0 : y0 + ph, x0 : x0 + pw] = other[..., :ph, :pw]
    return x


def pool(gt, lr, other):
    g = torch.Generator().manual_seed(1)
    h, w = gt.shape[-2:]
    cands = {
        "gt": gt,
        "noise": (gt + 0.02 * torch.randn(gt.shape, generator=g)).clamp(0, 1),
        "blur1": _blur(gt, 1.0),
        "blur2": _blur(gt, 2.0),
        "bicubic": _resize(lr, (w, h)),
        "pasted": _paste(gt, other),
        "jpeg": _jpeg(gt, 20),
    }
    return torch.cat([cands[n] for n in NAMES])


def _set5(name):
    hr = load_png(DATA / "set5_swinir" / "HR" / f"{name}.png")
    lr = load_png(DATA / "set5_swinir" / "LR_bicubic" / "X4" / f"{name}x4.png")
    return hr[..., : lr.shape[-2] * 4, : lr.shape[-1] * 4], lr


def tuning_pool(name):
    if name == "baboon":
        d = DATA / "baboon_x4_esrgan"
        gt, lr = (
            load_png(d / "gt" / "baboon_492x480.png"),
            load_png(d / "lr" / "baboon_123x120_lornatang.png"),
        )
        return pool(gt, lr, _set5("butterfly")[0])
    gt, lr = _set5(name)
    return pool(gt, lr, _set5(SET5[(SET5.index(name) + 1) % 5])[0])


def unseen_pool(name, other):
    from skimage import data

    def load(n):
        a = getattr(data, n)()
        a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
        x = torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]
        if max(x.shape[-2:]) > 320:  # keep the test fast
            x = _resize(
                x, (x.shape[-1] * 320 // max(x.shape[-2:]), x.shape[-2] * 320 // max(x.shape[-2:]))
            )
        h, w = x.shape[-2:]
        return x[..., : h // 4 * 4, : w // 4 * 4]

    gt = load(name)
    lr = _resize(gt, (gt.shape[-1] // 4, gt.shape[-2] // 4))
    return pool(gt, lr, load(other)), lr


def check_known_answer(order):
    pos = {NAMES[i]: p for p, i in enumerate(order)}
    assert pos["gt"] == 0 or (pos["gt"] == 1 and NAMES[order[0]] == "noise"), order
    assert all(pos[b] >= 2 for b in ("blur1", "blur2", "bicubic")), order
    assert pos["pasted"] >= len(NAMES) - 2, order


@pytest.mark.parametrize("name", [*SET5, "baboon"])
def test_known_answer_pools(name):
    cands = tuning_pool(name)
    lr = _set5(name)[1] if name != "baboon" else None
    if lr is None:
        lr = load_png(DATA / "baboon_x4_esrgan" / "lr" / "baboon_123x120_lornatang.png")
    r = rank(cands, lr=lr, scale=4, names=list(NAMES))  # auto: faithful_realism
    assert list(r.scores) == ["faithful_realism"]
    check_known_answer(r.order)
    d = r.details
    assert d["faithful"][NAMES.index("gt")] == 1 and d["faithful"][NAMES.index("pasted")] == 0
    # realism, not smoothness, orders the faithful: the GT has more detail than any blur
    for smooth in ("blur1", "blur2", "bicubic"):
        assert d["detail"][NAMES.index("gt")] > d["detail"][NAMES.index(smooth)] + 0.5
    # these pools mix degradations, which is what the scope warning is for
    assert any("different methods" in w for w in r.warnings)


@pytest.mark.parametrize(
    "name,other", [("astronaut", "coffee"), ("coffee", "chelsea"), ("brick", "astronaut")]
)
def test_known_answer_on_images_the_rule_was_not_tuned_on(name, other):
    cands, lr = unseen_pool(name, other)
    r = rank(cands, lr=lr, scale=4, names=list(NAMES))
    check_known_answer(r.order)


def test_samples_of_one_model_raise_no_scope_warning_and_duplicates_tie():
    gt, lr = _set5("bird")
    g = torch.Generator().manual_seed(2)
    samples = torch.cat(
        [(gt + 0.01 * torch.randn(gt.shape, generator=g)).clamp(0, 1) for _ in range(3)]
    )
    samples = torch.cat([samples, samples[:1]])  # an exact duplicate ties with its original
    r = rank(samples, lr=lr, scale=4)
    assert not any("different methods" in w for w in r.warnings), r.warnings
    assert r.ties == [[0, 3]]
    assert [row["tie"] for row in r.to_rows() if row["index"] in (0, 3)] == [
        r.order.index(0) + 1
    ] * 2


def test_scorer_options_are_checked():
    for kw in ({"tol_db": -1}, {"margin": "x"}, {"window": 0}, {"faithful_db": True}):
        with pytest.raises(ValueError, match=next(iter(kw))):
            FaithfulRealismScorer(**kw)
    with pytest.raises(ValueError, match="lr: scorer 'faithful_realism' needs"):
        rank(torch.rand(2, 3, 16, 16), scorers=("faithful_realism",))


def test_niqe_as_the_realism_term():
    from semfidelity.factory import create_metric

    gt, lr = _set5("bird")
    cands = pool(gt, lr, _set5("butterfly")[0])
    r = rank(
        cands, lr=lr, scale=4, names=list(NAMES), scorers=(FaithfulRealismScorer(realism="niqe"),)
    )
    expected = create_metric("niqe", device="cpu")(cands).tolist()
    assert r.details["niqe"] == pytest.approx(expected, rel=1e-5)
    assert r.details["realism"] == pytest.approx([-q for q in expected], rel=1e-5)
    pos = {NAMES[i]: p for p, i in enumerate(r.order)}
    assert pos["gt"] == 0 and pos["pasted"] == len(NAMES) - 1
    with pytest.raises(ValueError, match="realism: expected one of"):
        FaithfulRealismScorer(realism="brisque")


def test_scope_warning_without_lr_too():
    gt, lr = _set5("bird")
    mixed = pool(gt, lr, _set5("butterfly")[0])
    r = rank(mixed, scorers=("consensus",))
    assert any(
        w.startswith("scope: the candidates look like outputs of different") for w in r.warnings
    )
    g = torch.Generator().manual_seed(3)
    same = torch.cat(
        [(gt + 0.01 * torch.randn(gt.shape, generator=g)).clamp(0, 1) for _ in range(3)]
    )
    assert not any("different methods" in w for w in rank(same).warnings)


@pytest.mark.parametrize("scale", [2, 3, 8])
def test_known_answer_at_other_scales(scale):
    hr = load_png(DATA / "set5_swinir" / "HR" / "bird.png")
    lr = load_png(DATA / "set5_swinir" / "LR_bicubic" / f"X{scale}" / f"birdx{scale}.png")
    hr = hr[..., : lr.shape[-2] * scale, : lr.shape[-1] * scale]
    r = rank(pool(hr, lr, _set5("butterfly")[0]), lr=lr, scale=scale)
    check_known_answer(r.order)
