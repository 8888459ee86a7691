"""Front-end plumbing of the linear estimators: column checks, the missing-data policy, coding.

The policy is complete cases over the columns an analysis uses: every dropped row is counted
under the first column (in the order the analysis lists them) in which it is missing, reported
in the result as :class:`~hepatrial.stats._common.Exclusion` records and announced by an
:class:`~hepatrial.exceptions.ExclusionWarning`. Nothing is dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepatrial import __version__
from hepatrial.exceptions import ExclusionWarning
from hepatrial.stats._common import Exclusion, FloatArray, first_missing

DataLike = pd.DataFrame | Mapping[str, Any]


def package_version() -> str:
    """The installed hepatrial version, recorded in every result's provenance."""
    return __version__


def as_frame(data: DataLike, columns: Sequence[str]) -> pd.DataFrame:
    """Return ``data`` as a DataFrame restricted to ``columns``; raise if one is absent."""
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns))
        raise ValueError(f"column(s) {missing} not found in data; available columns: {available}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"each column may appear only once in an analysis; got {list(columns)}")
    return frame.loc[:, list(columns)].reset_index(drop=True)


def complete_cases(
    frame: pd.DataFrame, columns: Sequence[str], *, stacklevel: int = 3
) -> tuple[pd.DataFrame, tuple[Exclusion, ...]]:
    """Keep rows observed in every column of ``columns``; count the others per first gap.

    ``stacklevel`` points the warning at the user's call (3: called from the public function).
    """
    keep, exclusions = first_missing(
        len(frame), {name: frame[name].isna().to_numpy() for name in columns}
    )
    if exclusions:
        listed = "; ".join(f"{e.count} with {e.reason}" for e in exclusions)
        warnings.warn(
            f"{int((~keep).sum())} of {len(frame)} rows excluded ({listed})",
            ExclusionWarning,
            stacklevel=stacklevel,
        )
    return frame.loc[keep].reset_index(drop=True), exclusions


def group_levels(values: pd.Series, name: str, reference: Any | None) -> tuple[Any, list[Any]]:
    """Sorted levels of a grouping column and the reference level (default: the first)."""
    levels = sorted(pd.unique(values))
    if len(levels) < 2:
        raise ValueError(f"{name} must have at least two levels to compare; got {levels}")
    if reference is None:
        return levels[0], levels
    if reference not in levels:
        raise ValueError(f"reference={reference!r} is not a level of {name}; levels: {levels}")
    return reference, levels


def is_numeric(values: pd.Series) -> bool:
    """Numeric columns enter a model as they are; anything else is a factor."""
    return bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


@dataclass(frozen=True)
class CovariateColumns:
    """Design columns of the covariates and their point in emmeans' reference grid."""

    names: tuple[str, ...]
    matrix: FloatArray
    grid: FloatArray


def covariate_columns(frame: pd.DataFrame, covariates: Sequence[str]) -> CovariateColumns:
    """Code covariates as R's ``model.matrix`` does with treatment contrasts.

    Numeric covariates enter as they are and sit at their mean in the reference grid; factors
    get one indicator per level after the first sorted level and equal weights in the grid
    (``emmeans``' default), so each indicator's grid value is ``1 / k``.
    """
    names: list[str] = []
    columns: list[FloatArray] = []
    grid: list[float] = []
    for name in covariates:
        values = frame[name]
        if is_numeric(values):
            column = values.to_numpy(dtype=np.float64)
            names.append(name)
            columns.append(column)
            grid.append(float(column.mean()))
            continue
        levels = sorted(pd.unique(values))
        for level in levels[1:]:
            names.append(f"{name}{level}")
            columns.append((values == level).to_numpy(dtype=np.float64))
            grid.append(1.0 / len(levels))
    matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    return CovariateColumns(tuple(names), matrix, np.asarray(grid, dtype=np.float64))


def check_conf_level(conf_level: float) -> float:
    """Return ``conf_level`` if it lies strictly between 0 and 1."""
    if not 0.0 < conf_level < 1.0:
        raise ValueError(
            f"conf_level={conf_level!r} must lie strictly between 0 and 1 (e.g. 0.95 for 95%)"
        )
    return float(conf_level)
