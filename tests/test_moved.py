"""Modules that moved keep their old import path for now, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest

from semfidelity._moved import MOVED


def _forget(old: str) -> None:
    sys.modules.pop(old, None)
    parent, _, name = old.rpartition(".")
    if hasattr(sys.modules[parent], name):
        delattr(sys.modules[parent], name)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_warns_and_gives_the_new_objects(old):
    _forget(old)
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated"):
        module = importlib.import_module(old)
    for new in MOVED[old]:
        target = importlib.import_module(new)
        assert target.__all__
        for name in target.__all__:
            assert getattr(module, name) is getattr(target, name), (old, name)
    _forget(old)


def test_from_import_of_a_moved_module():
    _forget("semfidelity.pairs")
    with pytest.warns(DeprecationWarning):
        from semfidelity import pairs
    from semfidelity.scoring import pairs as new

    assert pairs is new
    _forget("semfidelity.pairs")


def test_new_paths_do_not_warn(recwarn):
    for new in {n for names in MOVED.values() for n in names}:
        importlib.import_module(new)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
