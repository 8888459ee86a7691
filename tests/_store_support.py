"""Fixtures shared by the store, service, audit, CLI, concurrency and crash tests.

``db_url`` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database (the
``postgres_database`` fixture of ``conftest.py``, which fails under ``CI=true`` if PostgreSQL
is missing). ``trial_url`` is a migrated store holding the MATCH trial with a fixed seed, two
sites and users of every role.

PYTEST_DONT_REWRITE (plain helpers, imported by test modules before pytest loads it as a plugin)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hepatrial.service.randomization import RandomizationResult, randomize
from hepatrial.service.records import AdverseEventFields
from hepatrial.service.screening import StoredScreening, screen_participant
from hepatrial.service.trials import add_site, add_user, create_trial
from hepatrial.store import StoreSession, dispose_engine, init_db, open_session

SEED = bytes(range(32))
ADMIN = "adm-1"
INVESTIGATOR = "inv-1"
COORDINATOR_S02 = "crd-2"
MONITOR = "mon-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    yield url
    dispose_engine(url)


def build_trial(url: str, protocol: str = "match", *, seed: bytes = SEED) -> None:
    """Migrate ``url`` and set up ``protocol`` with two sites and one user of each role."""
    init_db(url)
    with open_session(url) as session:
        create_trial(session, protocol, seed=seed, admin=ADMIN)
        add_site(session, code="S01", name="Edinburgh", user=ADMIN)
        add_site(session, code="S02", name="Glasgow", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
        add_user(session, user_id=COORDINATOR_S02, role="coordinator", site="S02", user=ADMIN)
        add_user(session, user_id=MONITOR, role="monitor", user=ADMIN)


@pytest.fixture
def trial_url(db_url: str) -> str:
    """A migrated store holding the MATCH trial (fixed seed), sites S01/S02 and users."""
    build_trial(db_url)
    return db_url


@pytest.fixture
def session(trial_url: str) -> Iterator[StoreSession]:
    """An audited session on ``trial_url``."""
    with open_session(trial_url) as opened:
        yield opened


SCREEN_DAY = dt.date(2026, 1, 10)
MATCH_FACTS: dict[str, object] = {
    "compensated_cirrhosis": True,
    "liver_stiffness_kpa": 22.0,
    "aetiology": "alcohol",
    "hcc": False,
    "other_active_malignancy": False,
    "pregnant_or_breastfeeding": False,
    "prior_liver_transplant": False,
}


def match_patient(
    *,
    bilirubin_mg_dl: float = 1.8,
    inr: float = 1.4,
    creatinine_mg_dl: float = 0.9,
    age: float = 55,
    collected_on: dt.date = dt.date(2026, 1, 5),
    **facts: object,
) -> dict[str, object]:
    """A MATCH screening record; the defaults give UNOS MELD 12.42 (eligible: 10-17).

    MELD = 3.78 ln(1.8) + 11.2 ln(1.4) + 9.57 ln(1.0 [creatinine floor]) + 6.43
         = 2.2219 + 3.7685 + 0 + 6.43 = 12.42.
    """
    return {
        "age": age,
        "sex": "male",
        "labs": screening_labs(collected_on, bilirubin_mg_dl, inr, creatinine_mg_dl),
        "facts": {**MATCH_FACTS, **facts},
    }


def screening_labs(
    collected_on: dt.date, bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float
) -> list[dict[str, object]]:
    """Bilirubin, INR and creatinine (mg/dL, 1, mg/dL) collected on one day."""
    day = collected_on.isoformat()
    values = (("bilirubin", bilirubin_mg_dl, "mg/dL"), ("inr", inr, "1"))
    values += (("creatinine", creatinine_mg_dl, "mg/dL"),)
    return [
        {"analyte": analyte, "value": value, "unit": unit, "collected_on": day}
        for analyte, value, unit in values
    ]


def screen(
    session: StoreSession,
    participant_id: str,
    *,
    site: str = "S01",
    patient: dict[str, object] | None = None,
    user: str = INVESTIGATOR,
    on: dt.date = SCREEN_DAY,
) -> StoredScreening:
    """Screen ``participant_id`` at ``site`` on ``on``; an eligible MATCH record by default."""
    return screen_participant(
        session,
        participant_id=participant_id,
        site=site,
        patient=match_patient() if patient is None else patient,
        user=user,
        on=on,
    )


def screen_codes(url: str, codes: list[str]) -> None:
    """Screen eligible MATCH participants ``codes`` at site S01, in one session."""
    with open_session(url) as session:
        for code in codes:
            screen(session, code)


def adverse_event_fields(**overrides: Any) -> AdverseEventFields:
    """A serious, liver-related grade 3 adverse event from day 30; ``overrides`` win."""
    fields = AdverseEventFields(
        term="Ascites",
        system_organ_class="Gastrointestinal disorders",
        grade=3,
        serious=True,
        related=False,
        liver_related=True,
        outcome="recovered",
        start_date=SCREEN_DAY + dt.timedelta(days=30),
    )
    return replace(fields, **overrides)


def record_on_day(
    recorder: Callable[..., int],
    session: StoreSession,
    participant_id: str,
    day: int,
    date_field: str,
    **fields: object,
) -> int:
    """Call a service ``record_*`` function for ``participant_id`` as the investigator.

    ``date_field`` (``visit_date``, ``occurred_on``, ...) is set to ``day`` days after
    ``SCREEN_DAY``, which is also the randomization day of :func:`enrol`: the study day.
    """
    dated = {date_field: SCREEN_DAY + dt.timedelta(days=day)}
    return recorder(session, participant_id=participant_id, user=INVESTIGATOR, **dated, **fields)


def enrol(
    session: StoreSession,
    participant_id: str,
    *,
    site: str = "S01",
    day: dt.date = SCREEN_DAY,
    weight_kg: float = 70.0,
    **facts: object,
) -> RandomizationResult:
    """Screen an eligible MATCH participant and randomize them on ``day``."""
    screen(session, participant_id, site=site, patient=match_patient(**facts), on=day)
    return randomize(
        session,
        participant_id=participant_id,
        user=INVESTIGATOR,
        randomized_on=day,
        weight_kg=weight_kg,
    )


def msc_patient(*, high_meld: bool, collected_on: dt.date = SCREEN_DAY) -> dict[str, object]:
    """An eligible MSC-ACLF screening record in either MELD stratum (cut-point 22).

    UNOS MELD, creatinine at its floor of 1.0 (ln 1 = 0):
    high: 3.78 ln 15 + 11.2 ln 1.8 + 6.43 = 10.236 + 6.583 + 6.43 = 23.25 (band >= 22);
    low:  3.78 ln 11 + 11.2 ln 1.5 + 6.43 = 9.064 + 4.541 + 6.43 = 20.04 (band < 22).
    Bilirubin 15 and 11 mg/dL are 256.5 and 188.1 µmol/L, both >= 171 µmol/L.
    """
    bilirubin, inr = (15.0, 1.8) if high_meld else (11.0, 1.5)
    return {
        "age": 45,
        "sex": "female",
        "labs": screening_labs(collected_on, bilirubin, inr, 0.9),
        "facts": {
            "hbsag_positive_over_6_months": True,
            "ascites_or_encephalopathy_within_4_weeks": True,
            "hcc": False,
            "other_active_malignancy": False,
            "pregnant_or_breastfeeding": False,
            "hcv_or_hiv_coinfection": False,
        },
    }
