"""The results of the data-quality report: one row per problem, and the report that holds
them (see :func:`hepatrial.service.quality.check_store`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from hepatrial.checks.dates import RecordKind
from hepatrial.exceptions import Severity

Form = RecordKind | Literal["participant", "site"]
"""The form (kind of record) a problem was found in."""

SUMMARY_COLUMNS: Final = tuple(
    "participant form record_id field value unit rule severity confirmed message".split()
)
"""Columns of :attr:`DataQualityReport.summary`, one row per problem."""

COUNT_COLUMNS: Final = ("rule", "severity", "n", "n_confirmed", "participants")
"""Columns of :attr:`DataQualityReport.counts`, one row per rule."""


def shown(value: object) -> str:
    """A value as a problem line shows it: floats short, text quoted."""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class QualityProblem:
    """One problem found in a stored record: where (participant, form, record) and what.

    ``record_id`` is the row id (the code for participants and sites); ``confirmed`` is True
    for a soft problem confirmed at entry, with the ``reason`` given then.
    """

    participant: str | None
    form: Form
    record_id: int | str
    field: str
    value: object
    unit: str | None
    rule: str
    severity: Severity
    message: str
    fix: str = ""
    confirmed: bool = False
    reason: str | None = None

    def to_text(self) -> str:
        """One line: ``P001 lab 12 bilirubin=1.8 µmol/L: lab.unit_mix_up (soft): ...``."""
        unit = f" {self.unit}" if self.unit else ""
        where = f"{self.participant or '-'} {self.form} {self.record_id}"
        line = f"{where} {self.field}={shown(self.value)}{unit}: {self.rule} ({self.severity}): "
        line += self.message
        return line + (f" [confirmed: {self.reason}]" if self.confirmed else "")


@dataclass(frozen=True)
class DataQualityReport:
    """Every problem :func:`check_store` found, and how many records of each form it checked.

    Attributes
    ----------
    problems : tuple of QualityProblem
        Sorted by participant, form and record.
    n_records_checked : mapping of str to int
        Records checked per form (questionnaires count once per participant, instrument and
        date).
    checked_on : datetime.date
        The day the date rules took as today.
    """

    problems: tuple[QualityProblem, ...]
    n_records_checked: Mapping[str, int]
    checked_on: dt.date

    @property
    def n_hard(self) -> int:
        """The number of hard problems."""
        return sum(p.severity == "hard" for p in self.problems)

    @property
    def ok(self) -> bool:
        """True when no hard problem was found (soft ones may remain)."""
        return self.n_hard == 0

    @property
    def summary(self) -> pd.DataFrame:
        """One row per problem; columns :data:`SUMMARY_COLUMNS`."""
        rows = [[getattr(p, c) for c in SUMMARY_COLUMNS] for p in self.problems]
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    @property
    def counts(self) -> pd.DataFrame:
        """One row per rule found: problems, confirmed ones, participants concerned."""
        frame = self.summary
        if frame.empty:
            return pd.DataFrame(columns=list(COUNT_COLUMNS))
        grouped = frame.groupby(["rule", "severity"], sort=False)
        counts = grouped.agg(
            n=("rule", "size"),
            n_confirmed=("confirmed", "sum"),
            participants=("participant", "nunique"),
        ).reset_index()
        counts["n_confirmed"] = counts["n_confirmed"].astype(int)
        counts["hard_first"] = counts["severity"] != "hard"
        ordered = counts.sort_values(["hard_first", "n", "rule"], ascending=[True, False, True])
        return ordered[list(COUNT_COLUMNS)].reset_index(drop=True)

    def to_text(self) -> str:
        """One line per problem (see :meth:`QualityProblem.to_text`)."""
        if not self.problems:
            return f"no problem found in {sum(self.n_records_checked.values())} records"
        return "\n".join(p.to_text() for p in self.problems)

    def __repr__(self) -> str:
        soft = len(self.problems) - self.n_hard
        confirmed = sum(p.confirmed for p in self.problems)
        checked = sum(self.n_records_checked.values())
        return (
            f"DataQualityReport({self.n_hard} hard, {soft} soft ({confirmed} confirmed) "
            f"problem(s) in {checked} records checked on {self.checked_on})"
        )
