"""Data flows one way (DESIGN.md): cli -> metrics/selection/training -> backbones/functional."""

from __future__ import annotations

import ast

import pytest
from conftest import REPO

PKG = REPO / "semfidelity"


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {m for m in out if m == "semfidelity" or m.startswith("semfidelity.")}


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("functional", ("semfidelity.",)),  # pure maths: nothing else from the package
        ("backbones", ("semfidelity.metrics", "semfidelity.cli", "semfidelity.selection")),
        ("metrics", ("semfidelity.cli", "semfidelity.selection", "semfidelity.training")),
        ("selection", ("semfidelity.cli", "semfidelity.training")),
        ("training", ("semfidelity.cli", "semfidelity.selection")),
        ("weights", ("semfidelity.metrics", "semfidelity.cli", "semfidelity.backbones")),
    ],
)
def test_layer_does_not_import_upwards(layer, forbidden):
    bad = []
    for path in sorted((PKG / layer).rglob("*.py")):
        for mod in _imports(path):
            own = mod.startswith(f"semfidelity.{layer}")
            if not own and any(mod == f.rstrip(".") or mod.startswith(f) for f in forbidden):
                bad.append(f"{path.relative_to(REPO)} imports {mod}")
    assert not bad, "\n".join(bad)
