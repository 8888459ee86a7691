"""Reading score inputs out of a patient table, collecting every problem instead of raising.

The CSV/DataFrame convention (see ``docs/scores.md``):

* one row per patient; columns are named after the score keywords (``bilirubin``,
  ``creatinine``, ``albumin``, ``sodium``, ``inr``, ``sex``, ``ascites``, ``he_grade``, ...);
* a plain lab column is in the unit system of its row: the ``units`` argument
  (``"conventional"`` or ``"si"``), or the row's value in an optional ``units`` column;
* a lab column with a unit suffix is always in that unit, whatever the row's system:
  ``bilirubin_umol_l``, ``creatinine_mg_dl``, ``albumin_g_l``, ``urea_mmol_l``, ...;
* one analyte may sit in several columns, but each row may fill only one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.scores._inputs import BoolArray, FloatArray
from hepatrial.units import (
    UnitSystem,
    accepted_units,
    display_unit,
    implausible_message,
    plausible_mask,
    system_unit,
    to_conventional,
)

SUFFIX_UNITS = {
    "mg_dl": "mg/dL",
    "umol_l": "µmol/L",
    "g_dl": "g/dL",
    "g_l": "g/L",
    "mmol_l": "mmol/L",
    "10e9_l": "10^9/L",
    "per_ul": "cells/µL",
    "u_l": "U/L",
    "ng_ml": "ng/mL",
    "mmhg": "mmHg",
}
"""Column-name suffixes and the unit they fix: ``bilirubin_umol_l`` is bilirubin in µmol/L."""

ERROR_COLUMNS = ("row", "field", "value", "unit", "reason")


@dataclass
class Problems:
    """Every problem found in a table: 1-based data row, field, value as given, unit, reason."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, field_name: str, value: Any, unit: str, reason: str) -> None:
        self.records.append(
            {"row": row + 1, "field": field_name, "value": value, "unit": unit, "reason": reason}
        )

    def rows(self, n: int) -> BoolArray:
        """True for every row (0-based) with at least one problem."""
        bad = np.zeros(n, dtype=bool)
        if self.records:
            bad[np.array([r["row"] - 1 for r in self.records])] = True
        return bad

    def frame(self) -> pd.DataFrame:
        table = pd.DataFrame(self.records, columns=list(ERROR_COLUMNS))
        return table.sort_values(["row", "field"], kind="stable").reset_index(drop=True)


def _cell(value: Any) -> Any:
    """A cell as written, for error reports (NaN shown as an empty string)."""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return value.item() if hasattr(value, "item") else value


def numeric(
    frame: pd.DataFrame, column: str, problems: Problems, unit: str
) -> tuple[FloatArray, BoolArray]:
    """A column as floats, and the rows whose text is not a number (reported, NaN in values)."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    not_number = np.zeros(len(frame), dtype=bool)
    if raw.dtype.kind not in "iufb":
        text = raw.astype(str).str.strip()
        blank = raw.isna().to_numpy() | text.isin(["", "nan", "NA", "NaN"]).to_numpy()
        not_number = np.isnan(values) & ~blank
        for i in np.flatnonzero(not_number):
            value = _cell(raw.iloc[i])
            problems.add(int(i), column, value, unit, f"{column}={value!r} is not a number")
    return values, not_number


def row_systems(frame: pd.DataFrame, default: UnitSystem, problems: Problems) -> BoolArray:
    """True for rows whose plain lab columns are SI (the ``units`` column or ``default``)."""
    if default not in ("conventional", "si"):
        raise ValueError(f"units={default!r} is not a unit system; use 'conventional' or 'si'")
    n = len(frame)
    if "units" not in frame.columns:
        return np.full(n, default == "si")
    words = frame["units"].astype(str).str.strip().str.lower()
    blank = frame["units"].isna().to_numpy() | (words == "").to_numpy()
    is_si = words.isin(["si"]).to_numpy()
    is_us = words.isin(["conventional", "us"]).to_numpy()
    for i in np.flatnonzero(~(is_si | is_us | blank)):
        problems.add(
            int(i), "units", _cell(frame["units"].iloc[i]), "", "use 'conventional' or 'si'"
        )
    return np.where(blank, default == "si", is_si)


def lab_sources(columns: pd.Index, analyte: str) -> list[tuple[str, str | None]]:
    """Columns holding ``analyte``: (name, fixed unit or None for the row's unit system)."""
    sources: list[tuple[str, str | None]] = []
    if analyte in columns:
        sources.append((analyte, None))
    accepted = {display_unit(u) for u in accepted_units(analyte)}
    for suffix, unit in SUFFIX_UNITS.items():
        name = f"{analyte}_{suffix}"
        if name not in columns:
            continue
        if display_unit(unit) not in accepted:
            raise ValueError(
                f"column {name!r}: {unit} is not a unit of {analyte}; "
                f"accepted: {', '.join(sorted(accepted))}"
            )
        sources.append((name, unit))
    return sources


def lab_column(
    frame: pd.DataFrame,
    analyte: str,
    is_si: BoolArray,
    problems: Problems,
    *,
    required: bool,
) -> FloatArray:
    """Conventional-unit values of ``analyte`` per row; NaN where missing or invalid."""
    n = len(frame)
    result = np.full(n, np.nan)
    filled_by = np.full(n, "", dtype=object)
    si_unit, us_unit = system_unit(analyte, "si"), system_unit(analyte, "conventional")
    sources = lab_sources(frame.columns, analyte)
    looked = [name for name, _ in sources]
    for column, fixed in sources:
        units = np.where(is_si, si_unit, us_unit) if fixed is None else np.full(n, fixed)
        given, not_number = numeric(frame, column, problems, fixed or us_unit)
        present = ~np.isnan(given)
        filled_by[not_number & (filled_by == "")] = column
        for i in np.flatnonzero(present & (filled_by != "")):
            problems.add(
                int(i),
                column,
                _cell(given[i]),
                units[i],
                f"{analyte} is also given in {filled_by[i]}",
            )
        conventional = np.full(n, np.nan)
        for unit in np.unique(units[present]):
            rows = present & (units == unit)
            conventional[rows] = to_conventional(given[rows], analyte, str(unit))
        bad = present & ~plausible_mask(conventional, analyte)
        for i in np.flatnonzero(bad):
            message = implausible_message(float(given[i]), analyte, str(units[i]), column)
            problems.add(int(i), column, _cell(frame[column].iloc[i]), units[i], message)
        take = present & ~bad & (filled_by == "")
        result[take] = conventional[take]
        filled_by[present & (filled_by == "")] = column
    if required:
        for i in np.flatnonzero(filled_by == ""):
            reason = f"{analyte} is missing (looked in: {', '.join(looked) or 'no such column'})"
            problems.add(int(i), analyte, "", us_unit, reason)
    return result


def coded_column(
    frame: pd.DataFrame,
    column: str,
    words: Mapping[str, float],
    allowed: tuple[float, ...],
    problems: Problems,
    *,
    default: float | None = None,
    accept_numbers: bool = True,
) -> FloatArray:
    """Codes of a categorical column (numbers or words); absent column gives ``default``."""
    n = len(frame)
    if column not in frame.columns:
        if default is None:
            for row in range(n):
                problems.add(row, column, "", "", f"{column} is missing (no such column)")
            return np.full(n, np.nan)
        return np.full(n, default)
    raw = frame[column]
    if raw.dtype.kind in "iufb":
        numbers = raw.to_numpy(dtype=np.float64)
        codes = numbers if accept_numbers else np.full(n, np.nan)
    else:
        text = raw.astype(str).str.strip().str.lower()
        mapped = text.map(dict(words)).astype(np.float64)
        if accept_numbers:
            mapped = mapped.fillna(pd.to_numeric(text, errors="coerce"))
        codes = mapped.to_numpy(dtype=np.float64)
    bad = ~np.isin(codes, allowed)
    choices = [f"{a:g}" for a in allowed] if accept_numbers else []
    reason = "allowed: " + ", ".join(choices + sorted(words))
    for i in np.flatnonzero(bad):
        value = _cell(raw.iloc[i])
        blank = value in ("", None) or str(value).strip().lower() in ("", "nan")
        why = f"{column} is missing" if blank else f"{column}={value!r} is not a valid {column}"
        problems.add(int(i), column, value, "", f"{why}; {reason}")
    return np.where(bad, np.nan, codes)


YES_NO = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0, "y": 1.0, "n": 0.0}
SEX_WORDS = {"m": 0.0, "male": 0.0, "f": 1.0, "female": 1.0}
