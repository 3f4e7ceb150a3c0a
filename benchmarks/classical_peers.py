"""Speed of the classical metrics against peer libraries (CPU, pairs per second).

Run: ``python benchmarks/classical_peers.py [--size 512] [--batch 8] [--threads 2] [--repeat 3]``.
Prints a Markdown table: for each metric, our registered metric (input validation included)
and each peer, with the ratio ``ours / fastest peer``. Peers: piq, torchmetrics,
kornia.metrics, and for the TWS terms the naive per-image pipelines (scikit-image Sobel +
SSIM, PyWavelets ``wavedec2``) plus torch compositions (kornia Sobel + kornia SSIM, ptwt).
Peers that are not installed are skipped. Timings are medians over ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from semfidelity import create_metric

Fn = Callable[[torch.Tensor, torch.Tensor], object]


def _luma_np(x: torch.Tensor) -> list[np.ndarray]:
    return list(x.permute(0, 2, 3, 1).double().numpy() @ np.array([0.299, 0.587, 0.114]))


def _peers_psnr() -> dict[str, Fn]:
    out: dict[str, Fn] = {}
    try:
        import piq

        out["piq"] = lambda p, t: piq.psnr(p, t, data_range=1.0, reduction="none")
    except ImportError:
        pass
    try:
        from torchmetrics.functional.image import peak_signal_noise_ratio as tm_psnr

        out["torchmetrics"] = lambda p, t: tm_psnr(
            p, t, data_range=1.0, reduction="none", dim=(1, 2, 3)
        )
    except ImportError:
        pass
    try:
        import kornia

        out["kornia"] = lambda p, t: kornia.metrics.psnr(p, t, 1.0)
    except ImportError:
        pass
    return out


def _peers_ssim() -> dict[str, Fn]:
    out: dict[str, Fn] = {}
    try:
        import piq

        out["piq"] = lambda p, t: piq.ssim(p, t, data_range=1.0, reduction="none", downsample=False)
    except ImportError:
        pass
    try:
        from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

        out["torchmetrics"] = lambda p, t: tm_ssim(p, t, data_range=1.0, reduction="none")
    except ImportError:
        pass
    try:
        import kornia

        out["kornia"] = lambda p, t: kornia.metrics.ssim(p, t, 11).mean(dim=(1, 2, 3))
    except ImportError:
        pass
    return out


def _peers_ms_ssim() -> dict[str, Fn]:
    out: dict[str, Fn] = {}
    try:
        import piq

        out["piq"] = lambda p, t: piq.multi_scale_ssim(p, t, data_range=1.0, reduction="none")
    except ImportError:
        pass
    try:
        from torchmetrics.functional.image import (
            multiscale_structural_similarity_index_measure as tm_ms,
        )

        out["torchmetrics"] = lambda p, t: tm_ms(p, t, data_range=1.0, reduction="none")
    except ImportError:
        pass
    return out


def _peers_edge() -> dict[str, Fn]:
    from skimage.filters import sobel
    from skimage.metrics import structural_similarity

    def naive(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
        return [
            structural_similarity(sobel(a), sobel(b), **kw)
            for a, b in zip(_luma_np(p), _luma_np(t))
        ]

    out: dict[str, Fn] = {"skimage sobel+ssim": naive}
    try:
        import kornia

        def korn(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            ep = kornia.filters.sobel(kornia.color.rgb_to_grayscale(p))
            et = kornia.filters.sobel(kornia.color.rgb_to_grayscale(t))
            return kornia.metrics.ssim(ep, et, 11).mean(dim=(1, 2, 3))

        out["kornia sobel+ssim"] = korn
    except ImportError:
        pass
    return out


def _wavelet_formula(cp, ct) -> float:
    ratios = []
    for bp, bt in zip(cp[1:], ct[1:]):
        for a, b in zip(bp, bt):
            a, b = abs(a), abs(b)
            ratios.append(float(abs(a - b).sum() / ((a + b).sum() + 1e-8)))
    return 1.0 - sum(ratios) / len(ratios)


def _peers_wavelet() -> dict[str, Fn]:
    import pywt

    def naive(p: torch.Tensor, t: torch.Tensor) -> list[float]:
        return [
            _wavelet_formula(pywt.wavedec2(a, "haar", level=3), pywt.wavedec2(b, "haar", level=3))
            for a, b in zip(_luma_np(p), _luma_np(t))
        ]

    out: dict[str, Fn] = {"pywt wavedec2": naive}
    try:
        import ptwt

        def torch_ptwt(p: torch.Tensor, t: torch.Tensor) -> float:
            w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            cp = ptwt.wavedec2((p * w).sum(1), "haar", level=3, mode="symmetric")
            ct = ptwt.wavedec2((t * w).sum(1), "haar", level=3, mode="symmetric")
            return _wavelet_formula(cp, ct)

        out["ptwt wavedec2"] = torch_ptwt
    except ImportError:
        pass
    return out


PEERS: dict[str, Callable[[], dict[str, Fn]]] = {
    "psnr": _peers_psnr,
    "ssim": _peers_ssim,
    "ms_ssim": _peers_ms_ssim,
    "edge_ssim": _peers_edge,
    "wavelet": _peers_wavelet,
}


def pairs_per_second(fn: Fn, pred: torch.Tensor, target: torch.Tensor, min_time: float) -> float:
    """Pairs per second of ``fn`` on one batch, looping for at least ``min_time`` seconds."""
    with torch.inference_mode():
        fn(pred, target)  # warm-up: kernel selection, caches
        n, start = 0, time.perf_counter()
        while True:
            fn(pred, target)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                return n * pred.shape[0] / elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("--metrics", default=",".join(PEERS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(args.batch, 3, args.size, args.size, generator=g)
    pred = (target + 0.05 * torch.randn(target.shape, generator=g)).clamp(0, 1)

    print(
        f"CPU, {args.size}x{args.size}, batch {args.batch}, {args.threads} torch threads, "
        f"median of {args.repeat}\n"
    )
    print("| metric | implementation | pairs/s | ours / fastest peer |")
    print("|---|---|---:|---:|")
    for name in args.metrics.split(","):
        impls: dict[str, Fn] = {"semfidelity": create_metric(name, device="cpu")}
        impls.update(PEERS[name]())
        rounds: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(args.repeat):
            for key, fn in impls.items():
                rounds[key].append(pairs_per_second(fn, pred, target, args.min_time))
        speed = {k: statistics.median(v) for k, v in rounds.items()}
        fastest_peer = max(v for k, v in speed.items() if k != "semfidelity")
        for key, v in speed.items():
            ratio = f"{speed['semfidelity'] / fastest_peer:.2f}x" if key == "semfidelity" else ""
            print(f"| {name} | {key} | {v:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
