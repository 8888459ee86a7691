"""Input checks shared by the survival front ends: times, event indicators, groups, strata.

The missing-data policy of every survival estimator lives here: a record with a missing time,
event, group or stratum is excluded and counted (an :class:`~hepatrial.stats._common.Exclusion`
per reason); anything else that is not a valid value is refused with an error that names the
field, the offending value and what is allowed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.exceptions import ExclusionWarning, NotEstimableError
from hepatrial.stats._common import (
    Exclusion,
    FloatArray,
    IntArray,
    as_float_array,
    check_same_length,
    describe_exclusions,
    first_missing,
)


@dataclass(frozen=True)
class Labels:
    """Integer codes ``0..k-1`` of a grouping variable and the level each code stands for."""

    codes: IntArray
    levels: tuple[Any, ...]


def missing_mask(values: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True where ``values`` holds a missing value (``None``, ``NaN``, ``pd.NA``, ``NaT``)."""
    return np.asarray(pd.isna(pd.Series(list(values), dtype=object)), dtype=bool)


def check_times(name: str, time: FloatArray) -> None:
    """Refuse negative or infinite follow-up times (missing ones were excluded before)."""
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}[{first}]={float(time[first])!r} is not a valid follow-up time; times must be "
            f"finite and >= 0 (in the unit of the analysis, e.g. days); {int(bad.sum())} such "
            "value(s) found"
        )


def as_event_array(name: str, event: FloatArray) -> FloatArray:
    """Check that every event indicator is 0 (censored) or 1 (event)."""
    bad = (event != 0) & (event != 1)
    if bad.any():
        values = sorted({float(v) for v in event[bad]})[:5]
        raise ValueError(
            f"{name} must be 0 (censored) or 1 (event, e.g. death); got {values}. "
            "Recode the status column first (R's Surv(time, status == 2) corresponds to "
            "event=(status == 2))"
        )
    return event


def as_cause_array(name: str, cause: FloatArray) -> FloatArray:
    """Check that every cause is 0 (censored) or a positive whole number (event type)."""
    bad = (cause < 0) | (cause != np.round(cause))
    if bad.any():
        values = sorted({float(v) for v in cause[bad]})[:5]
        raise ValueError(
            f"{name} must be 0 (censored) or 1, 2, ... (the type of the first event); got {values}"
        )
    return cause


def _plain(value: Any) -> Any:
    """A numpy scalar as the equivalent Python value (labels print and compare naturally)."""
    return value.item() if isinstance(value, np.generic) else value


def encode_labels(name: str, values: Sequence[Any], reference: Any = None) -> Labels:
    """Code labels ``0..k-1`` in sorted order, with ``reference`` (default: first) as code 0."""
    series = pd.Series(list(values), dtype=object)
    try:
        levels = sorted(_plain(v) for v in pd.unique(series))
    except TypeError as exc:
        raise ValueError(f"{name} mixes labels that cannot be ordered: {exc}") from exc
    if reference is not None:
        if reference not in levels:
            raise ValueError(
                f"reference={reference!r} is not a level of {name}; levels are {levels}"
            )
        levels.remove(reference)
        levels.insert(0, reference)
    codes = pd.Categorical(series, categories=levels).codes.astype(np.int64)
    return Labels(codes=codes, levels=tuple(levels))


@dataclass(frozen=True)
class SurvivalInput:
    """Complete records of a survival analysis, ready for an engine."""

    time: FloatArray
    event: FloatArray
    columns: dict[str, list[Any]]
    n_excluded: int
    exclusions: tuple[Exclusion, ...]


def complete_records(
    time: Any, event: Any, event_name: str = "event", **extra: Any
) -> SurvivalInput:
    """Drop and count records with a missing time, event or extra column; check the rest.

    ``extra`` holds optional label columns (``group``, ``strata``, ...); ``None`` skips one.
    """
    t = as_float_array("time", time)
    e = as_float_array(event_name, event)
    columns = {key: list(value) for key, value in extra.items() if value is not None}
    check_same_length(**({"time": t, event_name: e} | columns))
    masks = {"time": np.isnan(t), event_name: np.isnan(e)}
    masks |= {key: missing_mask(value) for key, value in columns.items()}
    keep, exclusions = first_missing(len(t), masks)
    warn_exclusions(exclusions, len(t))
    check_times("time", t[keep])
    kept_columns = {
        k: [v for v, ok in zip(vals, keep, strict=True) if ok] for k, vals in columns.items()
    }
    return SurvivalInput(
        time=t[keep],
        event=e[keep],
        columns=kept_columns,
        n_excluded=int((~keep).sum()),
        exclusions=exclusions,
    )


def warn_exclusions(exclusions: Sequence[Exclusion], n_records: int, stacklevel: int = 4) -> None:
    """Tell the caller, with an ``ExclusionWarning``, that records were left out and why.

    ``stacklevel`` 4 points at the user's call (warn -> this -> the input helper -> public).
    """
    if exclusions:
        total = sum(item.count for item in exclusions)
        warnings.warn(
            f"{total} of {n_records} records excluded ({describe_exclusions(exclusions)})",
            ExclusionWarning,
            stacklevel=stacklevel,
        )


def compared_groups(data: SurvivalInput, reference: Any = None) -> tuple[Labels, IntArray]:
    """Group labels of the complete records (at least two levels) and their stratum codes.

    Without a ``strata`` column every record is in stratum 0.
    """
    labels = encode_labels("group", data.columns["group"], reference)
    if len(labels.levels) < 2:
        raise NotEstimableError(
            f"group needs at least two levels to compare; got {list(labels.levels)}"
        )
    if "strata" in data.columns:
        return labels, encode_labels("strata", data.columns["strata"]).codes
    return labels, np.zeros(data.time.size, dtype=np.int64)
