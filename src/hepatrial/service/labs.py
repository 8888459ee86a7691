"""Recording laboratory results: one value or one sample, with the lab edit checks.

Each value is checked by :mod:`hepatrial.checks.labs` (type, unit, plausibility, a likely unit
mix-up, the trial's own distribution) and against what is stored for the participant on the
same date (the same result twice is a conflict; a different one needs a reason), then stored
as entered and in the analyte's conventional unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.labs import LabEntry, conventional_value, lab_problems
from hepatrial.exceptions import InvalidRecordError, Problem
from hepatrial.service._checks import (
    enforce,
    life_cycle_problems,
    refuse_conflicts,
    refuse_hard,
    store_confirmations,
)
from hepatrial.service._common import clinical_participant, recorded_visit_id, write_operation
from hepatrial.store import LabResult
from hepatrial.units import conventional_unit, display_unit


def record_lab(
    session: Session,
    *,
    participant_id: str,
    analyte: str,
    value: float,
    unit: str,
    collected_on: dt.date,
    user: str,
    visit: str | None = None,
    confirm: str | None = None,
) -> int:
    """Record a laboratory value with its unit; return the row id.

    The value is checked by :mod:`hepatrial.checks.labs`: an implausible value is refused with
    the likely unit mix-up ("creatinine=88 mg/dL is implausible ...; 88 µmol/L would be
    1.0 mg/dL"); a plausible but unusual one (bilirubin 1.8 µmol/L) needs ``confirm``, a reason.
    The conventional-unit value is stored beside the value as entered.
    """
    return record_labs(
        session,
        participant_id=participant_id,
        values=[(analyte, value, unit)],
        collected_on=collected_on,
        user=user,
        visit=visit,
        confirm=confirm,
    )[0]


COHORT_SAMPLE = 5000
"""The most recent values of other participants that the cohort check compares with."""


def _cohort(session: Session, participant_id: str, analytes: set[str]) -> dict[str, list[float]]:
    cohort = {}
    for analyte in sorted(analytes):
        values = session.execute(
            select(LabResult.value_standard)
            .where(LabResult.analyte == analyte, LabResult.participant_id != participant_id)
            .order_by(LabResult.id.desc())
            .limit(COHORT_SAMPLE)
        ).scalars()
        cohort[analyte] = list(values)
    return cohort


def _stored_same_day(
    session: Session, participant_id: str, entries: Sequence[LabEntry], on: dt.date
) -> tuple[list[Problem], list[Problem]]:
    """Stored values of the same analytes on the same date: exact repeats (conflicts) and
    different values (soft problems: two results of one day are unusual)."""
    stored = session.execute(
        select(LabResult.id, LabResult.analyte, LabResult.value_standard).where(
            LabResult.participant_id == participant_id, LabResult.collected_on == on
        )
    ).all()
    conflicts: list[Problem] = []
    soft: list[Problem] = []
    for entry in entries:
        value = conventional_value(entry)
        for row_id, analyte, standard in stored:
            if analyte != entry.analyte:
                continue
            same = abs(standard - value) <= 1e-9 * max(1.0, abs(value))
            problem = Problem(
                entry.analyte,
                entry.value,
                "lab.duplicate" if same else "lab.same_day_value",
                f"{analyte} of {on} is already stored (lab result {row_id}, "
                f"{standard:g} {display_unit(conventional_unit(analyte))})",
                "the same result is not entered twice"
                if same
                else "confirm with a reason if both results were measured that day",
                unit=display_unit(entry.unit),
                severity="hard" if same else "soft",
                record=f"lab result {row_id}",
                participant=participant_id,
            )
            (conflicts if same else soft).append(problem)
    return conflicts, soft


def record_labs(
    session: Session,
    *,
    participant_id: str,
    values: Sequence[tuple[str, float, str]],
    collected_on: dt.date,
    user: str,
    visit: str | None = None,
    confirm: str | None = None,
) -> list[int]:
    """Record several laboratory values of one sample in one transaction; return their ids.

    ``values`` holds ``(analyte, value, unit)`` triples, each checked as in :func:`record_lab`;
    every problem is reported at once and one refused value refuses them all (nothing is
    written). The same result entered twice is a :class:`~hepatrial.exceptions.ConflictError`.
    """
    if not values:
        raise InvalidRecordError("values is empty; give at least one (analyte, value, unit)")
    entries = [LabEntry(a, v, u, collected_on.isoformat()) for a, v, u in values]
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, "recording lab results")
        problems = lab_problems(
            entries, _cohort(session, participant_id, {e.analyte for e in entries})
        )
        problems += life_cycle_problems(
            session, participant_id, "lab", "collected_on", collected_on
        )
        refuse_hard(problems)
        conflicts, same_day = _stored_same_day(session, participant_id, entries, collected_on)
        refuse_conflicts(conflicts)
        soft = enforce(problems + same_day, confirm)
        visit_id = recorded_visit_id(session, participant_id, visit)
        rows = [
            LabResult(
                participant_id=participant_id,
                visit_id=visit_id,
                analyte=entry.analyte,
                value=float(entry.value),  # type: ignore[arg-type]
                unit=display_unit(entry.unit),
                value_standard=conventional_value(entry),
                unit_standard=conventional_unit(entry.analyte),
                collected_on=collected_on,
            )
            for entry in entries
        ]
        session.add_all(rows)
        session.flush()
        by_analyte = {row.analyte: row.id for row in rows}
        for problem in soft:
            store_confirmations(
                session,
                [problem],
                reason=confirm,
                user=user,
                table="lab_results",
                record_id=by_analyte[problem.field],
                participant_id=participant_id,
            )
    return [row.id for row in rows]


__all__ = ["record_lab", "record_labs"]
