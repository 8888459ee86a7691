"""Concealed randomization and dosing.

:func:`randomize` is one transaction that serializes with every other randomization of the
trial. Everything that does not depend on the allocation history is done first, without a
lock: the user, participant and latest screening (with any earlier randomization of the
participant) and the trial are read and the new rows' keys reserved, in one round trip on
PostgreSQL; the protocol checks run and the doses of every arm are planned. Then the audit
head is locked (on PostgreSQL after the writers' fair queue, see
:func:`hepatrial.store.audit.lock_head_statement`, and in the same round trip as the read of
the allocation history; SQLite holds the database write lock from ``BEGIN IMMEDIATE``), the
allocator (:mod:`hepatrial.allocation`) computes the next arm from the sealed seed and its
tally of the history, and the randomization, the planned doses of that arm and their audit
entries are written in one statement sent with ``COMMIT``; a crash at any point leaves all of
them or none. The seed is read only here and in :func:`verify_allocations`, and never
returned.

Fault injection: when the environment variable ``HEPATRIAL_PAUSE_BEFORE_COMMIT`` holds a
number of seconds, every audited commit sleeps that long after all its rows and audit entries
are written and before ``COMMIT`` (see :mod:`hepatrial.store.audit`). The crash-safety tests
use it to kill a process inside a randomization; it is never set in production.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, NamedTuple, NoReturn

import pandas as pd
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from hepatrial.allocation import (
    AllocationTally,
    Allocator,
    Assignment,
    PriorAssignment,
    ReplayReport,
)
from hepatrial.checks.dates import date_problems
from hepatrial.checks.personal import text_problems
from hepatrial.exceptions import (
    AllocationError,
    ConflictError,
    EligibilityError,
    InvalidRecordError,
    NotFoundError,
    Problem,
)
from hepatrial.protocol.dosing import PlannedDose, check_dose, plan_doses
from hepatrial.protocol.models import Protocol
from hepatrial.service._checks import participant_history, refuse_hard, today
from hepatrial.service._common import (
    acting_user,
    cached_protocol,
    check_acting_user,
    get_participant,
    get_trial,
    no_trial,
    read_operation,
    refuse_other_site,
    trial_protocol,
    unknown_participant,
    write_operation,
)
from hepatrial.store import (
    AllocationSecret,
    Dose,
    Participant,
    Randomization,
    Screening,
    Trial,
    User,
)
from hepatrial.store.base import Audited, utc_now
from hepatrial.store.sealing import key_path, unseal
from hepatrial.store.writes import (
    AuditedRows,
    insert_audited,
    lock_and_read,
    read_and_reserve,
    reserve_ids,
)


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


_EARLIER = (Randomization.randomized_on, Randomization.sequence_number, Randomization.arm)
_LATER_SCREENING = aliased(Screening)
_LATEST_SCREENING_ID = (
    select(_LATER_SCREENING.id)
    .where(_LATER_SCREENING.participant_id == Participant.id)
    .order_by(_LATER_SCREENING.screened_on.desc(), _LATER_SCREENING.id.desc())
    .limit(1)
    .correlate(Participant)
    .scalar_subquery()
)
_CANDIDATE = (
    select(
        Participant.site_code,
        Screening.id,
        Screening.screened_on,
        Screening.eligible,
        Screening.status,
        Screening.factors,
        *_EARLIER,
    )
    .select_from(Participant)
    .outerjoin(Screening, Screening.id == _LATEST_SCREENING_ID)
    .outerjoin(Randomization, Randomization.participant_id == Participant.id)
    .where(Participant.id == bindparam("participant"))
)


class _Candidate(NamedTuple):
    site_code: str
    id: int | None
    screened_on: dt.date
    eligible: bool | None
    status: str
    factors: dict[str, str]
    randomized_on: dt.date | None
    sequence_number: int | None
    arm: str | None


class _ActingUser(NamedTuple):
    id: str
    role: str
    site_code: str | None
    active: bool


class _TrialKey(NamedTuple):
    id: int
    protocol_sha256: str
    seed_commitment: str
    created_at: dt.datetime


_USER = select(User.id, User.role, User.site_code, User.active).where(User.id == bindparam("user"))
_TRIAL = (
    select(Trial.id, Trial.protocol_sha256, Trial.seed_commitment, Trial.created_at)
    .order_by(Trial.id)
    .limit(1)
)


def _check_candidate(
    session: Session, participant_id: str, acting: _ActingUser, found: _Candidate | None
) -> tuple[int, _Candidate]:
    """Refuse a participant who is unknown, of another site, not screened or not eligible."""
    if found is None:
        raise unknown_participant(participant_id)
    refuse_other_site(acting, participant_id, found.site_code)
    if found.id is None:
        raise EligibilityError(f"participant {participant_id!r} has not been screened")
    if not found.eligible:
        criteria = (
            session.connection()
            .execute(select(Screening.criteria).where(Screening.id == found.id))
            .scalar_one()
        )
        failed = "; ".join(c["id"] for c in criteria if c.get("passed") is not True)
        raise EligibilityError(
            f"participant {participant_id!r} is {found.status} at their latest screening "
            f"({found.screened_on}): {failed}; an ineligible participant is not randomized"
        )
    return found.id, found


def _check_timing(protocol: Protocol, screened_on: dt.date, on: dt.date) -> None:
    age = (on - screened_on).days
    limit = protocol.eligibility.lab_max_age_days
    if age < 0:
        raise InvalidRecordError(f"randomized_on={on} is before the screening of {screened_on}")
    if on > today():
        raise InvalidRecordError(
            problems=[
                Problem(
                    "randomized_on",
                    on.isoformat(),
                    "date.future",
                    f"randomization is dated after today ({today()})",
                    "randomize on the day it happens",
                )
            ]
        )
    if age > limit:
        raise EligibilityError(
            f"the screening of {screened_on} is {age} days old on {on}; the protocol "
            f"accepts screening labs up to {limit} days old: screen the participant again"
        )


@dataclass
class _Sequence:
    """A process-local copy of the committed allocation history of one store.

    ``tally`` summarises ``history`` for the trial's allocator, so that the next allocation
    is computed without walking the history (:meth:`Allocator.assign_next`).
    """

    tally: AllocationTally
    history: list[PriorAssignment] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    randomized: set[str] = field(default_factory=set)


_sequences: dict[str, _Sequence] = {}
_allocators: dict[str, Allocator] = {}
# The caches above hold no secret (the seed is unsealed per use) and are keyed without
# credentials; this lock keeps a server's threads from extending one history copy at once.
# A thread may wait here for another that waits for the database's write lock; no thread
# takes this lock while it holds the write lock and waits for another thread, so no deadlock.
_cache_lock = threading.RLock()


def _store_url(session: Session) -> str:
    """The store's URL without its password: the caches above are keyed by it."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _store_key(url: str, trial: Trial | _TrialKey) -> str:
    return f"{url}|{trial.id}|{trial.seed_commitment}|{trial.created_at.isoformat()}"


_HISTORY = (
    select(
        Randomization.sequence_number,
        Randomization.arm,
        Randomization.factors,
        Randomization.participant_id,
    )
    .where(Randomization.sequence_number >= bindparam("start"))
    .order_by(Randomization.sequence_number)
)


def _history(session: Session, key: str, allocator: Allocator, *, lock: bool = False) -> _Sequence:
    """The committed allocation history, read incrementally (allocations are append-only).

    One thread of the process at a time: the copy is shared by the threads of a server
    worker, and the rows to read are chosen from it before the audit head's lock is granted,
    so another thread must not extend it in between (it did: a tally extended twice from #1).
    Threads queue here while one waits for the database lock, as they would for that lock.
    """
    with _cache_lock:
        return _read_history(session, key, allocator, lock=lock)


def _read_history(
    session: Session, key: str, allocator: Allocator, *, lock: bool = False
) -> _Sequence:
    """:func:`_history` under the process's lock.

    Only rows after the cached ones are read; the last cached row is read again and must
    match, otherwise (a different store at the same URL) the whole history is reloaded. With
    ``lock`` the audit head is locked first, in the same round trip on PostgreSQL
    (:func:`~hepatrial.store.writes.lock_and_read`), and the read sees every randomization
    committed before the lock was granted. The new rows are checked (sequence numbers, arms,
    factor levels) as they are added to the allocator's tally; a bad row drops the copy.
    """
    cached = _sequences.get(key)
    if cached is None or cached.tally.allocator is not allocator:
        cached = _Sequence(allocator.tally())
    start = len(cached.history)
    params = {"start": max(start, 1)}
    if lock:
        rows = lock_and_read(session, _HISTORY, params)[1]
    else:
        rows = session.connection().execute(_HISTORY, params).all()
    if start:
        first = rows[0] if rows else None
        if first is None or first[0] != start or first[3] != cached.participants[-1]:
            _sequences.pop(key, None)
            return _read_history(session, key, allocator)
        rows = rows[1:]
    new = [PriorAssignment(number, arm, dict(factors)) for number, arm, factors, _ in rows]
    try:
        cached.tally.extend(new)
    except AllocationError:
        _sequences.pop(key, None)
        raise
    cached.history.extend(new)
    cached.participants.extend(row[3] for row in rows)
    cached.randomized.update(row[3] for row in rows)
    _sequences[key] = cached
    return cached


def _seed(session: Session, trial: Trial | _TrialKey) -> bytes:
    """The trial's seed, unsealed for this one use with the key kept outside the database
    (never cached: the process holds it only while it computes an allocation)."""
    stored = (
        session.connection()
        .execute(select(AllocationSecret.seed).where(AllocationSecret.trial_id == trial.id))
        .scalar_one()
    )
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return unseal(stored, key_path(url), trial_id=trial.id, commitment=trial.seed_commitment)


def _allocator(trial: Trial | _TrialKey, protocol: Protocol) -> Allocator:
    with _cache_lock:
        allocator = _allocators.get(trial.protocol_sha256)
        if allocator is None:
            allocator = _allocators[trial.protocol_sha256] = Allocator.from_protocol(protocol)
        return allocator


def _refuse_repeat(
    participant_id: str, randomized_on: dt.date | None, number: int, arm: str | None
) -> NoReturn:
    raise AllocationError(
        f"participant {participant_id!r} was already randomized on {randomized_on} "
        f"(#{number}, arm {arm!r}); a participant is randomized once"
    )


def _needs_weight(protocol: Protocol, weight_kg: float | None) -> None:
    if protocol.interventions and weight_kg is None:
        raise InvalidRecordError(
            f"weight_kg is required to randomize in {protocol.id}: doses are planned from it "
            "at randomization"
        )


@dataclass(frozen=True)
class _Request:
    """Everything a randomization needs that does not depend on the allocation history."""

    participant_id: str
    user: str
    on: dt.date
    weight_kg: float | None
    screening_id: int
    factors: dict[str, str]
    key: str
    seed: bytes
    allocator: Allocator
    doses: dict[str, tuple[PlannedDose, ...]]
    randomization_id: int
    dose_ids: list[int]


def _dose_plans(
    protocol: Protocol, weight_kg: float | None, on: dt.date
) -> dict[str, tuple[PlannedDose, ...]]:
    """Planned doses of every arm (the arm is not known until the allocation is made)."""
    if weight_kg is None:
        return {arm: () for arm in protocol.arm_ids}
    return {
        arm: plan_doses(protocol, weight_kg=float(weight_kg), randomization_date=on, arm=arm).doses
        for arm in protocol.arm_ids
    }


_dose_counts: dict[str, int] = {}
"""Per store URL: how many dose keys its latest randomization needed (the next one's guess)."""


def _read_request(
    session: Session, participant_id: str, user: str, url: str
) -> tuple[_ActingUser | None, _Candidate | None, _TrialKey | None, dict[type[Audited], list[int]]]:
    """The acting user, the candidate, the trial and reserved keys: one round trip on PostgreSQL.

    How many dose keys a randomization needs is known only once the protocol has planned the
    doses, so as many are reserved as the store's previous randomization needed in this
    process; :func:`_prepare` reserves again, separately, when that guess falls short.
    """
    counts: dict[type[Audited], int] = {Randomization: 1, Dose: _dose_counts.get(url, 0)}
    reads = [(_USER, {"user": user}), (_CANDIDATE, {"participant": participant_id}), (_TRIAL, {})]
    (users, candidates, trials), ids = read_and_reserve(session, reads, counts)
    acting = _ActingUser(*users[0]) if users else None
    candidate = _Candidate(*candidates[0]) if candidates else None
    trial = _TrialKey(*trials[0]) if trials else None
    return acting, candidate, trial, ids


def _trial_protocol(session: Session, trial: _TrialKey) -> Protocol:
    """The trial's protocol, parsed once per process (the stored text is read only then)."""
    return cached_protocol(trial.protocol_sha256) or trial_protocol(get_trial(session))


def _prepare(
    session: Session, participant_id: str, user: str, on: dt.date, weight_kg: float | None
) -> _Request:
    """Checks and reads that need no lock: user, participant, screening, protocol, dose plans.

    Users, participants and screenings are not changed by randomization (screenings are
    append-only), so reading them before the serialized part is as safe as reading them in it.
    A participant randomized already is refused here; the check is repeated under the lock
    against the committed history, for a randomization committed in between.
    """
    url = _store_url(session)
    acting, found, trial, ids = _read_request(session, participant_id, user, url)
    checked = check_acting_user(user, acting, "participant.randomize", "randomization")
    screening_id, screening = _check_candidate(session, participant_id, checked, found)
    if trial is None:
        raise no_trial()
    protocol = _trial_protocol(session, trial)
    key = _store_key(url, trial)
    if screening.sequence_number is not None:
        _refuse_repeat(
            participant_id, screening.randomized_on, screening.sequence_number, screening.arm
        )
    _needs_weight(protocol, weight_kg)
    _check_timing(protocol, screening.screened_on, on)
    doses = _dose_plans(protocol, weight_kg, on)
    needed = _dose_counts[url] = max(map(len, doses.values()), default=0)
    if len(ids[Dose]) < needed:  # unused reserved keys only leave gaps
        ids[Dose] = reserve_ids(session, {Dose: needed})[Dose]
    return _Request(
        participant_id=participant_id,
        user=user,
        on=on,
        weight_kg=weight_kg,
        screening_id=screening_id,
        factors=dict(screening.factors),
        key=key,
        seed=_seed(session, trial),
        allocator=_allocator(trial, protocol),
        doses=doses,
        randomization_id=ids[Randomization][0],
        dose_ids=ids[Dose],
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
        request = _prepare(session, participant_id, user, on, weight_kg)
        # Serialized from here to commit: the audit head, which every audited write locks
        # before it commits, is locked now (on PostgreSQL the writers' queue, then SELECT ...
        # FOR UPDATE; on SQLite BEGIN IMMEDIATE took the write lock). Inside: the history read
        # (sent with the lock), the allocation, and one write sent with COMMIT.
        sequence = _history(session, request.key, request.allocator, lock=True)
        if participant_id in sequence.randomized:  # by another process since _prepare
            earlier = session.connection().execute(
                select(*_EARLIER).where(Randomization.participant_id == participant_id)
            )
            _refuse_repeat(participant_id, *earlier.one())
        assignment = request.allocator.assign_next(
            seed=request.seed, tally=sequence.tally, factors=request.factors
        )
        planned = request.doses[assignment.arm]
        row = _randomization_row(request, assignment)
        rows: list[AuditedRows] = [(Randomization, [row]), (Dose, _dose_rows(request, planned))]
        insert_audited(session, rows, at_commit=True)
    return RandomizationResult(
        participant_id=participant_id,
        sequence_number=assignment.sequence_number,
        arm=assignment.arm,
        stratum=row["stratum"],
        method=assignment.method,
        randomized_on=on,
        planned_doses=tuple((d.intervention, d.dose_number, d.target_date) for d in planned),
    )


def _stratum(factors: object) -> str:
    levels = dict(factors) if isinstance(factors, dict) else {}
    return "|".join(f"{k}={v}" for k, v in sorted(levels.items())) or "all"


def _randomization_row(request: _Request, assignment: Assignment) -> dict[str, Any]:
    return {
        "id": request.randomization_id,
        "participant_id": request.participant_id,
        "screening_id": request.screening_id,
        "sequence_number": assignment.sequence_number,
        "arm": assignment.arm,
        "stratum": assignment.stratum or _stratum(assignment.factors),
        "factors": dict(assignment.factors),
        "method": assignment.method,
        "randomized_on": request.on,
        "randomized_at": utc_now(),
        "randomized_by": request.user,
        "weight_kg": request.weight_kg,
    }


def _dose_rows(request: _Request, planned: tuple[PlannedDose, ...]) -> list[dict[str, Any]]:
    weight = float(request.weight_kg or 0.0)
    return [
        {
            "id": dose_id,
            "participant_id": request.participant_id,
            "intervention": dose.intervention,
            "dose_number": dose.dose_number,
            "planned_day": dose.day,
            "planned_date": dose.target_date,
            "window_start": dose.window_start,
            "window_end": dose.window_end,
            "unit": dose.unit,
            "weight_kg": weight,
            "planned_amount_per_kg": dose.amount_per_kg,
            "planned_total": dose.total,
            "status": "planned",
            "given_on": None,
            "given_total": None,
            "given_amount_per_kg": None,
            "deviation": None,
        }
        for dose_id, dose in zip(request.dose_ids[: len(planned)], planned, strict=True)
    ]


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
        raise NotFoundError(
            f"participant {participant_id!r} has no planned dose {dose_number}"
            + (f" of {intervention!r}" if intervention else "")
            + " (control arm, or a dose number beyond the plan)"
        )
    if len(doses) > 1:
        names = ", ".join(d.intervention for d in doses)
        raise InvalidRecordError(f"dose {dose_number} is ambiguous ({names}); give intervention=")
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
        acting = acting_user(session, user, "record.write", "recording a dose")
        get_participant(session, participant_id, acting)
        protocol = trial_protocol(get_trial(session))
        history = participant_history(session, participant_id)
        problems = date_problems("dose", "given_on", given_on, history, today=today())
        refuse_hard(problems + (text_problems("deviation", deviation) if deviation else []))
        dose = _planned_dose(session, participant_id, intervention, dose_number)
        if dose.status != "planned":
            raise ConflictError(
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
    refuse_hard(text_problems("reason", reason))
    with write_operation(session, user):
        acting = acting_user(session, user, "record.write", "recording a missed dose")
        get_participant(session, participant_id, acting)
        dose = _planned_dose(session, participant_id, intervention, dose_number)
        if dose.status != "planned":
            raise ConflictError(
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
        key = _store_key(_store_url(session), trial)
        allocator = _allocator(trial, protocol)
        _sequences.pop(key, None)  # replay what is stored now, not this process's copy
        history = list(_history(session, key, allocator).history)
        return allocator.replay(seed=_seed(session, trial), history=history)
