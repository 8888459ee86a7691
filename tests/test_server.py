"""The REST API on SQLite and PostgreSQL: authentication, site scoping, problem details, and
idempotent randomization retries (the full authorization matrix is test_server_authorization.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

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
STAT = "stat-1"
ROLES = {
    "investigator S01": INV_S1,
    "coordinator S02": COORDINATOR_S02,
    "monitor": MONITOR,
    "statistician": STAT,
    "admin": ADMIN,
}


@pytest.fixture
def api(trial_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """A MATCH store with P001 randomized at S01 and P002 at S02, a token for every role."""
    with open_session(trial_url) as session:
        add_user(session, user_id=INV_S1, role="investigator", site="S01", user=ADMIN)
        add_user(session, user_id=STAT, role="statistician", user=ADMIN)
        for code, site, user in (("P001", "S01", INV_S1), ("P002", "S02", COORDINATOR_S02)):
            screen_participant(
                session,
                participant_id=code,
                site=site,
                patient=match_patient(),
                user=user,
                on=SCREEN_DAY,
            )
            randomize(
                session, participant_id=code, user=user, randomized_on=SCREEN_DAY, weight_kg=70
            )
        headers = {
            role: {
                "Authorization": "Bearer " + create_token(session, user_id=user, user=ADMIN).token
            }
            for role, user in ROLES.items()
        }
    client = TestClient(create_app(Settings(db=trial_url)), raise_server_exceptions=True)
    yield client, headers


OWN, OTHER = "P001", "P002"  # S01 and S02; site-bound users: inv-s1 (S01), crd-2 (S02)


def _day(n: int) -> str:
    return (SCREEN_DAY + dt.timedelta(days=n)).isoformat()


def test_other_sites_participants_do_not_exist(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = api
    listed = client.get("/api/v1/participants", headers=headers["coordinator S02"]).json()
    assert [p["code"] for p in listed["items"]] == [OTHER] and listed["total"] == 1
    other = client.get(f"/api/v1/participants/{OWN}", headers=headers["coordinator S02"])
    unknown = client.get("/api/v1/participants/Z999", headers=headers["coordinator S02"])
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"].replace(OWN, "X") == unknown.json()["detail"].replace("Z999", "X")
    schedule = client.get("/api/v1/schedule?on=2026-01-24", headers=headers["coordinator S02"])
    assert {i["participant"] for i in schedule.json()} == {OTHER}


def test_every_route_but_health_login_and_the_document_needs_a_token(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, _ = api
    assert client.get("/api/v1/health").status_code == 200
    document = client.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        if path in ("/api/v1/health", "/api/v1/auth/login"):  # login: tests/test_signin.py
            continue
        for method in operations:
            url = path.replace("{code}", OWN)
            response = client.request(method.upper(), url, json={})
            assert response.status_code == 401, (method, path)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
    bad = client.get("/api/v1/trial", headers={"Authorization": "Bearer htk_forged"})
    assert bad.status_code == 401


def test_refusals_are_problem_details_with_the_edit_checks(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = api
    response = client.post(
        f"/api/v1/participants/{OWN}/labs",
        json={
            "collected_on": _day(90),
            "values": [
                {"analyte": "creatinine", "value": 88, "unit": "mg/dL"},
                {"analyte": "bilirubin", "value": 1.8, "unit": "umol/L"},
            ],
        },
        headers=headers["investigator S01"],
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("/invalid-record")
    rules = {(p["field"], p["rule"], p["severity"]) for p in problem["problems"]}
    assert rules == {
        ("creatinine", "lab.implausible", "hard"),
        ("bilirubin", "lab.unit_mix_up", "soft"),
    }
    confirm = client.post(
        f"/api/v1/participants/{OWN}/labs",
        json={
            "collected_on": _day(91),
            "values": [{"analyte": "bilirubin", "value": 1.8, "unit": "umol/L"}],
        },
        headers=headers["investigator S01"],
    )
    assert confirm.status_code == 422 and confirm.json()["type"].endswith("/confirmation-needed")
    unknown_key = client.post(
        f"/api/v1/participants/{OWN}/visits",
        json={"visit": "d90", "visit_date": _day(90), "colour": "red"},
        headers=headers["investigator S01"],
    )
    assert unknown_key.status_code == 422 and unknown_key.json()["problems"][0]["field"] == "colour"


def test_a_retried_randomization_returns_the_first_result(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = api
    mine = headers["investigator S01"]
    screened = client.post(
        "/api/v1/participants/P010/screenings",
        json={**match_patient(), "site": "S01", "on": SCREEN_DAY.isoformat()},
        headers=mine,
    )
    assert screened.status_code == 201 and screened.json()["eligible"]
    body = {"weight_kg": 70, "on": SCREEN_DAY.isoformat()}
    first = client.post(
        "/api/v1/participants/P010/randomization",
        json=body,
        headers={**mine, "Idempotency-Key": "k-1"},
    )
    retry = client.post(
        "/api/v1/participants/P010/randomization",
        json=body,
        headers={**mine, "Idempotency-Key": "k-1"},
    )
    assert first.status_code == 201 and retry.status_code == 201
    assert retry.json() == first.json() and first.json()["sequence_number"] == 3
    again = client.post("/api/v1/participants/P010/randomization", json=body, headers=mine)
    assert again.status_code == 409 and "already randomized" in again.json()["detail"]
    reused = client.post(
        "/api/v1/participants/P010/randomization",
        json={**body, "weight_kg": 71},
        headers={**mine, "Idempotency-Key": "k-1"},
    )
    assert reused.status_code == 409 and "another request" in reused.json()["detail"]


def test_the_statistician_is_blinded_and_may_not_list_participants() -> None:
    """The statistician may not list participants at all; sites and monitors see arms."""
    from hepatrial.service import policy
    from hepatrial.store import User

    statistician = User(id="s", role="statistician", site_code=None, active=True)
    assert not policy.sees_allocation(statistician)
    assert not policy.allowed(statistician, "participant.read")


def test_insecure_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="without TLS"):
        Settings(host="0.0.0.0")
    assert Settings(host="0.0.0.0", behind_tls=True).host == "0.0.0.0"
    assert Settings(host="0.0.0.0", development=True).development


def test_new_roles_follow_the_policy(trial_url: str) -> None:
    """The unblinded statistician and the DSMB (migration 0005) are stored and see arms; the
    blinded statistician does not, and none of them enters clinical data."""
    from hepatrial.service import policy
    from hepatrial.store import User

    with open_session(trial_url) as session:
        add_user(session, user_id="ustat-1", role="unblinded_statistician", user=ADMIN)
        add_user(session, user_id="dsmb-1", role="dsmb", user=ADMIN)
        roles = {u: session.get(User, u).role for u in ("ustat-1", "dsmb-1")}  # type: ignore[union-attr]
    assert roles == {"ustat-1": "unblinded_statistician", "dsmb-1": "dsmb"}
    for role, sees in (("statistician", False), ("unblinded_statistician", True), ("dsmb", True)):
        user = User(id="u", role=role, site_code=None, active=True)
        assert policy.sees_allocation(user) is sees
        assert policy.allowed(user, "export.read") is sees
        assert not policy.allowed(user, "record.write")
