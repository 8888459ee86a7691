"""Browser sign-in on SQLite and PostgreSQL: the session cookie, CSRF, the idle and absolute
timeouts, logout, the lockout over HTTP and the TOTP second factor (RFC 6238).

Where the expected values come from: the cookie's attributes (HttpOnly, SameSite=Strict, Path=/,
Secure behind TLS), the header name ``X-CSRF-Token``, the timeouts (30 minutes idle, 12 hours
absolute) and the statuses (401 for a refused login or an ended session, 403 for a missing or
wrong CSRF token) are the specification of browser sign-in in docs/server.md; the lockout after
5 failures is ``hepatrial.service.auth.MAX_FAILURES``; TOTP codes are computed independently by
``pyotp`` (RFC 6238: 6 digits, 30-second steps) from the secret shown at enrolment.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator

import pyotp
import pytest
from _store_support import ADMIN, COORDINATOR_S02, match_patient
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from hepatrial.cli.main import app
from hepatrial.exceptions import NotAllowedError
from hepatrial.server.app import create_app
from hepatrial.server.settings import Settings
from hepatrial.service.auth import confirm_totp, create_token, set_password, start_totp
from hepatrial.service.sessions import session_user, sign_in
from hepatrial.store import AuthEvent, open_session

pytest_plugins = ["_store_support"]

PASSWORD = "correct horse battery staple"
COOKIE = "hepatrial_session"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
TRIAL = "/api/v1/trial"


@pytest.fixture
def url(trial_url: str) -> str:
    """The MATCH store with passwords for the S02 coordinator (no second factor needed: bound
    to a site) and the admin (a second factor needed: sees allocations at every site)."""
    with open_session(trial_url) as session:
        for user_id in (COORDINATOR_S02, ADMIN):
            set_password(session, user_id=user_id, password=PASSWORD, user=ADMIN)
    return trial_url


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    yield TestClient(create_app(Settings(db=url)))


def _login(client: TestClient, user_id: str = COORDINATOR_S02, **extra: str) -> str:
    """Sign in; the CSRF token of the new session."""
    answer = client.post(LOGIN, json={"user_id": user_id, "password": PASSWORD, **extra})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["csrf_token"]
    return token


def _screen_s02() -> dict[str, object]:
    return {**match_patient(), "site": "S02", "on": "2026-01-10"}


def _events(url: str, user_id: str) -> list[str]:
    with open_session(url) as session:
        query = select(AuthEvent.kind).where(AuthEvent.user_id == user_id).order_by(AuthEvent.id)
        return list(session.execute(query).scalars())


def test_login_sets_an_httponly_samesite_strict_cookie(client: TestClient, url: str) -> None:
    answer = client.post(LOGIN, json={"user_id": COORDINATOR_S02, "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=")
    assert {"httponly", "path", "samesite"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    body = answer.json()
    assert body["user_id"] == COORDINATOR_S02 and body["idle_timeout_minutes"] == 30
    assert len(body["csrf_token"]) == 64  # HMAC-SHA256 in hexadecimal
    assert client.get(TRIAL).status_code == 200  # the cookie authenticates a read
    assert _events(url, COORDINATOR_S02)[-1] == "login"


def test_the_cookie_is_secure_behind_tls(url: str) -> None:
    client = TestClient(create_app(Settings(db=url, behind_tls=True)))
    answer = client.post(LOGIN, json={"user_id": COORDINATOR_S02, "password": PASSWORD})
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_refused_login_does_not_say_whether_the_user_exists(client: TestClient) -> None:
    wrong = client.post(LOGIN, json={"user_id": COORDINATOR_S02, "password": "wrong password!"})
    unknown = client.post(LOGIN, json={"user_id": "nobody-9", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_five_failures_lock_the_account_over_http(client: TestClient, url: str) -> None:
    for _ in range(5):  # MAX_FAILURES
        wrong = {"user_id": COORDINATOR_S02, "password": "wrong password!"}
        assert client.post(LOGIN, json=wrong).status_code == 401
    right = client.post(LOGIN, json={"user_id": COORDINATOR_S02, "password": PASSWORD})
    assert right.status_code == 401  # locked for 15 minutes (LOCKOUT), the same answer
    assert _events(url, COORDINATOR_S02)[-6:] == ["login_failed"] * 5 + ["lockout"]


def test_the_idle_and_absolute_timeouts(url: str) -> None:
    """30 minutes without a request ends a session; 12 hours end it whatever the activity."""
    start = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    minutes = dt.timedelta(minutes=1)
    with open_session(url) as session:
        idle = sign_in(session, user_id=COORDINATOR_S02, password=PASSWORD, now=start)
        assert session_user(session, idle.token, now=start + 29 * minutes).id == COORDINATOR_S02
        assert session_user(session, idle.token, now=start + 58 * minutes)  # seen at 29
        with pytest.raises(NotAllowedError):
            session_user(session, idle.token, now=start + 88 * minutes)  # 30 idle since 58
        busy = sign_in(session, user_id=COORDINATOR_S02, password=PASSWORD, now=start)
        for seen in range(20, 12 * 60, 20):  # a request every 20 minutes
            session_user(session, busy.token, now=start + seen * minutes)
        with pytest.raises(NotAllowedError):
            session_user(session, busy.token, now=start + 12 * 60 * minutes)


def test_logout_ends_the_session_and_everywhere_ends_all(url: str) -> None:
    first, second, third = (TestClient(create_app(Settings(db=url))) for _ in range(3))
    csrf = _login(first)
    token = first.cookies[COOKIE]
    answer = first.post(LOGOUT, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and answer.json() == {"sessions_ended": 1}
    first.cookies.set(COOKIE, token)  # the browser forgot it; a thief replays it
    assert first.get(TRIAL).status_code == 401
    _login(second)
    csrf = _login(third)
    answer = third.post(LOGOUT, params={"everywhere": "true"}, headers={"X-CSRF-Token": csrf})
    assert answer.json() == {"sessions_ended": 2}
    assert second.get(TRIAL).status_code == 401
    assert _events(url, COORDINATOR_S02)[-3:] == ["login", "login", "logout"]


def test_csrf_token_required_by_cookie_not_by_bearer(client: TestClient, url: str) -> None:
    """A screening (POST) by the S02 coordinator: 201 when it may go ahead (docs/server.md)."""
    csrf = _login(client)
    screening = "/api/v1/participants/{}/screenings"
    missing = client.post(screening.format("N001"), json=_screen_s02())
    wrong = client.post(
        screening.format("N001"), json=_screen_s02(), headers={"X-CSRF-Token": "0" * 64}
    )
    assert missing.status_code == wrong.status_code == 403
    assert missing.headers["content-type"] == "application/problem+json"
    right = client.post(
        screening.format("N001"), json=_screen_s02(), headers={"X-CSRF-Token": csrf}
    )
    assert right.status_code == 201
    with open_session(url) as session:
        bearer = create_token(session, user_id=COORDINATOR_S02, user=ADMIN).token
    integration = TestClient(create_app(Settings(db=url)))
    answer = integration.post(
        screening.format("N002"),
        json=_screen_s02(),
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert answer.status_code == 201


def _enrol_admin(url: str) -> pyotp.TOTP:
    """Enrol the admin and confirm with the previous step's code (one step of drift is
    allowed), so that the current code is still unused."""
    with open_session(url) as session:
        enrolment = start_totp(session, user_id=ADMIN, user=ADMIN)
        totp = pyotp.TOTP(enrolment.secret)
        previous = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
        confirm_totp(session, user_id=ADMIN, code=totp.at(previous))
    assert enrolment.uri.startswith("otpauth://totp/hepatrial:adm-1?secret=")
    return totp


def test_an_admin_needs_a_fresh_totp_code(client: TestClient, url: str) -> None:
    """Without enrolment, without a code and with a replayed code: refused (401)."""
    admin = {"user_id": ADMIN, "password": PASSWORD}
    assert client.post(LOGIN, json=admin).status_code == 401  # not enrolled
    totp = _enrol_admin(url)
    assert client.post(LOGIN, json=admin).status_code == 401  # no code
    code = totp.now()
    assert client.post(LOGIN, json={**admin, "totp": code}).status_code == 200
    assert client.post(LOGIN, json={**admin, "totp": code}).status_code == 401  # replayed
    assert _events(url, ADMIN)[-4:] == ["login_failed", "login_failed", "login", "login_failed"]


def test_the_totp_secret_is_not_in_the_database(client: TestClient, url: str) -> None:
    """Every value of every table, after enrolment and a login, holds neither the base32
    secret nor its bytes (raw or in hexadecimal)."""
    totp = _enrol_admin(url)
    _login(client, ADMIN, totp=totp.now())
    raw = base64.b32decode(totp.secret)
    with open_session(url) as session:
        tables = MetaData()
        tables.reflect(session.connection())
        values = [
            value
            for table in tables.sorted_tables
            for row in session.execute(select(table))
            for value in row
        ]
    assert len(values) > 100
    for value in values:
        if isinstance(value, bytes | memoryview):
            assert raw not in bytes(value)
        else:
            text = str(value)
            assert totp.secret not in text.upper() and raw.hex() not in text.lower()


def test_the_openapi_document_lists_the_sign_in_routes(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "security" not in paths[LOGIN]["post"]  # login needs no authentication
    assert paths[LOGOUT]["post"]["security"]


def test_the_cli_enrols_and_confirms_a_second_factor(client: TestClient, url: str) -> None:
    """``hepatrial user totp`` prints the URI and secret once; ``totp-confirm`` takes a code."""
    enrol = CliRunner().invoke(app, ["user", "totp", ADMIN, "--user", ADMIN, "--db", url])
    assert enrol.exit_code == 0, enrol.output
    secret = next(
        line.split()[1] for line in enrol.output.splitlines() if line.startswith("secret")
    )
    assert f"otpauth://totp/hepatrial:{ADMIN}?secret={secret}" in enrol.output
    totp = pyotp.TOTP(secret)
    previous = totp.at(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30))
    confirm = ["user", "totp-confirm", ADMIN, "--code", previous, "--db", url]
    assert CliRunner().invoke(app, confirm).exit_code == 0
    _login(client, ADMIN, totp=totp.now())
