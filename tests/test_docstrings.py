"""Every metric class documents itself like piq and torchmetrics do: an ``Example:`` that runs
(checked here as a doctest) and ``References:`` with a DOI or an arXiv id."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import pytest

import semfidelity
import semfidelity.metrics
from semfidelity.registry import get_spec

METRIC_MODULES = sorted(
    f"semfidelity.metrics.{m.name}"
    for m in pkgutil.iter_modules(semfidelity.metrics.__path__)
    if not m.name.startswith("_")
)
BUILTIN_CLASSES = sorted(
    {
        get_spec(name).factory
        for name in semfidelity.list_metrics()
        if get_spec(name).factory.__module__.startswith("semfidelity.metrics.")
    },
    key=lambda cls: cls.__qualname__,
)
EXPECTED = {c.__module__ for c in BUILTIN_CLASSES}
IDENTIFIER = re.compile(r"DOI: 10\.\d{4,9}/\S+|arXiv:\d{4}\.\d{4,5}")


@pytest.mark.parametrize("cls", BUILTIN_CLASSES, ids=lambda c: c.__name__)
def test_metric_class_has_an_example_and_references(cls):
    doc = inspect.getdoc(cls) or ""
    assert "\nExample:\n" in doc and ">>> " in doc.split("Example:")[1], cls
    assert "\nReferences:\n" in doc, cls
    assert IDENTIFIER.search(doc.split("References:")[1]), f"{cls}: no DOI or arXiv id"


@pytest.mark.parametrize("module", METRIC_MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 or module not in EXPECTED, module
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"
