"""The engine boundary: what packages built on :mod:`hepatrial.stats` use besides estimators.

:mod:`hepatrial.design`, :mod:`hepatrial.simulate` and :mod:`hepatrial.analysis` import the array
types, the exclusion record and the result rendering mixin from here, never from the private
modules of :mod:`hepatrial.stats` (an import contract in ``pyproject.toml`` enforces it). Inside
:mod:`hepatrial.stats` the private modules stay free to change.
"""

from __future__ import annotations

from hepatrial.stats._common import (
    Exclusion,
    FloatArray,
    IntArray,
    RenderedResult,
)

__all__ = [
    "Exclusion",
    "FloatArray",
    "IntArray",
    "RenderedResult",
]
