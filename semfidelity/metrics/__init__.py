"""Registered metrics. Importing this package registers every built-in metric."""

from semfidelity.metrics import (
    classical,  # noqa: F401
    clip_lpips,  # noqa: F401
    clu,  # noqa: F401
    face_identity,  # noqa: F401
    lpips,  # noqa: F401
    text_fidelity,  # noqa: F401
    tws,  # noqa: F401
)
