"""Model frames, design matrices and per-term results of the regression front ends (Cox,
Fine-Gray).

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
from scipy.stats import norm

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._common import Exclusion, FloatArray, IntArray, first_missing
from hepatrial.stats._survival_input import warn_exclusions
from hepatrial.stats.results import ResultBase


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
    keep, exclusions = first_missing(
        len(selected), {name: selected[name].isna().to_numpy() for name in wanted}
    )
    warn_exclusions(exclusions, len(selected))
    return ModelFrame(
        frame=selected[keep].reset_index(drop=True),
        n_excluded=int((~keep).sum()),
        exclusions=exclusions,
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
            raise NotEstimableError(
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


def wald_terms(
    coef: FloatArray, se: FloatArray, names: Sequence[str], conf_level: float
) -> pd.DataFrame:
    """Per-term Wald inference of a proportional-hazards model, on the hazard-ratio scale.

    ``z = coef / se``, ``p = 2 (1 - Phi(|z|))`` and the interval
    ``exp(coef -/+ q se)`` with ``q = Phi^-1(1 - (1 - conf_level) / 2)``, as R's
    ``summary.coxph`` and ``summary.crr``. One row per term (index ``term``), columns
    coef, hazard_ratio, se, z, p_value, ci_low, ci_high.
    """
    q = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    z = coef / se
    return pd.DataFrame(
        {
            "coef": coef,
            "hazard_ratio": np.exp(coef),
            "se": se,
            "z": z,
            "p_value": 2.0 * norm.sf(np.abs(z)),
            "ci_low": np.exp(coef - q * se),
            "ci_high": np.exp(coef + q * se),
        },
        index=pd.Index(list(names), name="term"),
    )


class RatioTerms(ResultBase):
    """Fields and properties shared by the proportional-hazards results (Cox, Fine-Gray).

    ``terms`` holds one row per model term; the main effect (``estimate``, ``se``, ``ci_low``,
    ``ci_high``, ``p_value``) is the first term, so put the treatment first: its hazard ratio
    and interval, the SE of its coefficient (log hazard ratio) and its Wald P.
    """

    terms: pd.DataFrame

    @property
    def coef(self) -> pd.Series:
        """Coefficient (log hazard ratio) per term."""
        return self.terms["coef"]

    @property
    def hazard_ratio(self) -> pd.Series:
        """Hazard ratio ``exp(coef)`` per term."""
        return self.terms["hazard_ratio"]

    @property
    def z(self) -> pd.Series:
        """Wald statistic ``coef / se`` per term."""
        return self.terms["z"]

    @property
    def ci(self) -> pd.DataFrame:
        """Wald interval of the hazard ratio per term: columns ci_low, ci_high."""
        return self.terms[["ci_low", "ci_high"]]

    def _first(self, column: str) -> float:
        return float(self.terms[column].iloc[0])

    @property
    def estimate(self) -> float:
        """Hazard ratio of the first term."""
        return self._first("hazard_ratio")

    @property
    def se(self) -> float:
        """Standard error of the first term's coefficient (log hazard ratio)."""
        return self._first("se")

    @property
    def ci_low(self) -> float:
        """Lower Wald limit of the first term's hazard ratio."""
        return self._first("ci_low")

    @property
    def ci_high(self) -> float:
        """Upper Wald limit of the first term's hazard ratio."""
        return self._first("ci_high")

    @property
    def p_value(self) -> float:
        """Wald P of the first term."""
        return self._first("p_value")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term: the columns of ``terms`` after ``term``."""
        return self.terms.reset_index()
