"""Fixtures shared by the store, service, audit, CLI, concurrency and crash tests.

``db_url`` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database (the
``postgres_database`` fixture of ``conftest.py``, which fails under ``CI=true`` if PostgreSQL
is missing). ``trial_url`` is a migrated store holding the MATCH trial with a fixed seed, two
sites and users of every role.

PYTEST_DONT_REWRITE (plain helpers, imported by test modules before pytest loads it as a plugin)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from hepatrial.service.randomization import RandomizationResult, randomize
from hepatrial.service.screening import screen_participant
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
    day = collected_on.isoformat()
    return {
        "age": age,
        "sex": "male",
        "labs": [
            {
                "analyte": "bilirubin",
                "value": bilirubin_mg_dl,
                "unit": "mg/dL",
                "collected_on": day,
            },
            {"analyte": "inr", "value": inr, "unit": "1", "collected_on": day},
            {
                "analyte": "creatinine",
                "value": creatinine_mg_dl,
                "unit": "mg/dL",
                "collected_on": day,
            },
        ],
        "facts": {**MATCH_FACTS, **facts},
    }


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
    screen_participant(
        session,
        participant_id=participant_id,
        site=site,
        patient=match_patient(**facts),
        user=INVESTIGATOR,
        on=day,
    )
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
    day = collected_on.isoformat()
    return {
        "age": 45,
        "sex": "female",
        "labs": [
            {"analyte": "bilirubin", "value": bilirubin, "unit": "mg/dL", "collected_on": day},
            {"analyte": "inr", "value": inr, "unit": "1", "collected_on": day},
            {"analyte": "creatinine", "value": 0.9, "unit": "mg/dL", "collected_on": day},
        ],
        "facts": {
            "hbsag_positive_over_6_months": True,
            "ascites_or_encephalopathy_within_4_weeks": True,
            "hcc": False,
            "other_active_malignancy": False,
            "pregnant_or_breastfeeding": False,
            "hcv_or_hiv_coinfection": False,
        },
    }
