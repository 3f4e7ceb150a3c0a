"""Registered metrics, one module each. Importing this package registers every built-in metric.

Every public module of this package (a name without a leading underscore) is imported here, in
name order, so that a new metric is one new module: no list to edit.
"""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")
del _module
