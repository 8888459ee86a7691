"""The source tables the analysis datasets are derived from, and their checks.

The tables mirror the trial store (:mod:`hepatrial.store`), one DataFrame per table with the
store's column names, so that the same derivations run on a live store, on CSV exports of it
(one ``<table>.csv`` per table) and on hand-built test trials. Dates may be ``datetime.date``,
ISO strings or timestamps; dictionary columns (``factors``, ``labs``) may be dicts or JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hepatrial.exceptions import DataCheckError

SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "participants": ("id", "site_code", "sex", "age_years"),
    "screenings": ("id", "participant_id", "screened_on", "eligible", "criteria"),
    "randomizations": (
        "participant_id",
        "screening_id",
        "sequence_number",
        "arm",
        "stratum",
        "factors",
        "randomized_on",
    ),
    "doses": ("participant_id", "dose_number", "planned_date", "status", "given_on", "deviation"),
    "lab_results": ("participant_id", "analyte", "value_standard", "unit_standard", "collected_on"),
    "qol_answers": ("participant_id", "instrument", "item", "value", "answered_on"),
    "adverse_events": (
        "participant_id",
        "term",
        "system_organ_class",
        "grade",
        "serious",
        "related",
        "liver_related",
        "outcome",
        "start_date",
    ),
    "outcomes": ("participant_id", "kind", "occurred_on", "cause", "detail", "severe"),
    "withdrawals": ("participant_id", "withdrawn_on", "reason"),
}
"""Every table the derivations read, with the columns they need."""

DATE_COLUMNS = (
    "screened_on",
    "randomized_on",
    "planned_date",
    "given_on",
    "collected_on",
    "answered_on",
    "start_date",
    "end_date",
    "occurred_on",
    "withdrawn_on",
)
JSON_COLUMNS = ("factors", "criteria", "labs", "facts", "scores")


def _as_python(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def check_sources(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Check that every source table and column is present; return normalised copies.

    Dates become ``datetime64`` (day precision) and JSON text becomes Python objects. Every
    problem is listed in one :class:`~hepatrial.exceptions.DataCheckError`.
    """
    problems = []
    for name, columns in SOURCE_COLUMNS.items():
        if name not in tables:
            problems.append(f"table {name!r} is missing (needs columns {', '.join(columns)})")
            continue
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            problems.append(f"table {name!r} lacks column(s) {', '.join(missing)}")
    if problems:
        raise DataCheckError("source tables failed their checks:\n- " + "\n- ".join(problems))
    return {name: _normalise(tables[name]) for name in SOURCE_COLUMNS} | {
        k: v for k, v in tables.items() if k not in SOURCE_COLUMNS
    }


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if column in DATE_COLUMNS:
            out[column] = pd.to_datetime(out[column], errors="raise").dt.normalize()
        elif column in JSON_COLUMNS:
            out[column] = out[column].map(_as_python)
    return out


def read_source_directory(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``<table>.csv`` for every source table from ``directory`` (for example an export).

    Raises
    ------
    DataCheckError
        Listing every missing file.
    """
    root = Path(directory)
    missing = [f"{name}.csv" for name in SOURCE_COLUMNS if not (root / f"{name}.csv").is_file()]
    if missing:
        raise DataCheckError(f"{root} lacks the source file(s) {', '.join(missing)}")
    return {name: pd.read_csv(root / f"{name}.csv") for name in SOURCE_COLUMNS}


def write_source_directory(tables: Mapping[str, pd.DataFrame], directory: str | Path) -> Path:
    """Write the source tables as ``<table>.csv`` files (JSON text for dictionary columns)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    for name in SOURCE_COLUMNS:
        frame = tables[name].copy()
        for column in frame.columns:
            if column in JSON_COLUMNS:
                frame[column] = frame[column].map(lambda v: json.dumps(v, sort_keys=True))
        frame.to_csv(root / f"{name}.csv", index=False)
    return root
