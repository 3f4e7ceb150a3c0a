"""Registered metrics. Importing this package registers every built-in metric."""

from semfidelity.metrics import (  # noqa: F401
    classical,  # noqa: F401
    clip_lpips,
    clu,
    lpips,  # noqa: F401
)
