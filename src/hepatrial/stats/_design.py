"""Model frames and design matrices for the regression front ends (Cox, Fine-Gray).

A model frame keeps the records that are complete in every column the model uses and counts
the others per column (the first missing column of a record is its reason). Numeric and
boolean covariates enter as they are; text or categorical covariates become 0/1 indicators of
each level against the reference level (default: the first sorted level), named
``"column=level"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.stats._common import Exclusion, FloatArray, IntArray
from hepatrial.stats._survival_input import warn_exclusions


@dataclass(frozen=True)
class ModelFrame:
    """Complete records of the used columns, with what was excluded and why."""

    frame: pd.DataFrame
    n_excluded: int
    exclusions: tuple[Exclusion, ...]


def as_frame(data: Any) -> pd.DataFrame:
    """Accept a DataFrame or a mapping of column name to values."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    raise TypeError(
        f"data must be a pandas DataFrame or a mapping of columns; got {type(data).__name__}"
    )


def model_frame(data: Any, columns: Sequence[str]) -> ModelFrame:
    """Select ``columns`` (each named once), drop incomplete records and count them by column."""
    frame = as_frame(data)
    wanted = list(dict.fromkeys(columns))
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in the data; available: {list(frame.columns)}")
    selected = frame[wanted]
    keep = np.ones(len(selected), dtype=bool)
    exclusions = []
    for name in wanted:
        absent = selected[name].isna().to_numpy()
        count = int((absent & keep).sum())
        if count:
            exclusions.append(Exclusion(reason=f"missing {name}", count=count))
        keep &= ~absent
    warn_exclusions(exclusions, len(selected))
    return ModelFrame(
        frame=selected[keep].reset_index(drop=True),
        n_excluded=int((~keep).sum()),
        exclusions=tuple(exclusions),
    )


def _is_numeric(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype)
    )


def _reference_for(name: str, reference: Any, categorical: list[str]) -> Any:
    if reference is None:
        return None
    if isinstance(reference, Mapping):
        return reference.get(name)
    if len(categorical) != 1:
        raise ValueError(
            f"reference={reference!r} is ambiguous with categorical covariates {categorical}; "
            "pass a mapping such as {'arm': 'control'}"
        )
    return reference


def design_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], reference: Any = None
) -> tuple[FloatArray, list[str], dict[str, Any]]:
    """Numeric design matrix, its column names and the reference level of each factor."""
    if not covariates:
        raise ValueError("covariates must name at least one column")
    categorical = [c for c in covariates if not _is_numeric(frame[c])]
    blocks: list[FloatArray] = []
    names: list[str] = []
    references: dict[str, Any] = {}
    for name in covariates:
        column = frame[name]
        if name not in categorical:
            blocks.append(column.to_numpy(dtype=np.float64)[:, None])
            names.append(name)
            continue
        levels = sorted(pd.unique(column.astype(object)))
        chosen = _reference_for(name, reference, categorical)
        base = levels[0] if chosen is None else chosen
        if base not in levels:
            raise ValueError(f"reference {base!r} is not a level of {name}; levels are {levels}")
        if len(levels) < 2:
            raise ValueError(
                f"covariate {name} has a single level {levels}; it cannot be estimated"
            )
        references[name] = base
        for level in (lv for lv in levels if lv != base):
            blocks.append((column.astype(object) == level).to_numpy(dtype=np.float64)[:, None])
            names.append(f"{name}={level}")
    return np.hstack(blocks), names, references


def group_codes_of(frame: pd.DataFrame, columns: Sequence[str]) -> IntArray:
    """One integer code per combination of ``columns`` (strata, clusters)."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64)
    codes: IntArray = np.asarray(frame.groupby(list(columns), sort=True).ngroup(), dtype=np.int64)
    return codes


def as_names(value: str | Sequence[str] | None) -> list[str]:
    """A column name or list of names as a list (``None`` -> empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
