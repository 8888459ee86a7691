"""Shared plumbing of the estimators: input coercion and the missing-data policy.

Engines work on plain ``numpy`` arrays; front ends coerce what users pass (lists, arrays, pandas
Series) through :func:`as_float_array` and report every excluded record through
:class:`~hepatrial.stats.results.Exclusion` (re-exported here with the rendering mixin for the
modules that import them from this one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hepatrial.stats.results import Exclusion, RenderedResult, describe_exclusions

__all__ = [
    "Exclusion",
    "FloatArray",
    "IntArray",
    "RenderedResult",
    "as_float_array",
    "check_same_length",
    "describe_exclusions",
    "first_missing",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def first_missing(
    n: int, missing: Mapping[str, npt.NDArray[np.bool_]]
) -> tuple[npt.NDArray[np.bool_], tuple[Exclusion, ...]]:
    """The missing-data policy of every front end: complete records, and why the others left.

    ``missing`` maps each column an analysis uses, in its order, to a mask of its missing
    values. Returns the mask of the ``n`` records observed in every column and one
    :class:`Exclusion` per column, counting the records whose first gap is in that column.
    """
    keep = np.ones(n, dtype=bool)
    exclusions: list[Exclusion] = []
    for name, mask in missing.items():
        count = int((mask & keep).sum())
        if count:
            exclusions.append(Exclusion(reason=f"missing {name}", count=count))
        keep &= ~mask
    return keep, tuple(exclusions)


def as_float_array(name: str, values: Any) -> FloatArray:
    """Return ``values`` as a 1-D float array, or raise a ``ValueError`` naming ``name``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got an array of shape {array.shape}")
    return array


def check_same_length(**arrays: Sequence[Any] | npt.NDArray[Any]) -> int:
    """Return the common length of ``arrays`` or raise a ``ValueError`` listing every length."""
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"inputs must have the same length; got {listed}")
    return next(iter(lengths.values()), 0)
