"""Registered metrics, one module each. Importing this package registers every built-in metric."""

from semfidelity.metrics import (  # noqa: F401
    clip_lpips,
    clip_sim,
    clipiqa,
    clu,
    dists,
    edge_ssim,
    face_identity,
    lpips,
    niqe,
    psnr,
    ssim,
    text_fidelity,
    tws,
    wavelet,
)
