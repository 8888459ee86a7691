"""The data-quality report of a trial store, like R's ``survival::survcheck``.

:func:`check_store` runs every edit check of :mod:`hepatrial.checks` over the records already
stored, soft rules included, and returns a :class:`DataQualityReport`: every problem with its
participant, form, record id, field, value, rule and severity, and a count per rule. The
service runs the same rules before it writes, so a store written only through the service shows
no hard problem; what the report finds comes from writes that bypassed the service (direct SQL,
a restored backup) or from rules added since the record was stored. Soft problems that were
confirmed at entry are listed with ``confirmed=True`` and the reason, never hidden.

What is checked, per form:

* ``lab``: :func:`~hepatrial.checks.labs.value_problems`; on values without a hard problem the
  soft :func:`~hepatrial.checks.labs.mix_up_problems` and
  :func:`~hepatrial.checks.labs.cohort_problems` (against the latest
  :data:`~hepatrial.service.labs.COHORT_SAMPLE` values of other participants, as at entry);
  the stored conventional value against the value as entered (``lab.standard_value``); one
  result stored twice (``lab.duplicate``) and two values of an analyte on one day
  (``lab.same_day_value``, soft); the life-cycle date rules of :mod:`hepatrial.checks.dates`.
* ``screening``: the stored facts and labs (:func:`~hepatrial.checks.facts.fact_problems`,
  :func:`~hepatrial.checks.labs.lab_problems`) against the stored protocol; the date rules.
* ``visit``: the date rules; a visit outside its window is listed as ``visit.out_of_window``
  (soft: a recorded deviation, not an error).
* ``qol``: each questionnaire (participant, instrument, date) through the instrument's
  :meth:`~hepatrial.protocol.instruments.Instrument.check`, derived items (the EQ-5D-5L index)
  left out; the date rules.
* ``adverse_event``, ``outcome``, ``dose``, ``withdrawal``, ``discontinuation``: the date rules
  (a death, withdrawal or discontinuation also against the records dated after it) and their
  free text (:func:`~hepatrial.checks.personal.text_problems`).
* ``participant`` and ``site``: codes (:func:`~hepatrial.checks.personal.code_problems`, with
  the protocol's ``participant_codes`` pattern) and site names.

Each record is checked against its participant's history (:func:`histories`, the dates
:func:`hepatrial.service._checks.participant_history` reads, for every participant at once).
The rules compare dates strictly, so a record never counts against itself: a death is not
"after death", nor a withdrawal "after withdrawal". Rows are read with Core statements, never
from the session's identity map, so a row changed behind the session is seen as stored.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from hepatrial import store
from hepatrial.checks.dates import DatedRecord, History, RecordKind, date_problems, ending_problems
from hepatrial.checks.facts import fact_problems
from hepatrial.checks.labs import (
    COHORT_MINIMUM,
    LabEntry,
    cohort_problems,
    conventional_value,
    lab_problems,
    mix_up_problems,
    value_problems,
)
from hepatrial.checks.personal import code_problems, text_problems
from hepatrial.exceptions import InvalidRecordError, Problem
from hepatrial.protocol.instruments import get_instrument
from hepatrial.protocol.models import Protocol
from hepatrial.protocol.patient import ClinicalItems
from hepatrial.service._checks import today as current_day
from hepatrial.service._common import get_trial, read_operation, trial_protocol
from hepatrial.service.labs import COHORT_SAMPLE
from hepatrial.service.quality_results import (
    DataQualityReport,
    Form,
    QualityProblem,
    shown,
)
from hepatrial.store.base import Base
from hepatrial.units import conventional_unit, display_unit

_MODELS: Final[dict[Form, type[Base]]] = {
    "screening": store.Screening,
    "visit": store.Visit,
    "lab": store.LabResult,
    "qol": store.QolAnswer,
    "adverse_event": store.AdverseEvent,
    "outcome": store.Outcome,
    "dose": store.Dose,
    "withdrawal": store.Withdrawal,
    "discontinuation": store.Discontinuation,
    "participant": store.Participant,
    "site": store.Site,
}
FORM_TABLES: Final[Mapping[Form, str]] = MappingProxyType(
    {form: model.__tablename__ for form, model in _MODELS.items()}
)
"""The store table of each form, as confirmations name it (``"lab"`` -> ``"lab_results"``)."""

Rows = Sequence[RowMapping]
RecordId = int | str
Found = tuple[Form, RecordId, Problem]
"""A problem with the form and the record it was found in."""


def _rows(session: Session, model: type[Base]) -> list[RowMapping]:
    """Every row of ``model``'s table, read without the ORM (so never a stale cached object)."""
    table = model.__table__
    statement = select(table).order_by(*table.primary_key)
    return list(session.execute(statement).mappings().all())


_DATED_LABELS: Final[tuple[tuple[RecordKind, str, str, str], ...]] = (
    ("visit", "visit {}", "visit_label", "visit_date"),
    ("lab", "{} sample", "analyte", "collected_on"),
    ("qol", "{} answers", "instrument", "answered_on"),
    ("adverse_event", "adverse event {}", "term", "start_date"),
    ("outcome", "{}", "kind", "occurred_on"),
    ("dose", "dose {} given", "dose_number", "given_on"),
)
"""How :func:`hepatrial.service._checks.participant_history` names each dated record."""


def _dated_records(tables: Mapping[Form, Rows]) -> dict[str, tuple[DatedRecord, ...]]:
    found: dict[str, set[DatedRecord]] = defaultdict(set)
    for kind, label, name, on in _DATED_LABELS:
        for row in tables[kind]:
            if row[on] is not None:
                record = DatedRecord(kind, label.format(row[name]), row[on])
                found[row["participant_id"]].add(record)
    return {p: tuple(sorted(r, key=lambda d: (d.on, d.kind, d.label))) for p, r in found.items()}


def _earliest(rows: Rows, column: str, kind: str | None = None) -> dict[str, dt.date]:
    """Each participant's earliest ``column`` date (of outcomes of ``kind`` only, if given)."""
    dates: dict[str, dt.date] = {}
    for row in rows:
        if kind is None or row["kind"] == kind:
            who, on = row["participant_id"], row[column]
            dates[who] = min(on, dates.get(who, on))
    return dates


def histories(tables: Mapping[Form, Rows], randomizations: Rows) -> dict[str, History]:
    """Each participant's :class:`~hepatrial.checks.dates.History`, with every dated record.

    The dates :func:`hepatrial.service._checks.participant_history` reads for one participant,
    read here for every participant at once from rows already loaded.
    """
    first = _earliest(tables["screening"], "screened_on")
    randomized = _earliest(randomizations, "randomized_on")
    death = _earliest(tables["outcome"], "occurred_on", kind="death")
    withdrawn = _earliest(tables["withdrawal"], "withdrawn_on")
    stopped = _earliest(tables["discontinuation"], "discontinued_on")
    records = _dated_records(tables)
    return {
        code: History(
            participant=code,
            first_screening=first.get(code),
            randomized_on=randomized.get(code),
            death=death.get(code),
            withdrawn=withdrawn.get(code),
            discontinued=stopped.get(code),
            records=records.get(code, ()),
        )
        for code in (row["id"] for row in tables["participant"])
    }


# --- dates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What the checks need besides the rows: the protocol, the histories and today."""

    protocol: Protocol
    histories: Mapping[str, History]
    today: dt.date

    def history(self, participant: str) -> History:
        return self.histories.get(participant, History(participant))


_DATE_COLUMNS: Final[tuple[tuple[RecordKind, str], ...]] = (
    ("screening", "screened_on"),
    ("visit", "visit_date"),
    ("lab", "collected_on"),
    ("adverse_event", "start_date"),
    ("outcome", "occurred_on"),
    ("dose", "given_on"),
    ("withdrawal", "withdrawn_on"),
    ("discontinuation", "discontinued_on"),
)
Ending = Literal["death", "withdrawal", "discontinuation"]
_ENDINGS: Final[tuple[tuple[RecordKind, Ending, str], ...]] = (
    ("outcome", "death", "occurred_on"),
    ("withdrawal", "withdrawal", "withdrawn_on"),
    ("discontinuation", "discontinuation", "discontinued_on"),
)


def _record_dates(
    kind: RecordKind, column: str, row: RowMapping, context: _Context
) -> list[Problem]:
    """The life-cycle problems of one record's date ``column`` (none when it is empty)."""
    on: dt.date | None = row[column]
    if on is None:
        return []
    history = context.history(row["participant_id"])
    return date_problems(kind, column, on, history, today=context.today)


def _date_checks(tables: Mapping[Form, Rows], context: _Context) -> list[Found]:
    """The life-cycle rules of every dated record, and of each ending against later records."""
    found: list[Found] = []
    for kind, column in _DATE_COLUMNS:
        for row in tables[kind]:
            found += [(kind, row["id"], p) for p in _record_dates(kind, column, row, context)]
    for row in tables["adverse_event"]:
        ended = _record_dates("adverse_event", "end_date", row, context)
        found += [
            ("adverse_event", row["id"], p)
            for p in ended
            if p.rule in ("date.future", "date.after_death")  # as the service checks end dates
        ]
    for kind, ending, column in _ENDINGS:
        for row in tables[kind]:
            if kind != "outcome" or row["kind"] == "death":
                history = context.history(row["participant_id"])
                problems = ending_problems(ending, column, row[column], history)
                found += [(kind, row["id"], p) for p in problems]
    return found


# --- laboratory values -------------------------------------------------------------------------


def _standard_problems(entry: LabEntry, row: RowMapping) -> list[Problem]:
    """The stored conventional value and unit must be the value as entered, converted."""
    expected, unit = conventional_value(entry), conventional_unit(entry.analyte)
    stored = float(row["value_standard"])
    if math.isclose(stored, expected, rel_tol=1e-9, abs_tol=1e-12) and row["unit_standard"] == unit:
        return []
    message = (
        f"the stored conventional value {stored:g} {row['unit_standard']} is not "
        f"{shown(entry.value)} {display_unit(entry.unit)} converted ({expected:g} {unit})"
    )
    fix = "correct the stored values, or re-enter the result through the service"
    return [
        Problem(entry.analyte, entry.value, "lab.standard_value", message, fix, unit=entry.unit)
    ]


def _beyond(own: Rows, cohort: np.ndarray, valid: Mapping[int, LabEntry]) -> list[Found]:
    """``lab.beyond_cohort`` of one participant's valid values of one analyte."""
    low, high = np.quantile(cohort, [0.001, 0.999])  # values well inside need no message
    found: list[Found] = []
    for row in own:
        entry = valid.get(row["id"])
        if entry is not None and not low <= conventional_value(entry) <= high:
            found += [("lab", row["id"], p) for p in cohort_problems(entry, cohort.tolist())]
    return found


def _cohort_checks(rows: Rows, valid: Mapping[int, LabEntry]) -> list[Found]:
    """Each valid value against the latest values of the same analyte of other participants,
    as :mod:`hepatrial.service.labs` compares a value at entry."""
    by_analyte: dict[str, list[RowMapping]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: int(r["id"]), reverse=True):
        by_analyte[row["analyte"]].append(row)
    found: list[Found] = []
    for latest in by_analyte.values():
        who = np.array([r["participant_id"] for r in latest], dtype=object)
        values = np.array([r["value_standard"] for r in latest], dtype=float)
        mine: dict[str, list[RowMapping]] = defaultdict(list)
        for row in latest:
            mine[row["participant_id"]].append(row)
        for participant, own in mine.items():
            cohort = values[who != participant][:COHORT_SAMPLE]
            if len(cohort) >= COHORT_MINIMUM:
                found += _beyond(own, cohort, valid)
    return found


def _same_day(later: RowMapping, earlier: RowMapping) -> Problem:
    same = math.isclose(later["value_standard"], earlier["value_standard"], rel_tol=1e-9)
    standard = display_unit(conventional_unit(later["analyte"]))
    return Problem(
        later["analyte"],
        later["value"],
        "lab.duplicate" if same else "lab.same_day_value",
        f"{later['analyte']} of {later['collected_on']} is also stored as lab result "
        f"{earlier['id']} ({earlier['value_standard']:g} {standard})",
        "remove the copy; a result is entered once"
        if same
        else "confirm with a reason if both results were measured that day",
        unit=later["unit"],
        severity="hard" if same else "soft",
    )


def _duplicate_checks(rows: Rows) -> list[Found]:
    """Each later result of a participant's analyte on one day, against the earlier ones."""
    seen: dict[tuple[str, str, dt.date], list[RowMapping]] = defaultdict(list)
    found: list[Found] = []
    for row in rows:
        earlier = seen[(row["participant_id"], row["analyte"], row["collected_on"])]
        found += [("lab", row["id"], _same_day(row, first)) for first in earlier]
        earlier.append(row)
    return found


def _lab_checks(rows: Rows) -> list[Found]:
    """Every rule of each stored result; the soft ones only on values without a hard problem."""
    found: list[Found] = []
    valid: dict[int, LabEntry] = {}
    for row in rows:
        entry = LabEntry(row["analyte"], row["value"], row["unit"], row["collected_on"].isoformat())
        problems = value_problems(entry)
        if not problems:
            valid[row["id"]] = entry
            problems = _standard_problems(entry, row) + mix_up_problems(entry)
        found += [("lab", row["id"], p) for p in problems]
    return found + _cohort_checks(rows, valid) + _duplicate_checks(rows)


# --- screening, visits, questionnaires, text and codes -----------------------------------------

_CLINICAL_KEYS: Final = frozenset(f"clinical_{name}" for name in ClinicalItems.model_fields)
"""Keys under which a screening's ``facts`` column keeps the clinical items, not facts."""


def _screening_checks(rows: Rows, protocol: Protocol) -> list[Found]:
    """The stored facts and labs of each screening against the stored protocol."""
    declared = protocol.eligibility.facts
    names = {fact.name for fact in declared}
    found: list[Found] = []
    for row in rows:
        facts: dict[str, Any] = dict(row["facts"] or {})
        given = {k: v for k, v in facts.items() if k in names or k not in _CLINICAL_KEYS}
        entries = [
            LabEntry(str(name), lab.get("value"), lab.get("unit"), lab.get("collected_on", ""))
            for name, lab in dict(row["labs"] or {}).items()
        ]
        problems = fact_problems(declared, given) + lab_problems(entries)
        found += [("screening", row["id"], p) for p in problems]
    return found


def _window_checks(rows: Rows, protocol: Protocol) -> list[Found]:
    """Visits stored outside their protocol window: deviations, listed as soft problems."""
    visits = {v.id: v for v in protocol.visits}
    found: list[Found] = []
    for row in (r for r in rows if not r["in_window"]):
        planned = visits.get(row["visit_label"])
        window = (
            f" (days {planned.day - planned.window.before}-{planned.day + planned.window.after})"
            if planned is not None
            else ""
        )
        message = (
            f"visit {row['visit_label']} on {row['visit_date']} is on study day "
            f"{row['study_day']}, outside its window{window}: a recorded deviation"
        )
        fix = "nothing to correct if the date is right; the analysis decides how to use it"
        on = row["visit_date"].isoformat()
        problem = Problem("visit_date", on, "visit.out_of_window", message, fix, severity="soft")
        found.append(("visit", row["id"], problem))
    return found


def _questionnaire(rows: Sequence[RowMapping], context: _Context) -> list[Found]:
    """One questionnaire: the instrument's check of its answers (derived items left out) and
    the date rules; a problem of an item is reported on that item's row."""
    ids: dict[str, int] = {row["item"]: row["id"] for row in rows}
    first = min(ids.values())
    problems = _record_dates("qol", "answered_on", rows[0], context)
    try:
        instrument = get_instrument(rows[0]["instrument"])
    except InvalidRecordError as error:
        return [("qol", first, p) for p in [*error.problems, *problems]]
    answers = {row["item"]: row["value"] for row in rows if row["item"] not in instrument.derived}
    problems = instrument.check(answers) + problems
    return [("qol", ids.get(p.field, first), p) for p in problems]


def _qol_checks(rows: Rows, context: _Context) -> tuple[list[Found], int]:
    """Every questionnaire (participant, instrument, date); also how many there are."""
    groups: dict[tuple[str, str, dt.date], list[RowMapping]] = defaultdict(list)
    for row in rows:
        groups[(row["participant_id"], row["instrument"], row["answered_on"])].append(row)
    found = [problem for answers in groups.values() for problem in _questionnaire(answers, context)]
    return found, len(groups)


_TEXTS: Final[tuple[tuple[Form, tuple[str, ...]], ...]] = (
    ("adverse_event", ("term", "system_organ_class")),
    ("outcome", ("cause", "detail")),
    ("withdrawal", ("detail",)),
    ("discontinuation", ("detail",)),
    ("dose", ("deviation",)),
    ("site", ("name",)),
)


def _text_checks(tables: Mapping[Form, Rows]) -> list[Found]:
    """Personal data in free text: terms, causes, details, deviations and site names."""
    found: list[Found] = []
    for form, columns in _TEXTS:
        key = "code" if form == "site" else "id"
        for row in tables[form]:
            for column in (c for c in columns if row[c] is not None):
                found += [(form, row[key], p) for p in text_problems(column, row[column])]
    return found


def _code_checks(tables: Mapping[Form, Rows], protocol: Protocol) -> list[Found]:
    """Participant codes (with the protocol's pattern, if it sets one) and site codes."""
    codes = protocol.participant_codes
    pattern, example = (codes.pattern, codes.example) if codes else (None, None)
    found: list[Found] = []
    for row in tables["participant"]:
        problems = code_problems("participant_id", row["id"], pattern=pattern, example=example)
        found += [("participant", row["id"], p) for p in problems]
    for row in tables["site"]:
        found += [("site", row["code"], p) for p in code_problems("site", row["code"])]
    return found


# --- the report --------------------------------------------------------------------------------

Reasons = Mapping[tuple[str, int, str], str]


def _reasons(rows: Rows) -> dict[tuple[str, int, str], str]:
    """The reason of each confirmation, by (table, record id, rule)."""
    reasons: dict[tuple[str, int, str], str] = {}
    for row in rows:
        reasons.setdefault((row["record_table"], row["record_id"], row["rule"]), row["reason"])
    return reasons


def _owners(tables: Mapping[Form, Rows]) -> dict[Form, dict[RecordId, str | None]]:
    """The participant of each record, by form and record id (none for sites)."""
    owners: dict[Form, dict[RecordId, str | None]] = {
        form: {row["id"]: row["participant_id"] for row in rows}
        for form, rows in tables.items()
        if form not in ("participant", "site")
    }
    owners["participant"] = {row["id"]: row["id"] for row in tables["participant"]}
    owners["site"] = {}
    return owners


_COPIED: Final = ("field", "value", "unit", "rule", "severity", "message", "fix")


def _quality(found: Found, owner: str | None, reasons: Reasons) -> QualityProblem:
    """The problem with its participant, form and record, and its confirmation if any."""
    form, record_id, problem = found
    key = (FORM_TABLES[form], record_id, problem.rule)
    soft = problem.severity == "soft" and isinstance(record_id, int)
    reason = reasons.get(key) if soft else None  # type: ignore[arg-type]
    return QualityProblem(
        participant=problem.participant or owner,
        form=form,
        record_id=record_id,
        confirmed=reason is not None,
        reason=reason,
        **{name: getattr(problem, name) for name in _COPIED},
    )


_FORM_ORDER: Final = {form: i for i, form in enumerate(_MODELS)}


def _order(problem: QualityProblem) -> tuple[str, int, int, str, str, str]:
    number = problem.record_id if isinstance(problem.record_id, int) else -1
    where = (problem.participant or "", _FORM_ORDER[problem.form], number)
    return (*where, str(problem.record_id), problem.field, problem.rule)


def check_store(session: Session, *, today: dt.date | None = None) -> DataQualityReport:
    """Run every edit check, soft rules included, over the records of an existing store.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on the store; only read.
    today : datetime.date, optional
        The latest date a record may carry (default: today).

    Returns
    -------
    DataQualityReport
        Every problem found (see the module docstring for the rules run on each form), with
        confirmed soft problems marked and their reason; ``.ok`` when none is hard.

    Raises
    ------
    NotFoundError
        If the store holds no trial.
    """
    with read_operation(session):
        protocol = trial_protocol(get_trial(session))
        tables: dict[Form, list[RowMapping]] = {f: _rows(session, m) for f, m in _MODELS.items()}
        randomizations = _rows(session, store.Randomization)
        reasons = _reasons(_rows(session, store.Confirmation))
    context = _Context(protocol, histories(tables, randomizations), today or current_day())
    questionnaires, n_questionnaires = _qol_checks(tables["qol"], context)
    found = [
        *_code_checks(tables, protocol),
        *_screening_checks(tables["screening"], protocol),
        *_window_checks(tables["visit"], protocol),
        *_lab_checks(tables["lab"]),
        *questionnaires,
        *_date_checks(tables, context),
        *_text_checks(tables),
    ]
    owners = _owners(tables)
    problems = sorted((_quality(f, owners[f[0]].get(f[1]), reasons) for f in found), key=_order)
    checked: dict[str, int] = {str(form): len(rows) for form, rows in tables.items()} | {
        "qol": n_questionnaires
    }
    return DataQualityReport(tuple(problems), MappingProxyType(checked), context.today)
