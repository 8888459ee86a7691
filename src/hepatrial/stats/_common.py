"""Shared plumbing of the estimators: input coercion, exclusion records and result rendering.

Engines work on plain ``numpy`` arrays; front ends coerce what users pass (lists, arrays, pandas
Series) through :func:`as_float_array` and report every excluded record through
:class:`Exclusion`. Results render their ``summary`` DataFrame and never print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Exclusion:
    """Records left out of an analysis: why, and how many."""

    reason: str
    count: int


def describe_exclusions(exclusions: Sequence[Exclusion]) -> str:
    """One sentence about excluded records for provenance, or ``"none"``."""
    if not exclusions:
        return "none"
    return "; ".join(f"{item.count} ({item.reason})" for item in exclusions)


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


class RenderedResult:
    """Mixin for frozen result dataclasses: ``to_text``/``to_html`` render ``summary``."""

    @property
    def summary(self) -> pd.DataFrame:  # pragma: no cover - every result overrides it
        raise TypeError(f"{type(self).__name__} does not define a summary")

    def to_text(self) -> str:
        """The summary as a plain-text table."""
        return str(self.summary.to_string(index=False))

    def to_html(self) -> str:
        """The summary as an HTML table."""
        return str(self.summary.to_html(index=False, border=0, classes="hepatrial-table"))
