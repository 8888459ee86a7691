"""The statisticians' downloads over HTTP: who may fetch them, and what they hold."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from _store_support import ADMIN, INVESTIGATOR, MONITOR, enrol
from fastapi.testclient import TestClient

from hepatrial.server.app import create_app
from hepatrial.server.settings import Settings
from hepatrial.service import add_user
from hepatrial.service.auth import create_token
from hepatrial.store import open_session

pytest_plugins = ["_store_support"]

STAT, UNBLINDED, DSMB = "stat-1", "ustat-1", "dsmb-1"
ROLES = {
    "investigator": INVESTIGATOR,
    "monitor": MONITOR,
    "statistician": STAT,
    "unblinded statistician": UNBLINDED,
    "dsmb": DSMB,
    "admin": ADMIN,
}
# The exports and the report carry arms: the blinded statistician may not have them.
ALLOWED = {
    "investigator": 403,
    "monitor": 403,
    "statistician": 403,
    "unblinded statistician": 200,
    "dsmb": 200,
    "admin": 200,
}


@pytest.fixture
def client(trial_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """A MATCH store with six randomized participants and a token for six roles."""
    with open_session(trial_url) as session:
        add_user(session, user_id=STAT, role="statistician", user=ADMIN)
        add_user(session, user_id=UNBLINDED, role="unblinded_statistician", user=ADMIN)
        add_user(session, user_id=DSMB, role="dsmb", user=ADMIN)
        for n in range(6):
            enrol(session, f"P{n:03d}")
        headers = {
            role: {"Authorization": f"Bearer {create_token(session, user_id=u, user=ADMIN).token}"}
            for role, u in ROLES.items()
        }
    yield TestClient(create_app(Settings(db=trial_url))), headers


def test_the_sdtm_export_is_a_zip_of_the_domains(
    client: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    http, headers = client
    seen = {r: http.get("/api/v1/exports/sdtm", headers=h).status_code for r, h in headers.items()}
    assert seen == ALLOWED
    response = http.get("/api/v1/exports/sdtm", headers=headers["unblinded statistician"])
    assert response.headers["content-type"] == "application/zip"
    assert "sdtm.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        demographics = archive.read("dm.csv").decode()
    assert names == {f"{d}.csv" for d in ("dm", "lb", "ae", "ex", "ds", "qs", "ce")}
    assert demographics.startswith("STUDYID,") and demographics.count("\n") == 7
    assert http.get("/api/v1/exports/sdtm").status_code == 401


def test_the_report_is_a_self_contained_page(
    client: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    http, headers = client
    responses = {r: http.get("/api/v1/report", headers=h) for r, h in headers.items()}
    assert {r: response.status_code for r, response in responses.items()} == ALLOWED
    assert responses["monitor"].headers["content-type"] == "application/problem+json"
    response = responses["unblinded statistician"]
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    assert "<script src=" not in response.text
    assert http.get("/api/v1/report").status_code == 401
