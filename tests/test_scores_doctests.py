"""Run the examples in the docstrings of the units and scores modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hepatrial.units",
    "hepatrial.scores.meld",
    "hepatrial.scores.child_pugh",
    "hepatrial.scores.fibrosis",
    "hepatrial.scores.mayo",
    "hepatrial.scores.aclf",
    "hepatrial.scores.apasl",
    "hepatrial.scores.cohort",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0, f"{name} has no examples"
    assert failures == 0
