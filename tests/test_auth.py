"""Signing in, on SQLite and PostgreSQL: Argon2id passwords, lockout, API tokens, and the
sign-in events in the audit trail. The limits (12 characters, 5 failures, 15 minutes) are the
module's constants; the Argon2id parameters are argon2-cffi's defaults (RFC 9106). The user
signing in is the coordinator bound to S02, who needs no second factor (tests/test_signin.py
covers TOTP)."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from _store_support import ADMIN, COORDINATOR_S02, MONITOR
from sqlalchemy import select, text

from hepatrial.exceptions import InvalidRecordError, NotAllowedError
from hepatrial.service.auth import (
    LOCKOUT,
    MAX_FAILURES,
    authenticate,
    create_token,
    record_logout,
    revoke_token,
    set_password,
    token_user,
)
from hepatrial.store import ApiToken, AuditEntry, AuthEvent, Credential, StoreSession, verify_audit
from hepatrial.store.base import utc_now

pytest_plugins = ["_store_support"]

PASSWORD = "correct horse battery staple"


def _events(session: StoreSession, user_id: str) -> list[str]:
    return list(
        session.execute(
            select(AuthEvent.kind).where(AuthEvent.user_id == user_id).order_by(AuthEvent.id)
        ).scalars()
    )


def test_the_password_is_stored_as_an_argon2id_hash_only(session: StoreSession) -> None:
    set_password(session, user_id=COORDINATOR_S02, password=PASSWORD, user=ADMIN)
    stored = session.execute(select(Credential.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    logged = " ".join(str(e.after) for e in session.execute(select(AuditEntry)).scalars())
    assert stored not in logged and PASSWORD not in logged
    assert authenticate(session, user_id=COORDINATOR_S02, password=PASSWORD).id == COORDINATOR_S02
    assert _events(session, COORDINATOR_S02) == ["password_set", "login"]
    assert verify_audit(session).ok


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "password.too_short"),
        (f"my {COORDINATOR_S02} password", "password.contains_user_id"),
    ],
)
def test_weak_passwords_are_refused(session: StoreSession, password: str, rule: str) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        set_password(session, user_id=COORDINATOR_S02, password=password, user=ADMIN)
    assert [p.rule for p in refused.value.problems] == [rule]


def test_only_an_admin_sets_another_users_password(session: StoreSession) -> None:
    with pytest.raises(NotAllowedError):
        set_password(session, user_id=COORDINATOR_S02, password=PASSWORD, user=MONITOR)
    set_password(session, user_id=MONITOR, password=PASSWORD, user=MONITOR)  # one's own


def test_wrong_unknown_and_passwordless_users_get_the_same_answer(session: StoreSession) -> None:
    set_password(session, user_id=COORDINATOR_S02, password=PASSWORD, user=ADMIN)
    answers = set()
    for user_id, password in ((COORDINATOR_S02, "wrong password!"), ("nobody-1", PASSWORD)):
        with pytest.raises(NotAllowedError) as refused:
            authenticate(session, user_id=user_id, password=password)
        answers.add(str(refused.value))
    with pytest.raises(NotAllowedError) as refused:
        authenticate(session, user_id=MONITOR, password=PASSWORD)  # no password set
    answers.add(str(refused.value))
    assert len(answers) == 1
    assert _events(session, "(unknown user id)") == ["login_failed"]


def test_repeated_failures_lock_the_account_until_the_lockout_ends(session: StoreSession) -> None:
    set_password(session, user_id=COORDINATOR_S02, password=PASSWORD, user=ADMIN)
    now = utc_now()
    for _ in range(MAX_FAILURES):
        with pytest.raises(NotAllowedError):
            authenticate(session, user_id=COORDINATOR_S02, password="wrong password!", now=now)
    with pytest.raises(NotAllowedError):  # the right password while locked
        authenticate(session, user_id=COORDINATOR_S02, password=PASSWORD, now=now)
    later = now + LOCKOUT + dt.timedelta(seconds=1)
    assert authenticate(session, user_id=COORDINATOR_S02, password=PASSWORD, now=later)
    kinds = _events(session, COORDINATOR_S02)
    assert kinds.count("login_failed") == MAX_FAILURES and kinds.count("lockout") == 1
    assert kinds[-1] == "login"
    record_logout(session, user_id=COORDINATOR_S02)
    assert _events(session, COORDINATOR_S02)[-1] == "logout"


def test_tokens_are_hashed_expire_and_can_be_revoked(session: StoreSession) -> None:
    issued = create_token(session, user_id=COORDINATOR_S02, user=ADMIN, expires_days=30)
    stored = session.execute(select(ApiToken.token_sha256)).scalar_one()
    assert stored == hashlib.sha256(issued.token.encode()).hexdigest()
    assert token_user(session, issued.token).id == COORDINATOR_S02
    with pytest.raises(NotAllowedError):
        token_user(session, issued.token, now=utc_now() + dt.timedelta(days=31))
    with pytest.raises(NotAllowedError):
        token_user(session, issued.token + "x")
    revoke_token(session, token_id=issued.token_id, user=ADMIN)
    with pytest.raises(NotAllowedError):
        token_user(session, issued.token)
    with pytest.raises(NotAllowedError):
        create_token(session, user_id=COORDINATOR_S02, user=COORDINATOR_S02)


def test_a_copied_database_holds_no_usable_secret(session: StoreSession, trial_url: str) -> None:
    """Neither the password nor a token appears anywhere in the database."""
    set_password(session, user_id=COORDINATOR_S02, password=PASSWORD, user=ADMIN)
    issued = create_token(session, user_id=COORDINATOR_S02, user=ADMIN)
    dump = []
    for table in ("credentials", "api_tokens", "auth_events", "audit_log"):
        for row in session.execute(text(f"SELECT * FROM {table}")):
            dump.append(" ".join(str(v) for v in row))
    joined = "\n".join(dump)
    assert PASSWORD not in joined and issued.token not in joined


def test_the_cli_sets_a_password_from_standard_input(trial_url: str, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("hepatrial")),
        "user",
        "password",
        COORDINATOR_S02,
    ]
    run = subprocess.run(
        [*command, "--user", ADMIN, "--db", trial_url],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    token = subprocess.run(
        [command[0], "token", "create", COORDINATOR_S02, "--user", ADMIN, "--db", trial_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert token.returncode == 0, token.stderr
    assert "htk_" in token.stdout and "shown once" in token.stdout
