"""Registered metrics. Importing this package registers every built-in metric."""

from semfidelity.metrics import classical  # noqa: F401
from semfidelity.metrics import clip_lpips  # noqa: F401
from semfidelity.metrics import clu  # noqa: F401
from semfidelity.metrics import lpips  # noqa: F401
from semfidelity.metrics import tws  # noqa: F401
