"""Data flows one way (DESIGN.md): cli -> scoring/selection/training -> metrics -> backbones/
functional/weights. Every import counts, also those inside functions; the graph has no circle."""

from __future__ import annotations

import ast
from functools import cache

import pytest
from repo_data import REPO

PKG = REPO / "semfidelity"
MAX_LINES = 350


def _module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    rel = REPO.joinpath(*name.split("."))
    return rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file()


@cache
def _imports(path) -> frozenset[str]:
    """Package modules ``path`` imports anywhere in its body (``from pkg import mod`` -> mod)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    if path.name != "__init__.py":
        here.pop()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if _is_module(sub) else base)
    return frozenset(m for m in out if m == "semfidelity" or m.startswith("semfidelity."))


def _package_files():
    return sorted(PKG.rglob("*.py"))


def _under(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


CORE = ("semfidelity.registry", "semfidelity.metric", "semfidelity.io", "semfidelity._version")
UPPER = ("semfidelity.cli", "semfidelity.scoring", "semfidelity.selection", "semfidelity.training")
ABOVE_METRICS = (*UPPER, "semfidelity.factory", "semfidelity.metrics")


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("semfidelity.registry", ("semfidelity",)),  # the registry imports nothing of the package
        ("semfidelity.functional", ("semfidelity",)),  # pure maths: nothing else of the package
        ("semfidelity.metric", ABOVE_METRICS),
        ("semfidelity.io", ABOVE_METRICS),
        ("semfidelity.calibration", ABOVE_METRICS),
        ("semfidelity.backbones", ABOVE_METRICS),
        ("semfidelity.weights", (*ABOVE_METRICS, "semfidelity.backbones")),
        ("semfidelity.metrics", (*UPPER, "semfidelity.factory")),
        ("semfidelity.factory", UPPER),
        (
            "semfidelity.scoring",
            ("semfidelity.cli", "semfidelity.selection", "semfidelity.training"),
        ),
        (
            "semfidelity.selection",
            ("semfidelity.cli", "semfidelity.scoring", "semfidelity.training"),
        ),
        (
            "semfidelity.training",
            ("semfidelity.cli", "semfidelity.scoring", "semfidelity.selection"),
        ),
    ],
)
def test_layer_does_not_import_upwards(layer, forbidden):
    bad = []
    for path in _package_files():
        if not _under(_module_name(path), layer):
            continue
        for mod in _imports(path):
            if _under(mod, layer) and mod != "semfidelity":
                continue  # its own modules
            if any(_under(mod, f) for f in forbidden if f != "semfidelity") or (
                "semfidelity" in forbidden and mod.startswith("semfidelity")
            ):
                bad.append(f"{path.relative_to(REPO)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_only_the_command_line_imports_the_top_level_package():
    # ``from semfidelity import create_metric`` inside the package runs semfidelity/__init__,
    # which imports every layer: an upward import in disguise. Use semfidelity.factory.
    bad = [
        f"{path.relative_to(REPO)} imports semfidelity"
        for path in _package_files()
        if not _under(_module_name(path), "semfidelity.cli")
        and "semfidelity" in _imports(path)
        and path != PKG / "__init__.py"
    ]
    assert not bad, "\n".join(bad)


def test_import_graph_has_no_circle():
    graph = {
        _module_name(p): {m for m in _imports(p) if m != _module_name(p)} for p in _package_files()
    }
    graph["semfidelity"] = set(graph.get("semfidelity", ())) - {"semfidelity"}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(mod: str) -> list[str] | None:
        state[mod] = 1
        stack.append(mod)
        for nxt in sorted(graph.get(mod, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[mod] = 2
        return None

    for mod in sorted(graph):
        if mod not in state and (cycle := visit(mod)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_the_layer_test_sees_imports_inside_functions(tmp_path, monkeypatch):
    text = "def f():\n    from semfidelity import create_metric\n    from . import psnr\n"
    tree_mod = tmp_path / "semfidelity" / "metrics" / "probe.py"
    tree_mod.parent.mkdir(parents=True)
    tree_mod.write_text(text, encoding="utf-8")
    (tmp_path / "semfidelity" / "metrics" / "psnr.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "REPO", tmp_path)
    _imports.cache_clear()
    try:
        assert _imports(tree_mod) == {"semfidelity", "semfidelity.metrics.psnr"}
    finally:
        _imports.cache_clear()


def test_no_package_module_is_over_the_line_limit():
    over = {}
    for path in _package_files():
        rel = path.relative_to(REPO).as_posix()
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            over[rel] = n
    assert not over, f"modules over {MAX_LINES} lines: {over}"
