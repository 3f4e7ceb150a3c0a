"""Messages users read point at documentation they have: the online docs, not repo paths."""

from __future__ import annotations

import ast
import json
import re
import types

import pytest
from repo_data import REPO

from semfidelity import weights
from semfidelity._docs import DOCS_URL, docs_url

PKG = REPO / "semfidelity"


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_message_points_at_a_repository_docs_path():
    """``docs/`` is not in the wheel: strings (not docstrings) must link the online copy."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "_docs.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in skip and re.search(r"(?<![/\w])docs/\w", node.value):
                    bad.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value[:70]!r}")
    assert not bad, "\n".join(bad)


def test_docs_url_is_the_documented_project_url_and_pages_exist():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    documented = re.search(r'^Documentation = "([^"]+)"', pyproject, re.M).group(1)
    assert DOCS_URL == documented.replace("/tree/", "/blob/") + "/"
    for page in ("weights.md", "training.md", "metrics/tws.md", "cli.md"):
        assert (REPO / "docs" / page).is_file() and docs_url(page).endswith("docs/" + page)


def test_url_weight_download_error_does_not_blame_the_hub_mirror(tmp_path, monkeypatch, hub):
    from huggingface_hub import file_download, utils

    no_sleep = types.SimpleNamespace(sleep=lambda _s: None, time=lambda: 0.0)
    monkeypatch.setattr(file_download, "time", no_sleep)
    monkeypatch.setattr(utils._http, "time", no_sleep, raising=False)
    url = "http://127.0.0.1:9/alexnet-owt-test.pth"  # nothing listens there
    manifest = tmp_path / "extra.json"
    entry = {"id": "tvnet", "url": url, "filename": "alexnet-owt-test.pth", "sha256": "0" * 64}
    entry.update({"license": "t", "source": "t", "description": "t", "format": "torch"})
    manifest.write_text(json.dumps({"weights": [entry]}), encoding="utf-8")
    monkeypatch.setenv("SEMFID_WEIGHTS_MANIFEST", str(manifest))
    with pytest.raises(weights.WeightDownloadError) as info:
        weights.resolve("tvnet")
    msg = str(info.value)
    assert "HF_ENDPOINT does not apply" in msg and "127.0.0.1:9" in msg
    assert str(tmp_path / "torch_home" / "hub" / "checkpoints" / "alexnet-owt-test.pth") in msg
    assert DOCS_URL + "weights.md" in msg and "see docs/" not in msg
