"""The examples in the survival modules' docstrings run and give the values they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hepatrial.stats.survival",
    "hepatrial.stats.logrank",
    "hepatrial.stats.cox",
    "hepatrial.stats.competing",
    "hepatrial.stats.batch.survival",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
