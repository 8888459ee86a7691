"""Reading the whole trial as pandas DataFrames, the input of analysis datasets (ADaM).

:func:`load_trial_tables` returns one DataFrame per table. Dates are ``datetime64[ns]``
(midnight), instants ``datetime64[ns, UTC]``; booleans are ``bool`` (``object`` when missing
values are possible); participants are identified by ``participant_id`` everywhere. Study
days count from randomization as day 0 (as the protocol's visit days do). The sealed seed is
never read.

Columns
-------
trial
    protocol_name, protocol_version, protocol_sha256, seed_commitment, created_at
sites
    site, name
participants
    participant_id, site, sex ("M"/"F"), age_years, created_at
screenings
    screening_id, participant_id, screened_on, protocol_version, eligible, status
    ("eligible"/"ineligible"/"incomplete"), failed_criteria (``"; "``-joined ids of criteria
    not passed, "" when eligible), problems (``"; "``-joined), then one column per item:
    ``score_<name>`` (computed scores, e.g. ``score_meld``), ``lab_<analyte>`` and
    ``lab_<analyte>_unit`` (as entered, the value used at screening), ``fact_<name>``
    (protocol facts, and ``fact_clinical_<item>`` for the clinical items),
    ``factor_<name>`` (allocation factor levels)
randomizations
    participant_id, sequence_number, arm, stratum, method, randomized_on, randomized_at,
    randomized_by, weight_kg, screening_id, then ``factor_<name>`` per allocation factor
doses
    participant_id, intervention, dose_number, planned_day, planned_date, window_start,
    window_end, unit ("cells", "µg", "mg"), weight_kg, planned_amount_per_kg (per-kg doses),
    planned_total, status ("planned"/"given"/"missed"), given_on, given_total,
    given_amount_per_kg, deviation
visits
    participant_id, visit (protocol visit id), planned_day, visit_date, study_day, in_window,
    weight_kg
labs
    lab_id, participant_id, visit (or None), analyte, value, unit (as entered), value_standard,
    unit_standard (conventional unit), collected_on, study_day (NaN before randomization)
qol
    participant_id, visit, instrument, item, value, answered_on, study_day
adverse_events
    ae_id, participant_id, term, system_organ_class, grade (1-5), serious, related,
    liver_related, outcome, start_date, end_date, start_day (study day)
outcomes
    outcome_id, participant_id, kind ("death"/"transplant"/"decompensation"/"infection"),
    occurred_on, cause, detail, severe, study_day
withdrawals
    participant_id, withdrawn_on, reason, detail, study_day
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.frames import lookup
from hepatrial.service._common import read_operation
from hepatrial.store import (
    AdverseEvent,
    Dose,
    LabResult,
    Outcome,
    Participant,
    QolAnswer,
    Randomization,
    Screening,
    Site,
    Trial,
    Visit,
    Withdrawal,
)
from hepatrial.store.base import Base

TABLE_NAMES = (
    "trial",
    "sites",
    "participants",
    "screenings",
    "randomizations",
    "doses",
    "visits",
    "labs",
    "qol",
    "adverse_events",
    "outcomes",
    "withdrawals",
)


def _frame(
    session: Session,
    model: type[Base],
    rename: dict[str, str],
    *,
    dates: Sequence[str] = (),
    instants: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> pd.DataFrame:
    columns = [c.key for c in model.__table__.columns]
    rows = session.execute(select(*model.__table__.columns)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame = frame.drop(columns=list(drop)).rename(columns=rename)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    for column in instants:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _expand(frame: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    """Spread a JSON column of mappings into ``prefix<key>`` columns."""
    records: list[dict[str, Any]] = [dict(v or {}) for v in frame[column]]
    spread = pd.DataFrame.from_records(records, index=frame.index) if records else pd.DataFrame()
    spread.columns = [f"{prefix}{key}" for key in spread.columns]
    return pd.concat([frame.drop(columns=[column]), spread], axis=1)


def _screenings(session: Session) -> pd.DataFrame:
    frame = _frame(
        session,
        Screening,
        {"id": "screening_id"},
        dates=["screened_on"],
        drop=["created_at", "screened_by"],
    )
    frame["failed_criteria"] = [
        "; ".join(str(c["id"]) for c in criteria if c.get("passed") is not True)
        for criteria in frame["criteria"]
    ]
    frame["problems"] = ["; ".join(p) for p in frame["problems"]]
    frame = frame.drop(columns=["criteria"])
    frame["labs"] = pd.Series([_flat_labs(entry) for entry in frame["labs"]], dtype=object)
    for column, prefix in (("scores", "score_"), ("labs", "lab_"), ("facts", "fact_")):
        frame = _expand(frame, column, prefix)
    return _expand(frame, "factors", "factor_")


def _flat_labs(entry: dict[str, Any] | None) -> dict[str, Any]:
    """``{"bilirubin": {"value": 1.2, "unit": "mg/dL"}}`` -> value and unit keys."""
    flat: dict[str, Any] = {}
    for analyte, lab in (entry or {}).items():
        flat[analyte] = lab.get("value")
        flat[f"{analyte}_unit"] = lab.get("unit")
    return flat


def _study_day(frame: pd.DataFrame, column: str, start: pd.Series) -> pd.Series:
    origin = lookup(frame["participant_id"], start)
    return (frame[column] - origin).dt.days


def load_trial_tables(session: Session) -> dict[str, pd.DataFrame]:
    """Every table of the trial as a DataFrame, keyed by the names in :data:`TABLE_NAMES`.

    See the module docstring for the columns of each table.
    """
    with read_operation(session):
        tables = {
            "trial": _frame(
                session, Trial, {}, instants=["created_at"], drop=["id", "protocol_yaml"]
            ),
            "sites": _frame(session, Site, {"code": "site"}, drop=["created_at"]),
            "participants": _frame(
                session,
                Participant,
                {"id": "participant_id", "site_code": "site"},
                instants=["created_at"],
            ),
            "screenings": _screenings(session),
            "randomizations": _expand(
                _frame(
                    session,
                    Randomization,
                    {},
                    dates=["randomized_on"],
                    instants=["randomized_at"],
                    drop=["id"],
                ),
                "factors",
                "factor_",
            ),
            "doses": _frame(
                session,
                Dose,
                {},
                dates=["planned_date", "window_start", "window_end", "given_on"],
                drop=["id"],
            ),
            "visits": _frame(
                session, Visit, {"visit_label": "visit"}, dates=["visit_date"], drop=["id"]
            ),
            "labs": _frame(session, LabResult, {"id": "lab_id"}, dates=["collected_on"]),
            "qol": _frame(session, QolAnswer, {}, dates=["answered_on"], drop=["id"]),
            "adverse_events": _frame(
                session, AdverseEvent, {"id": "ae_id"}, dates=["start_date", "end_date"]
            ),
            "outcomes": _frame(session, Outcome, {"id": "outcome_id"}, dates=["occurred_on"]),
            "withdrawals": _frame(session, Withdrawal, {}, dates=["withdrawn_on"], drop=["id"]),
        }
        visit_labels = {
            i: label for i, label in session.execute(select(Visit.id, Visit.visit_label))
        }
    _link_visits(tables, visit_labels)
    _add_study_days(tables)
    return tables


def _link_visits(tables: dict[str, pd.DataFrame], labels: dict[int, str]) -> None:
    for name in ("labs", "qol"):
        frame = tables[name]
        frame.insert(2, "visit", frame.pop("visit_id").map(labels))


def _add_study_days(tables: dict[str, pd.DataFrame]) -> None:
    randomized = tables["randomizations"]
    start = pd.Series(randomized["randomized_on"].to_numpy(), index=randomized["participant_id"])
    for name, column, target in (
        ("labs", "collected_on", "study_day"),
        ("qol", "answered_on", "study_day"),
        ("adverse_events", "start_date", "start_day"),
        ("outcomes", "occurred_on", "study_day"),
        ("withdrawals", "withdrawn_on", "study_day"),
    ):
        tables[name][target] = _study_day(tables[name], column, start)
