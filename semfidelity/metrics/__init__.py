"""Registered metrics. Importing this package registers every built-in metric."""

from semfidelity.metrics import (
    classical,  # noqa: F401
    clip_lpips,  # noqa: F401
    clip_sim,  # noqa: F401
    clu,  # noqa: F401
    lpips,  # noqa: F401
    tws,  # noqa: F401
)
