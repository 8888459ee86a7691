"""Concealed randomization and dosing.

:func:`randomize` is one transaction that serializes with every other randomization of the
trial: PostgreSQL locks the trial row (``SELECT ... FOR UPDATE``), SQLite holds the database
write lock from ``BEGIN IMMEDIATE``. Inside it the allocation history is read, the allocator
(:mod:`hepatrial.allocation`) computes the next arm from the sealed seed, and the
randomization, the planned doses and their audit entries are written; a crash at any point
leaves all of them or none. The seed is read only here and in :func:`verify_allocations`,
and never returned.

Fault injection: when the environment variable ``HEPATRIAL_PAUSE_BEFORE_COMMIT`` holds a
number of seconds, every audited commit sleeps that long after all its rows and audit entries
are written and before ``COMMIT`` (see :mod:`hepatrial.store.audit`). The crash-safety tests
use it to kill a process inside a randomization; it is never set in production.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.allocation import Allocator, PriorAssignment, ReplayReport
from hepatrial.exceptions import AllocationError, EligibilityError, RecordError
from hepatrial.protocol.dosing import check_dose, plan_doses
from hepatrial.protocol.models import Protocol
from hepatrial.service._common import (
    CLINICAL_ROLES,
    acting_user,
    get_participant,
    get_trial,
    read_operation,
    trial_protocol,
    write_operation,
)
from hepatrial.store import AllocationSecret, Dose, Randomization, Screening, Trial
from hepatrial.store.audit import lock_head_with


@dataclass(frozen=True)
class RandomizationResult:
    """A stored randomization and the doses planned for it."""

    participant_id: str
    sequence_number: int
    arm: str
    stratum: str
    method: str
    randomized_on: dt.date
    planned_doses: tuple[tuple[str, int, dt.date], ...]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per planned dose: intervention, dose_number, planned_date."""
        return pd.DataFrame(
            list(self.planned_doses), columns=["intervention", "dose_number", "planned_date"]
        )

    def __repr__(self) -> str:
        return (
            f"RandomizationResult({self.participant_id} #{self.sequence_number} -> {self.arm!r}, "
            f"{len(self.planned_doses)} dose(s) planned)"
        )


def _latest_screening(session: Session, participant_id: str) -> Screening:
    screening = session.execute(
        select(Screening)
        .where(Screening.participant_id == participant_id)
        .order_by(Screening.screened_on.desc(), Screening.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if screening is None:
        raise EligibilityError(f"participant {participant_id!r} has not been screened")
    if not screening.eligible:
        failed = "; ".join(c["id"] for c in screening.criteria if c.get("passed") is not True)
        raise EligibilityError(
            f"participant {participant_id!r} is {screening.status} at their latest screening "
            f"({screening.screened_on}): {failed}; an ineligible participant is not randomized"
        )
    return screening


def _check_timing(protocol: Protocol, screening: Screening, on: dt.date) -> None:
    age = (on - screening.screened_on).days
    limit = protocol.eligibility.lab_max_age_days
    if age < 0:
        raise RecordError(f"randomized_on={on} is before the screening of {screening.screened_on}")
    if age > limit:
        raise EligibilityError(
            f"the screening of {screening.screened_on} is {age} days old on {on}; the protocol "
            f"accepts screening labs up to {limit} days old: screen the participant again"
        )


@dataclass
class _Sequence:
    """A process-local copy of the committed allocation history of one store."""

    history: list[PriorAssignment]
    participants: list[str]
    randomized: set[str] = field(default_factory=set)


_sequences: dict[str, _Sequence] = {}
_seeds: dict[str, bytes] = {}
_allocators: dict[str, Allocator] = {}


def _store_key(session: Session, trial: Trial) -> str:
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return f"{url}|{trial.id}|{trial.seed_commitment}|{trial.created_at.isoformat()}"


def _history(session: Session, key: str) -> _Sequence:
    """The committed allocation history, read incrementally (allocations are append-only).

    Only rows after the cached ones are read; the last cached row is read again and must
    match, otherwise (a different store at the same URL) the whole history is reloaded.
    """
    cached = _sequences.get(key) or _Sequence([], [])
    start = len(cached.history)
    rows = session.execute(
        select(
            Randomization.sequence_number,
            Randomization.arm,
            Randomization.factors,
            Randomization.participant_id,
        )
        .where(Randomization.sequence_number >= max(start, 1))
        .order_by(Randomization.sequence_number)
    ).all()
    if start:
        first = rows[0] if rows else None
        if first is None or first[0] != start or first[3] != cached.participants[-1]:
            _sequences.pop(key, None)
            return _history(session, key)
        rows = rows[1:]
    for number, arm, factors, participant in rows:
        if number != len(cached.history) + 1:
            raise AllocationError(
                f"randomization sequence numbers jump to {number} after "
                f"{len(cached.history)}; run `hepatrial audit verify`"
            )
        cached.history.append(PriorAssignment(number, arm, dict(factors)))
        cached.participants.append(participant)
        cached.randomized.add(participant)
    _sequences[key] = cached
    return cached


def _seed(session: Session, trial: Trial, key: str) -> bytes:
    seed = _seeds.get(key)
    if seed is None:
        seed = session.execute(
            select(AllocationSecret.seed).where(AllocationSecret.trial_id == trial.id)
        ).scalar_one()
        _seeds[key] = seed
    return seed


def _allocator(trial: Trial, protocol: Protocol) -> Allocator:
    allocator = _allocators.get(trial.protocol_sha256)
    if allocator is None:
        allocator = _allocators[trial.protocol_sha256] = Allocator.from_protocol(protocol)
    return allocator


def _refuse_repeat(session: Session, participant_id: str) -> None:
    already = session.execute(
        select(Randomization).where(Randomization.participant_id == participant_id)
    ).scalar_one()
    raise AllocationError(
        f"participant {participant_id!r} was already randomized on {already.randomized_on} "
        f"(#{already.sequence_number}, arm {already.arm!r}); a participant is randomized once"
    )


def _needs_weight(protocol: Protocol, weight_kg: float | None) -> None:
    if protocol.interventions and weight_kg is None:
        raise RecordError(
            f"weight_kg is required to randomize in {protocol.id}: doses are planned from it "
            "at randomization"
        )


def randomize(
    session: Session,
    *,
    participant_id: str,
    user: str,
    randomized_on: dt.date | None = None,
    weight_kg: float | None = None,
) -> RandomizationResult:
    """Allocate an eligible, screened participant and plan their doses, in one transaction.

    Parameters
    ----------
    participant_id
        Study code of a participant whose latest screening is eligible and at most the
        protocol's ``lab_max_age_days`` old on ``randomized_on``.
    user
        Acting investigator or coordinator (of the participant's site when bound to one).
    randomized_on
        Randomization date, day 0 of the schedule (default today).
    weight_kg
        Body weight; required when the protocol has interventions (doses are planned from it).

    Raises
    ------
    EligibilityError
        Not screened, not eligible, or the screening is too old.
    AllocationError
        Already randomized.
    RecordError
        Unknown participant or user, a role that may not randomize, missing weight.
    """
    on = randomized_on or dt.date.today()
    with write_operation(session, user):
        # User, participant and screening are read before the trial row is locked, so that
        # on PostgreSQL the serialized part is as short as possible (screenings are append-only).
        acting = acting_user(session, user, CLINICAL_ROLES, "randomization")
        get_participant(session, participant_id, acting)
        screening = _latest_screening(session, participant_id)
        trial = get_trial(session)
        # Serializes randomizations from here to commit: the trial row and the audit head
        # are locked together (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite).
        lock_head_with(session, select(Trial.id).where(Trial.id == trial.id))
        protocol = trial_protocol(trial)
        key = _store_key(session, trial)
        seed = _seed(session, trial, key)
        sequence = _history(session, key)
        if participant_id in sequence.randomized:
            _refuse_repeat(session, participant_id)
        _needs_weight(protocol, weight_kg)
        _check_timing(protocol, screening, on)
        assignment = _allocator(trial, protocol).assign(
            seed=seed, history=sequence.history, factors=dict(screening.factors)
        )
        row = Randomization(
            participant_id=participant_id,
            screening_id=screening.id,
            sequence_number=assignment.sequence_number,
            arm=assignment.arm,
            stratum=assignment.stratum or _stratum(assignment.factors),
            factors=dict(assignment.factors),
            method=assignment.method,
            randomized_on=on,
            randomized_by=user,
            weight_kg=weight_kg,
        )
        session.add(row)
        planned = _plan(session, protocol, row) if weight_kg is not None else ()
        session.flush()
    return RandomizationResult(
        participant_id=participant_id,
        sequence_number=row.sequence_number,
        arm=row.arm,
        stratum=row.stratum,
        method=row.method,
        randomized_on=on,
        planned_doses=planned,
    )


def _stratum(factors: object) -> str:
    levels = dict(factors) if isinstance(factors, dict) else {}
    return "|".join(f"{k}={v}" for k, v in sorted(levels.items())) or "all"


def _plan(
    session: Session, protocol: Protocol, row: Randomization
) -> tuple[tuple[str, int, dt.date], ...]:
    weight = float(row.weight_kg or 0.0)
    plan = plan_doses(protocol, weight_kg=weight, randomization_date=row.randomized_on, arm=row.arm)
    for dose in plan.doses:
        session.add(
            Dose(
                participant_id=row.participant_id,
                intervention=dose.intervention,
                dose_number=dose.dose_number,
                planned_day=dose.day,
                planned_date=dose.target_date,
                window_start=dose.window_start,
                window_end=dose.window_end,
                unit=dose.unit,
                weight_kg=weight,
                planned_amount_per_kg=dose.amount_per_kg,
                planned_total=dose.total,
                status="planned",
            )
        )
    return tuple((d.intervention, d.dose_number, d.target_date) for d in plan.doses)


def _planned_dose(
    session: Session, participant_id: str, intervention: str | None, dose_number: int
) -> Dose:
    statement = select(Dose).where(
        Dose.participant_id == participant_id, Dose.dose_number == dose_number
    )
    if intervention is not None:
        statement = statement.where(Dose.intervention == intervention)
    doses = session.execute(statement).scalars().all()
    if not doses:
        raise RecordError(
            f"participant {participant_id!r} has no planned dose {dose_number}"
            + (f" of {intervention!r}" if intervention else "")
            + " (control arm, or a dose number beyond the plan)"
        )
    if len(doses) > 1:
        names = ", ".join(d.intervention for d in doses)
        raise RecordError(f"dose {dose_number} is ambiguous ({names}); give intervention=")
    return doses[0]


def record_dose(
    session: Session,
    *,
    participant_id: str,
    dose_number: int,
    given_on: dt.date,
    amount: float,
    unit: str,
    user: str,
    intervention: str | None = None,
    deviation: str | None = None,
) -> int:
    """Record a planned dose as given; return the dose row id.

    ``amount`` is in ``unit``: the product's unit in total (``"cells"``) or per kilogram
    (``"cells/kg"``), per kg of the weight at randomization. A dose outside the protocol's
    bounds, before randomization or recorded twice is refused; a date outside the window is
    recorded with the deviation (see :func:`hepatrial.protocol.dosing.check_dose`).
    """
    with write_operation(session, user):
        acting = acting_user(session, user, CLINICAL_ROLES, "recording a dose")
        get_participant(session, participant_id, acting)
        protocol = trial_protocol(get_trial(session))
        dose = _planned_dose(session, participant_id, intervention, dose_number)
        if dose.status != "planned":
            raise RecordError(
                f"dose {dose_number} of {participant_id!r} is already recorded as {dose.status}"
            )
        start = dose.planned_date - dt.timedelta(days=dose.planned_day)
        checked = check_dose(
            protocol,
            intervention=dose.intervention,
            dose_number=dose_number,
            amount=amount,
            unit=unit,
            weight_kg=dose.weight_kg,
            given_on=given_on,
            randomization_date=start,
        )
        dose.status = "given"
        dose.given_on = given_on
        dose.given_total = checked.total
        dose.given_amount_per_kg = checked.amount_per_kg
        notes = [n for n in (checked.deviation, deviation) if n]
        dose.deviation = "; ".join(notes) or None
    return dose.id


def record_missed_dose(
    session: Session,
    *,
    participant_id: str,
    dose_number: int,
    reason: str,
    user: str,
    intervention: str | None = None,
) -> int:
    """Record that a planned dose was not given, and why; return the dose row id."""
    if not reason.strip():
        raise RecordError("a missed dose needs its reason")
    with write_operation(session, user):
        acting = acting_user(session, user, CLINICAL_ROLES, "recording a missed dose")
        get_participant(session, participant_id, acting)
        dose = _planned_dose(session, participant_id, intervention, dose_number)
        if dose.status != "planned":
            raise RecordError(
                f"dose {dose_number} of {participant_id!r} is already recorded as {dose.status}"
            )
        dose.status = "missed"
        dose.deviation = reason.strip()
    return dose.id


def verify_allocations(session: Session) -> ReplayReport:
    """Recompute every stored allocation from the sealed seed (the seed is not returned)."""
    with read_operation(session):
        trial = get_trial(session)
        protocol = trial_protocol(trial)
        key = _store_key(session, trial)
        _sequences.pop(key, None)  # replay what is stored now, not this process's copy
        history = list(_history(session, key).history)
        return _allocator(trial, protocol).replay(seed=_seed(session, trial, key), history=history)
