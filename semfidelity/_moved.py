"""Deprecated import paths of modules that moved (importing one warns, then works).

=====================================  =================================================
old path                               new path
=====================================  =================================================
``semfidelity.pairs``                  :mod:`semfidelity.scoring.pairs`
``semfidelity.data``                   :mod:`semfidelity.scoring.decoding`
``semfidelity.scorefile``              :mod:`semfidelity.scoring.scorefile`
``semfidelity.distributed``            :mod:`semfidelity.scoring.distributed`
``semfidelity.heatmap``                :mod:`semfidelity.scoring.heatmap`
``semfidelity.metrics.classical``      :mod:`semfidelity.metrics.psnr`, ``.ssim``,
                                       ``.edge_ssim``, ``.wavelet``
=====================================  =================================================

An import hook (a :class:`importlib.abc.MetaPathFinder`) serves the old names, so no stub file
sits at the old path. An old name with one new module *is* that module; ``metrics.classical``
is a module holding the public names of its four successors.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

__all__ = ["MOVED", "install"]

MOVED: dict[str, tuple[str, ...]] = {
    "semfidelity.pairs": ("semfidelity.scoring.pairs",),
    "semfidelity.data": ("semfidelity.scoring.decoding",),
    "semfidelity.scorefile": ("semfidelity.scoring.scorefile",),
    "semfidelity.distributed": ("semfidelity.scoring.distributed",),
    "semfidelity.heatmap": ("semfidelity.scoring.heatmap",),
    "semfidelity.metrics.classical": (
        "semfidelity.metrics.psnr",
        "semfidelity.metrics.ssim",
        "semfidelity.metrics.edge_ssim",
        "semfidelity.metrics.wavelet",
        "semfidelity.metrics._checks",
    ),
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        public = [n for n in new if not n.rsplit(".", 1)[1].startswith("_")]
        warnings.warn(
            f"{spec.name} is deprecated and will be removed; import {' / '.join(public)} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        modules = [importlib.import_module(n) for n in new]
        if len(modules) == 1:
            return modules[0]
        merged = types.ModuleType(spec.name, f"Deprecated: see {', '.join(new)}.")
        for m in modules:
            for name in getattr(m, "__all__", ()):
                setattr(merged, name, getattr(m, name))
        return merged

    def exec_module(self, module) -> None:
        pass


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
