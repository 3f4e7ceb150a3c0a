"""Peer implementations that ``benchmarks/run.py`` times beside semfidelity on the same inputs.

Each peer is a callable ``(pred, target) -> scores`` on float32 NCHW RGB tensors in [0, 1] that
already sit on the benchmark device. Packages: piq, torchmetrics, kornia, lpips, and pyiqa when
importable (pyiqa's licence is non-commercial: an optional benchmark dependency only, never a
dependency of semfidelity). "naive" peers are what a researcher writes by hand: scikit-image,
PyWavelets and open_clip, one image at a time through NumPy/PIL.

Every peer is configured to compute the same quantity as our metric (e.g. piq's SSIM without its
automatic 2x downsampling); where a package cannot, the note of the row says how it differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["Peer", "get_peers", "PEERS", "naive_edge_ssim", "naive_wavelet"]

LUMA = (0.299, 0.587, 0.114)  # BT.601, as in DESIGN.md
MS_SSIM_MIN = 161  # (11 - 1) * 2**4 + 1: five scales of an 11-tap window


@dataclass
class Peer:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], Any]
    note: str = ""
    min_size: int = 1


Factory = Callable[[torch.device, dict[str, Any]], Peer]


# --------------------------------------------------------------------------- psnr / ssim / ms_ssim
def _piq_psnr(device: torch.device, opts: dict[str, Any]) -> Peer:
    import piq

    return Peer("piq", lambda p, t: piq.psnr(p, t, data_range=1.0, reduction="none"))


def _tm_psnr(device: torch.device, opts: dict[str, Any]) -> Peer:
    from torchmetrics.functional.image import peak_signal_noise_ratio

    return Peer(
        "torchmetrics",
        lambda p, t: peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3)),
    )


def _kornia_psnr(device: torch.device, opts: dict[str, Any]) -> Peer:
    import kornia

    return Peer(
        "kornia",
        lambda p, t: kornia.metrics.psnr(p, t, 1.0),
        "one value per batch (kornia has no per-image PSNR)",
    )


def _piq_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import piq

    return Peer(
        "piq",
        lambda p, t: piq.ssim(p, t, data_range=1.0, reduction="none", downsample=False),
        "downsample=False (piq's default halves images > 256 px)",
    )


def _tm_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    from torchmetrics.functional.image import structural_similarity_index_measure

    return Peer(
        "torchmetrics",
        lambda p, t: structural_similarity_index_measure(p, t, data_range=1.0, reduction="none"),
    )


def _kornia_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import kornia

    return Peer("kornia", lambda p, t: kornia.metrics.ssim(p, t, 11, 1.0).mean(dim=(1, 2, 3)))


def _piq_ms_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import piq

    return Peer(
        "piq",
        lambda p, t: piq.multi_scale_ssim(p, t, data_range=1.0, reduction="none"),
        min_size=MS_SSIM_MIN,
    )


def _tm_ms_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    return Peer(
        "torchmetrics",
        lambda p, t: multiscale_structural_similarity_index_measure(
            p, t, data_range=1.0, reduction="none"
        ),
        min_size=MS_SSIM_MIN,
    )


def _kornia_ms_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import kornia

    loss = kornia.losses.MS_SSIMLoss(data_range=1.0, reduction="none").to(device)
    return Peer(
        "kornia",
        lambda p, t: loss(p, t).flatten(1).mean(dim=1),
        "MS_SSIMLoss: a different formula (MS-SSIM + L1 mix, Zhao et al.)",
        min_size=MS_SSIM_MIN,
    )


def _pyiqa(name: str, note: str = "", min_size: int = 1) -> Factory:
    def factory(device: torch.device, opts: dict[str, Any]) -> Peer:
        import pyiqa

        metric = pyiqa.create_metric(name, device=device, as_loss=False, test_y_channel=False)
        return Peer(
            "pyiqa",
            lambda p, t: metric(p, t),
            "; ".join(filter(None, ["optional, non-commercial licence", note])),
            min_size,
        )

    return factory


# --------------------------------------------------------------------------- TWS terms
def _luma_np(x: torch.Tensor) -> np.ndarray:
    return x.permute(1, 2, 0).cpu().numpy() @ np.asarray(LUMA, dtype=np.float32)


def naive_edge_ssim(p: np.ndarray, t: np.ndarray) -> float:
    """TWS edge term of two luma arrays, written by hand: skimage Sobel + skimage SSIM."""
    from skimage.filters import sobel
    from skimage.metrics import structural_similarity

    # skimage's magnitude is sqrt((gx^2 + gy^2) / 2) with kernels / 4; TWS uses kernels / 8
    # and sqrt(gx^2 + gy^2): the same map divided by sqrt(2) (borders differ: reflect padding)
    ep = np.clip(sobel(p) / np.sqrt(2.0), 0.0, 1.0)
    et = np.clip(sobel(t) / np.sqrt(2.0), 0.0, 1.0)
    return float(
        structural_similarity(
            ep, et, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
        )
    )


def naive_wavelet(p: np.ndarray, t: np.ndarray, wavelet: str = "haar", levels: int = 3) -> float:
    """TWS wavelet term of two luma arrays, written by hand with ``pywt.wavedec2``."""
    import pywt

    cp = pywt.wavedec2(p, wavelet, level=levels)
    ct = pywt.wavedec2(t, wavelet, level=levels)
    terms = []
    for bands_p, bands_t in zip(cp[1:], ct[1:]):
        for bp, bt in zip(bands_p, bands_t):
            ap, at = np.abs(bp), np.abs(bt)
            terms.append(np.abs(ap - at).sum() / ((ap + at).sum() + 1e-8))
    return 1.0 - float(np.mean(terms))


def _wavelet_opts(opts: dict[str, Any]) -> tuple[str, int]:
    return str(opts.get("wavelet") or "haar"), int(opts.get("levels") or 3)


def _skimage_edge_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import skimage  # noqa: F401

    def fn(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        return [naive_edge_ssim(_luma_np(a), _luma_np(b)) for a, b in zip(p, t)]

    return Peer("naive skimage (per image)", fn, "skimage sobel + structural_similarity")


def _kornia_edge_ssim(device: torch.device, opts: dict[str, Any]) -> Peer:
    import kornia

    def fn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ep = kornia.filters.sobel(kornia.color.rgb_to_grayscale(p)).clamp(0, 1)
        et = kornia.filters.sobel(kornia.color.rgb_to_grayscale(t)).clamp(0, 1)
        return kornia.metrics.ssim(ep, et, 11, 1.0).mean(dim=(1, 2, 3))

    return Peer("kornia (batched)", fn, "kornia sobel + ssim composed by hand")


def _pywt_wavelet(device: torch.device, opts: dict[str, Any]) -> Peer:
    import pywt  # noqa: F401

    wavelet, levels = _wavelet_opts(opts)

    def fn(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        return [naive_wavelet(_luma_np(a), _luma_np(b), wavelet, levels) for a, b in zip(p, t)]

    return Peer("naive pywt (per image)", fn, f"pywt.wavedec2 {wavelet}, {levels} levels")


def _ptwt_wavelet(device: torch.device, opts: dict[str, Any]) -> Peer:
    import ptwt
    import pywt

    wavelet, levels = _wavelet_opts(opts)
    w = pywt.Wavelet(wavelet)
    luma = torch.tensor(LUMA, device=device).view(1, 3, 1, 1)

    def fn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cp = ptwt.wavedec2((p * luma).sum(1), w, level=levels, mode="symmetric")
        ct = ptwt.wavedec2((t * luma).sum(1), w, level=levels, mode="symmetric")
        terms = []
        for bands_p, bands_t in zip(cp[1:], ct[1:]):
            for bp, bt in zip(bands_p, bands_t):
                ap, at = bp.abs(), bt.abs()
                terms.append((ap - at).abs().sum((-2, -1)) / ((ap + at).sum((-2, -1)) + 1e-8))
        return 1.0 - torch.stack(terms).mean(0)

    return Peer("ptwt (batched)", fn, "ptwt.wavedec2 composed by hand")


# --------------------------------------------------------------------------- deep metrics
def _lpips_pkg(device: torch.device, opts: dict[str, Any]) -> Peer:
    import lpips

    net = str(opts.get("net") or "alex")
    with contextlib.redirect_stdout(None):
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False).to(device).eval()
    return Peer(
        "lpips package",
        lambda p, t: model(p, t, normalize=True).flatten(),
        f"net={net}, random backbone (timing only)",
    )


class _NaiveClip:
    """open_clip as a research script uses it: PIL preprocessing, encode_image, one image each."""

    def __init__(self, device: torch.device, opts: dict[str, Any]) -> None:
        import open_clip

        self.arch = str(opts.get("clip_model") or "ViT-B-32")
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            self.arch, pretrained=None, device=device
        )
        self.model.eval()
        self.device = device

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        from PIL import Image

        arr = (x.permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
        img = self.preprocess(Image.fromarray(arr)).unsqueeze(0).to(self.device)
        e = self.model.encode_image(img)
        return e / e.norm(dim=-1, keepdim=True)

    def cosine(self, p: torch.Tensor, t: torch.Tensor) -> float:
        return float((self.embed(p) * self.embed(t)).sum().clamp(0, 1))


def _naive_clip_sim(device: torch.device, opts: dict[str, Any]) -> Peer:
    clip = _NaiveClip(device, opts)
    return Peer(
        "naive open_clip (per image)",
        lambda p, t: [clip.cosine(a, b) for a, b in zip(p, t)],
        f"{clip.arch} random weights, PIL preprocess + encode_image",
    )


def _naive_tws(device: torch.device, opts: dict[str, Any]) -> Peer:
    clip = _NaiveClip(device, opts)
    wavelet, levels = _wavelet_opts(opts)

    def fn(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        out = []
        for a, b in zip(p, t):
            ya, yb = _luma_np(a), _luma_np(b)
            parts = (
                clip.cosine(a, b),
                naive_edge_ssim(ya, yb),
                naive_wavelet(ya, yb, wavelet, levels),
            )
            out.append(sum(parts) / 3.0)
        return out

    return Peer(
        "naive skimage+pywt+open_clip (per image)",
        fn,
        f"{clip.arch} random weights; one image at a time",
    )


PEERS: dict[str, list[tuple[str, Factory]]] = {
    "psnr": [
        ("piq", _piq_psnr),
        ("torchmetrics", _tm_psnr),
        ("kornia", _kornia_psnr),
        ("pyiqa", _pyiqa("psnr")),
    ],
    "ssim": [
        ("piq", _piq_ssim),
        ("torchmetrics", _tm_ssim),
        ("kornia", _kornia_ssim),
        ("pyiqa", _pyiqa("ssim")),
    ],
    "ms_ssim": [
        ("piq", _piq_ms_ssim),
        ("torchmetrics", _tm_ms_ssim),
        ("kornia", _kornia_ms_ssim),
        ("pyiqa", _pyiqa("ms_ssim", min_size=MS_SSIM_MIN)),
    ],
    "edge_ssim": [
        ("naive skimage (per image)", _skimage_edge_ssim),
        ("kornia (batched)", _kornia_edge_ssim),
    ],
    "wavelet": [("naive pywt (per image)", _pywt_wavelet), ("ptwt (batched)", _ptwt_wavelet)],
    "lpips": [("lpips package", _lpips_pkg)],
    "clip_sim": [("naive open_clip (per image)", _naive_clip_sim)],
    "tws": [("naive skimage+pywt+open_clip (per image)", _naive_tws)],
}


# Peers left out of ``select="all"`` and run only when named, with the reason shown otherwise.
OPT_IN = {
    ("ms_ssim", "kornia"): "opt-in (--peers kornia): MS_SSIMLoss is a different formula and "
    "filters every scale at full resolution (about 30x slower at 256 px, over 100 s per 512 px "
    "image here)",
}


def get_peers(
    metric: str,
    device: torch.device,
    options: dict[str, Any] | None = None,
    select: str = "all",
) -> tuple[list[Peer], list[tuple[str, str]]]:
    """Peers of ``metric`` that can be built here, and ``(name, reason)`` for those that cannot.

    ``options`` are the metric's option values (e.g. ``net`` for lpips, ``wavelet`` for
    wavelet) so that each peer computes the same configuration. ``select``: ``"all"`` or a
    comma-separated list of first words of peer names (``"piq,kornia"``).
    """
    wanted = None if select == "all" else {w.strip().lower() for w in select.split(",")}
    found: list[Peer] = []
    missing: list[tuple[str, str]] = []
    from benchmarks.iqa_peers import IQA_PEERS  # dists, niqe, clipiqa (imports Peer from here)

    for name, factory in {**PEERS, **IQA_PEERS}.get(metric, []):
        if wanted is not None and name.split()[0].lower() not in wanted:
            continue
        if wanted is None and (metric, name) in OPT_IN:
            missing.append((name, OPT_IN[(metric, name)]))
            continue
        try:
            found.append(factory(device, dict(options or {})))
        except ImportError as exc:
            missing.append((name, f"not installed ({exc.name or exc})"))
        except Exception as exc:  # a peer that fails to build is reported, not fatal
            missing.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
    return found, missing
