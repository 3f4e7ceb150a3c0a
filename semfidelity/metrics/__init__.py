"""Registered metrics. Importing this package registers every built-in metric."""

from semfidelity.metrics import (
    classical,  # noqa: F401
    tws,  # noqa: F401
)
