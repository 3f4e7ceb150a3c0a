"""Pure, batched, differentiable tensor maths. Imports nothing else from the package."""

from semfidelity.functional.color import rgb_to_luma, rgb_to_y
from semfidelity.functional.edges import edge_map, edge_ssim
from semfidelity.functional.filters import crop_border, gaussian_filter, gaussian_kernel1d
from semfidelity.functional.psnr import psnr
from semfidelity.functional.ssim import ms_ssim, ssim, ssim_map
from semfidelity.functional.wavelets import (
    WAVELET_K,
    check_wavelet_formula,
    dwt2,
    max_levels,
    wavelet_similarity,
    wavelet_similarity_map,
)

__all__ = [
    "WAVELET_K",
    "check_wavelet_formula",
    "crop_border",
    "dwt2",
    "edge_map",
    "edge_ssim",
    "gaussian_filter",
    "gaussian_kernel1d",
    "max_levels",
    "ms_ssim",
    "psnr",
    "rgb_to_luma",
    "rgb_to_y",
    "ssim",
    "ssim_map",
    "wavelet_similarity",
    "wavelet_similarity_map",
]
