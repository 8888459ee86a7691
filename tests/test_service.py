"""Trial set-up, screening and randomization through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from _store_support import (
    ADMIN,
    COORDINATOR_S02,
    INVESTIGATOR,
    MONITOR,
    SCREEN_DAY,
    SEED,
    build_trial,
    enrol,
    match_patient,
    msc_patient,
    screen,
)
from sqlalchemy import func, select

from hepatrial.allocation import Allocator, PriorAssignment, factor_levels
from hepatrial.exceptions import (
    AllocationError,
    EligibilityError,
    NotFoundError,
    RecordError,
    UnitError,
)
from hepatrial.protocol import load_protocol
from hepatrial.service import (
    RandomizationResult,
    create_trial,
    randomize,
    trial_info,
    verify_allocations,
)
from hepatrial.store import (
    AuditEntry,
    Dose,
    Participant,
    Randomization,
    Screening,
    StoreSession,
    dispose_engine,
    make_engine,
    open_session,
    verify_audit,
)

pytest_plugins = ["_store_support"]


def _count(session: StoreSession, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _randomize(
    session: StoreSession,
    participant_id: str,
    *,
    user: str = INVESTIGATOR,
    weight_kg: float | None = 70,
    randomized_on: dt.date | None = SCREEN_DAY,
) -> RandomizationResult:
    """Randomize ``participant_id``: by the investigator, 70 kg, on the screening day."""
    return randomize(
        session,
        participant_id=participant_id,
        user=user,
        weight_kg=weight_kg,
        randomized_on=randomized_on,
    )


def test_trial_info_publishes_only_the_commitment(session: StoreSession) -> None:
    info = trial_info(session)
    assert info.protocol_name == "match" and info.protocol_version == "1.0"
    assert info.seed_commitment == hashlib.sha256(SEED).hexdigest()
    assert SEED.hex() not in repr(info)


def test_second_trial_in_one_store_is_refused(session: StoreSession) -> None:
    with pytest.raises(RecordError, match="already holds a trial"):
        create_trial(session, "match", admin="adm-2")


def test_short_seed_is_refused(db_url: str) -> None:
    from hepatrial.store import init_db, open_session

    init_db(db_url)
    with open_session(db_url) as session, pytest.raises(RecordError, match="at least 16"):
        create_trial(session, "match", seed=b"short")


def test_eligible_screening_is_stored_with_scores_and_reasons(session: StoreSession) -> None:
    stored = screen(session, "P001")
    assert stored.eligible
    row = session.get(Screening, stored.screening_id)
    assert row is not None and row.status == "eligible"
    # MELD by hand: 3.78 ln 1.8 + 11.2 ln 1.4 + 9.57 ln 1.0 + 6.43 = 12.4203
    assert row.scores["meld"] == pytest.approx(12.4203, abs=5e-5)
    assert row.labs["bilirubin"]["unit"] == "mg/dL"
    assert row.factors == {"aetiology": "alcohol"}
    assert [c["id"] for c in row.criteria][:2] == ["meld_range", "age_range"]
    participant = session.get(Participant, "P001")
    assert participant is not None and participant.sex == "M" and participant.age_years == 55


def test_ineligible_screening_is_stored_and_blocks_randomization(session: StoreSession) -> None:
    # bilirubin 6 mg/dL: MELD = 3.78 ln 6 + 11.2 ln 1.4 + 6.43 = 6.7729 + 3.7685 + 6.43 = 16.97;
    # INR 2.0 as well: + 11.2 ln(2.0/1.4) = +3.9947 -> 20.97 > 17, ineligible.
    stored = screen(session, "P002", patient=match_patient(bilirubin_mg_dl=6.0, inr=2.0))
    assert not stored.eligible and stored.result.status == "ineligible"
    with pytest.raises(EligibilityError, match="meld_range"):
        _randomize(session, "P002")
    assert _count(session, Randomization) == 0


@pytest.mark.parametrize(
    "field", ["name", "email", "phone_number", "date_of_birth", "NHS number", "address"]
)
def test_identifying_fields_are_refused(session: StoreSession, field: str) -> None:
    patient = match_patient()
    patient[field] = "x"
    with pytest.raises(RecordError, match="identifying"):
        screen(session, "P003", patient=patient)
    assert _count(session, Participant) == 0


@pytest.mark.parametrize("code", ["jane.doe@example.org", "07700900123", "John Smith", ""])
def test_identifying_codes_are_refused(session: StoreSession, code: str) -> None:
    with pytest.raises(RecordError, match="participant_id"):
        screen(session, code)


def test_wrong_lab_unit_is_refused_naming_the_mix_up(session: StoreSession) -> None:
    with pytest.raises(UnitError, match="µmol/L would be"):
        screen(session, "P004", patient=match_patient(creatinine_mg_dl=88.0))
    assert _count(session, Participant) == 0 and _count(session, Screening) == 0


def test_randomization_is_stored_with_planned_doses(session: StoreSession) -> None:
    result = enrol(session, "P010")
    assert result.sequence_number == 1 and result.method == "minimisation"
    assert result.arm in ("macrophage", "standard-care")
    doses = session.execute(select(Dose)).scalars().all()
    if result.arm == "macrophage":
        # MATCH: one fixed dose of 10^9 cells on day 7, window +7 days
        assert [(d.dose_number, d.planned_date, d.planned_total) for d in doses] == [
            (1, SCREEN_DAY + dt.timedelta(days=7), 1.0e9)
        ]
    else:
        assert doses == []
    entries = session.execute(select(AuditEntry.table_name)).scalars().all()
    assert "randomizations" in entries and verify_audit(session).ok


def test_sequence_matches_the_allocator_replayed_by_hand(session: StoreSession) -> None:
    arms = [
        enrol(session, f"P{n:03d}", aetiology=a).arm
        for n, a in enumerate(["alcohol", "masld", "alcohol", "other", "alcohol"])
    ]
    allocator = Allocator.from_protocol(load_protocol("match"))
    history: list[PriorAssignment] = []
    for n, aetiology in enumerate(["alcohol", "masld", "alcohol", "other", "alcohol"], start=1):
        expected = allocator.assign(seed=SEED, history=history, factors={"aetiology": aetiology})
        assert expected.arm == arms[n - 1]
        history.append(PriorAssignment(n, expected.arm, {"aetiology": aetiology}))
    assert verify_allocations(session).ok


def test_second_randomization_is_refused(session: StoreSession) -> None:
    first = enrol(session, "P020")
    with pytest.raises(AllocationError, match="already randomized"):
        _randomize(session, "P020")
    row = session.execute(select(Randomization)).scalar_one()
    assert row.arm == first.arm and verify_audit(session).ok


def test_unscreened_participant_is_refused(session: StoreSession) -> None:
    with pytest.raises(RecordError, match="screen them first"):
        _randomize(session, "P404", randomized_on=None)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"user": MONITOR}, RecordError, "role 'monitor'"),
        # another site's participant does not exist for a site-bound user (no 403 that confirms it)
        ({"user": COORDINATOR_S02}, NotFoundError, "is not in this trial"),
        ({"randomized_on": SCREEN_DAY + dt.timedelta(days=29)}, EligibilityError, "29 days old"),
        ({"weight_kg": None}, RecordError, "weight_kg is required"),
        ({"randomized_on": SCREEN_DAY - dt.timedelta(days=1)}, RecordError, "before the screening"),
    ],
    ids=["monitor", "other-site", "stale-screening", "no-weight", "before-screening"],
)
def test_randomization_refusals(
    session: StoreSession, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    screen(session, "P030")
    with pytest.raises(error, match=message):
        _randomize(session, "P030", **overrides)
    assert _count(session, Randomization) == 0


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (COORDINATOR_S02, "works at site"),
        (ADMIN, "role 'admin'"),
        ("ghost", "user='ghost' is unknown"),
    ],
)
def test_screening_user_refusals(session: StoreSession, user: str, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        screen(session, "P050", user=user)
    assert _count(session, Participant) == 0 and _count(session, Screening) == 0


def test_rescreening_after_randomization_is_refused(session: StoreSession) -> None:
    enrol(session, "P060")
    with pytest.raises(RecordError, match="already randomized"):
        screen(session, "P060")


def _empty_store_at(url: str) -> None:
    """Remove every table of the store at ``url`` (same URL, new store)."""
    dispose_engine(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    dispose_engine(url)


def test_a_new_store_at_the_same_url_plans_every_dose(db_url: str) -> None:
    """Keys for planned doses are reserved before the allocation, by the protocol's dose count.

    MATCH plans one dose, the MSC-ACLF protocol four (weekly x4). A process that randomized in
    a MATCH store and then works on an MSC-ACLF store created at the same URL must still plan
    all four doses of an MSC participant, each with its own key.
    """
    msc = load_protocol("msc-aclf")
    first = factor_levels(msc, {"meld": 23.25})  # msc_patient(high_meld=True), see its docstring
    allocator = Allocator.from_protocol(msc)
    # the first seed whose first allocation is the MSC arm, so that the very first
    # randomization after the switch plans doses
    seed = next(
        bytes([k]) * 32
        for k in range(256)
        if allocator.assign(seed=bytes([k]) * 32, history=[], factors=first).arm == "msc"
    )
    build_trial(db_url, "match")
    with open_session(db_url) as session:
        enrol(session, "M001")
    _empty_store_at(db_url)
    build_trial(db_url, "msc-aclf", seed=seed)
    with open_session(db_url) as session:
        screen(session, "A001", patient=msc_patient(high_meld=True))
        result = randomize(
            session,
            participant_id="A001",
            user=INVESTIGATOR,
            randomized_on=SCREEN_DAY,
            weight_kg=60.0,
        )
        assert result.arm == "msc"
        doses = session.execute(select(Dose).where(Dose.participant_id == "A001")).scalars()
        assert [d.dose_number for d in doses] == [1, 2, 3, 4]
        assert verify_audit(session).ok
