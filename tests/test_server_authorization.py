"""The authorization matrix of the API, on SQLite and PostgreSQL: every route x every role x own
site and other site. The expected status of each cell is written out by hand below, from the
role descriptions in docs/server.md, never computed from the policy it checks.

Store: MATCH, sites S01 and S02. P001 (S01) and P002 (S02) randomized; W001 (S01) randomized
for the withdrawal; a participant of the macrophage arm at S01 for the dose; one eligible,
screened, not yet randomized participant per role at S01 for the randomization. Site-bound
users: the investigator (S01) and the coordinator (S02); the others are bound to no site.
Each role writes only what its own row allows, so every allowed write succeeds once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from _store_support import ADMIN, COORDINATOR_S02, MONITOR, SCREEN_DAY, match_patient
from fastapi.testclient import TestClient

from hepatrial.server.app import create_app
from hepatrial.server.settings import Settings
from hepatrial.service import add_user, randomize, screen_participant
from hepatrial.service.auth import create_token
from hepatrial.store import open_session

pytest_plugins = ["_store_support"]

INV_S1 = "inv-s1"
USERS = {
    "investigator S01": (INV_S1, "investigator", "S01"),
    "coordinator S02": (COORDINATOR_S02, None, None),
    "monitor": (MONITOR, None, None),
    "statistician": ("stat-1", "statistician", None),
    "unblinded statistician": ("ustat-1", "unblinded_statistician", None),
    "dsmb": ("dsmb-1", "dsmb", None),
    "admin": (ADMIN, None, None),
}
ROLES = list(USERS)


def _day(n: int) -> str:
    return (SCREEN_DAY + dt.timedelta(days=n)).isoformat()


def _screen(session: Any, code: str, site: str, user: str) -> None:
    screen_participant(
        session, participant_id=code, site=site, patient=match_patient(), user=user, on=SCREEN_DAY
    )


def _enrol(session: Any, code: str, site: str, user: str) -> str:
    _screen(session, code, site, user)
    return randomize(
        session, participant_id=code, user=user, randomized_on=SCREEN_DAY, weight_kg=70
    ).arm


@pytest.fixture
def api(trial_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
    """The client, a bearer token per role, and the code of the macrophage-arm participant."""
    with open_session(trial_url) as session:
        for user_id, role, site in USERS.values():
            if role is not None:
                add_user(session, user_id=user_id, role=role, site=site, user=ADMIN)
        _enrol(session, "P001", "S01", INV_S1)
        _enrol(session, "P002", "S02", COORDINATOR_S02)
        _enrol(session, "W001", "S01", INV_S1)
        treated = next(
            code
            for code in (f"M{n:03d}" for n in range(1, 30))
            if _enrol(session, code, "S01", INV_S1) == "macrophage"
        )
        for index in range(len(ROLES)):
            _screen(session, f"R{index:03d}", "S01", INV_S1)
        headers = {
            role: {"Authorization": "Bearer " + create_token(session, user_id=u, user=ADMIN).token}
            for role, (u, _, _) in USERS.items()
        }
    yield TestClient(create_app(Settings(db=trial_url))), headers, treated


def _requests(index: int, treated: str) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    """Every route, with a body that succeeds for a role allowed to call it."""
    one = "/api/v1/participants/P001"
    return {
        "trial": ("GET", "/api/v1/trial", None),
        "list": ("GET", "/api/v1/participants", None),
        "get own (S01)": ("GET", one, None),
        "get other (S02)": ("GET", "/api/v1/participants/P002", None),
        "screen": (
            "POST",
            f"/api/v1/participants/N{index:03d}/screenings",
            {**match_patient(), "site": "S01", "on": SCREEN_DAY.isoformat()},
        ),
        "randomize": (
            "POST",
            f"/api/v1/participants/R{index:03d}/randomization",
            {"weight_kg": 70, "on": SCREEN_DAY.isoformat()},
        ),
        "labs": (
            "POST",
            f"{one}/labs",
            {"collected_on": _day(90), "values": [{"analyte": "inr", "value": 1.2, "unit": "1"}]},
        ),
        "visit": ("POST", f"{one}/visits", {"visit": "d90", "visit_date": _day(90)}),
        "adverse event": (
            "POST",
            f"{one}/adverse-events",
            {
                "term": "Ascites",
                "system_organ_class": "Gastrointestinal disorders",
                "grade": 2,
                "serious": False,
                "related": False,
                "liver_related": True,
                "outcome": "recovered",
                "start_date": _day(30),
            },
        ),
        "outcome": (
            "POST",
            f"{one}/outcomes",
            {"kind": "infection", "occurred_on": _day(40), "detail": "pneumonia", "severe": True},
        ),
        "questionnaire": (
            "POST",
            f"{one}/questionnaires",
            {"instrument": "EQ-5D-5L", "answered_on": _day(90), "answers": {"vas": 70}},
        ),
        "discontinuation": (
            "POST",
            f"{one}/discontinuations",
            {"discontinued_on": _day(120), "reason": "adverse event"},
        ),
        "withdrawal": (
            "POST",
            "/api/v1/participants/W001/withdrawals",
            {"withdrawn_on": _day(100), "reason": "withdrawal by subject"},
        ),
        "dose": (
            "POST",
            f"/api/v1/participants/{treated}/doses",
            {"dose_number": 1, "given_on": _day(7), "amount": 8.0e8, "unit": "cells"},
        ),
        "schedule": ("GET", "/api/v1/schedule?on=2026-01-24", None),
        "audit": ("GET", "/api/v1/audit/verification", None),
        "sdtm export": ("GET", "/api/v1/exports/sdtm", None),
        "report": ("GET", "/api/v1/report", None),
    }


# Columns: investigator S01, coordinator S02, monitor, statistician, unblinded statistician,
# DSMB, admin. Clinical writes on an S01 participant: the S02 coordinator gets 404 (the
# participant does not exist for them), roles without clinical rights 403.
WRITE = (201, 404, 403, 403, 403, 403, 403)
EXPECTED = {
    "trial": (200, 200, 200, 200, 200, 200, 200),
    "list": (200, 200, 200, 403, 403, 403, 200),
    "get own (S01)": (200, 404, 200, 403, 403, 403, 200),
    "get other (S02)": (404, 200, 200, 403, 403, 403, 200),
    "screen": (201, 403, 403, 403, 403, 403, 403),  # a new participant at S01
    "randomize": WRITE,
    "labs": WRITE,
    "visit": WRITE,
    "adverse event": WRITE,
    "outcome": WRITE,
    "questionnaire": WRITE,
    "discontinuation": WRITE,
    "withdrawal": WRITE,
    "dose": WRITE,
    "schedule": (200, 200, 200, 403, 403, 403, 200),
    "audit": (403, 403, 200, 403, 403, 403, 200),
    "sdtm export": (403, 403, 403, 403, 200, 200, 200),
    "report": (403, 403, 403, 403, 200, 200, 200),
}


def test_every_route_every_role_own_and_other_site(
    api: tuple[TestClient, dict[str, dict[str, str]], str],
) -> None:
    client, headers, treated = api
    seen: dict[tuple[str, str], int] = {}
    for index, role in enumerate(ROLES):
        for route, (method, path, body) in _requests(index, treated).items():
            response = client.request(method, path, json=body, headers=headers[role])
            seen[route, role] = response.status_code
    assert set(EXPECTED) == set(_requests(0, treated))
    expected = {(r, role): EXPECTED[r][i] for r in EXPECTED for i, role in enumerate(ROLES)}
    wrong = {k: (seen[k], v) for k, v in expected.items() if seen[k] != v}
    assert not wrong, f"(route, role): (got, expected) {wrong}"


def test_the_document_lists_no_route_the_matrix_leaves_out(
    api: tuple[TestClient, dict[str, dict[str, str]], str],
) -> None:
    """A new route must be added to the matrix: its paths are the document's, less the public
    ones and the sign-in routes (tested in test_signin.py)."""
    client, _, treated = api
    document = client.get("/api/v1/openapi.json").json()
    declared = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if path not in ("/api/v1/health", "/api/v1/auth/login", "/api/v1/auth/logout")
    }
    covered = set()
    for method, path, _ in _requests(0, treated).values():
        path = path.split("?")[0]
        for code in ("P001", "P002", "W001", treated, "N000", "R000"):
            path = path.replace(f"/participants/{code}", "/participants/{code}")
        covered.add((method, path))
    assert declared == covered
