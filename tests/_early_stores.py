"""Trial stores at the first stages of a trial, built through the service API.

Used by ``test_export_early.py`` and ``test_report_early.py``: the stages a data monitoring
committee or a coordinator meets first (nothing randomized, one participant, one arm only,
both arms without follow-up, a single laboratory value).

PYTEST_DONT_REWRITE (plain helpers)
"""

from __future__ import annotations

import datetime as dt

from _store_support import msc_patient, screen

from hepatrial.service import (
    add_site,
    add_user,
    create_trial,
    randomize,
    record_lab,
)
from hepatrial.store import StoreSession, init_db, open_session

ADMIN = "adm"
INVESTIGATOR = "inv-7"
SCREEN_DAY = dt.date(2026, 1, 10)
SEED = bytes([1]) * 32
"""With this seed the MATCH allocation sequence (site S01, stratum of ``match_patient()``) starts
macrophage, macrophage, standard-care (asserted by ``test_seed_sequence`` in
``test_export_early.py``), so the first two participants form a one-arm trial."""

STAGES = ("empty", "screened", "one_randomized", "one_arm", "both_arms", "one_lab")
"""Successive stages: no participant; one screened, not randomized; one randomized; two
randomized in the same arm; three randomized (both arms, no follow-up); plus one lab value."""

_RANDOMIZED = {"empty": 0, "screened": 0, "one_randomized": 1, "one_arm": 2, "both_arms": 3}


def build_msc(url: str, randomized: int) -> list[str]:
    """The MSC-ACLF trial at ``url`` with ``randomized`` participants; return the arms drawn.

    With :data:`SEED` the sequence starts standard-medical-therapy, msc, msc.
    """
    init_db(url)
    with open_session(url) as session:
        create_trial(session, "msc-aclf", seed=SEED, admin=ADMIN)
        add_site(session, code="S01", name="Edinburgh", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
        arms = []
        for i in range(randomized):
            code = f"P{i + 1:03d}"
            screen(session, code, patient=msc_patient(high_meld=True), user=INVESTIGATOR)
            drawn = randomize(
                session,
                participant_id=code,
                user=INVESTIGATOR,
                randomized_on=SCREEN_DAY,
                weight_kg=70.0,
            )
            arms.append(drawn.arm)
        return arms


def build_stage(url: str, stage: str) -> list[str]:
    """Create the MATCH trial at ``url`` at ``stage`` (one of STAGES); return the arms drawn."""
    init_db(url)
    with open_session(url) as session:
        create_trial(session, "match", seed=SEED, admin=ADMIN)
        if stage == "empty":
            return []
        add_site(session, code="S01", name="Edinburgh", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
        n = _RANDOMIZED.get(stage, 3)
        arms = [_enrol(session, f"P{i + 1:03d}", randomize_too=i < n) for i in range(max(n, 1))]
        if stage == "one_lab":
            record_lab(
                session,
                participant_id="P001",
                analyte="bilirubin",
                value=30.0,
                unit="umol/L",
                collected_on=SCREEN_DAY + dt.timedelta(days=7),
                user=INVESTIGATOR,
            )
        return [a for a in arms if a]


def _enrol(session: StoreSession, code: str, *, randomize_too: bool) -> str:
    screen(session, code, user=INVESTIGATOR)
    if not randomize_too:
        return ""
    result = randomize(
        session, participant_id=code, user=INVESTIGATOR, randomized_on=SCREEN_DAY, weight_kg=70.0
    )
    return result.arm
