"""Pure, batched, differentiable tensor maths. Imports nothing else from the package."""

from semfidelity.functional.psnr import psnr

__all__ = ["psnr"]
