"""A process killed (SIGKILL) inside a randomization leaves a complete record or none.

The worker runs ``tests/_workers.py`` as a separate process. In the first test it pauses inside
the transaction, after the randomization, its planned doses and their audit entries are written
and before ``COMMIT`` (``HEPATRIAL_PAUSE_BEFORE_COMMIT``); it is killed there. In the second
it randomizes participant after participant and is killed at an arbitrary moment once five are
stored (it holds before the last one, so it cannot finish first however fast it runs). Afterwards
every stored randomization has its doses and audit entries, the audit trail verifies, and a
direct SQL edit makes ``hepatrial audit verify`` fail naming the edited row.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _store_support import INVESTIGATOR, SCREEN_DAY, build_trial, screen_codes
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from hepatrial.cli.main import app
from hepatrial.service import randomize, verify_allocations
from hepatrial.store import (
    AuditEntry,
    Dose,
    Randomization,
    make_engine,
    open_session,
    verify_audit,
)
from hepatrial.store.audit import PAUSE_VARIABLE

pytest_plugins = ["_store_support"]

WORKER = Path(__file__).with_name("_workers.py")


def _start(
    url: str, codes: list[str], pause: float | None, hold_before_last: bool = False
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_VARIABLE}
    if pause is not None:
        env[PAUSE_VARIABLE] = str(pause)
    hold = ["--hold-before-last"] if hold_before_last else []
    return subprocess.Popen(
        [sys.executable, str(WORKER), *hold, url, *codes],
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_pause(process: subprocess.Popen[str]) -> None:
    assert process.stderr is not None
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stderr.readline()
        if "pausing" in line:
            return
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail("the worker never reached the pause inside the transaction")


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    for stream in (process.stdin, process.stderr):
        if stream is not None:
            stream.close()
    assert process.returncode == -signal.SIGKILL


def _check_complete(url: str) -> int:
    """Every randomization has its planned doses and audit rows; return how many there are."""
    with open_session(url) as session:
        rows = session.execute(select(Randomization)).scalars().all()
        for row in rows:
            doses = session.execute(
                select(func.count())
                .select_from(Dose)
                .where(Dose.participant_id == row.participant_id)
            ).scalar_one()
            assert doses == (1 if row.arm == "macrophage" else 0), row.participant_id
            logged = session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.table_name == "randomizations",
                    AuditEntry.record_id == str(row.id),
                )
            ).scalar_one()
            assert logged == 1, row.participant_id
        assert sorted(r.sequence_number for r in rows) == list(range(1, len(rows) + 1))
        report = verify_audit(session)
        assert report.ok, report
        assert verify_allocations(session).ok
        return len(rows)


@pytest.mark.slow
def test_kill_inside_the_transaction_leaves_nothing(db_url: str) -> None:
    build_trial(db_url, "match")
    screen_codes(db_url, ["K001"])
    entries_before = _audit_count(db_url)
    process = _start(db_url, ["K001"], pause=60)
    _wait_for_pause(process)
    _kill(process)
    assert _check_complete(db_url) == 0
    assert _audit_count(db_url) == entries_before
    with open_session(db_url) as session:  # the store is usable, the participant still free
        result = randomize(
            session,
            participant_id="K001",
            user=INVESTIGATOR,
            randomized_on=SCREEN_DAY,
            weight_kg=70,
        )
    assert result.sequence_number == 1 and _check_complete(db_url) == 1
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify", "--db", db_url]).exit_code == 0
    with make_engine(db_url).begin() as connection:
        connection.execute(
            text("UPDATE randomizations SET arm = 'tampered' WHERE participant_id = 'K001'")
        )
        # PostgreSQL does not give back the id consumed by the killed transaction
        record = connection.execute(text("SELECT id FROM randomizations")).scalar_one()
    outcome = runner.invoke(app, ["audit", "verify", "--db", db_url])
    assert outcome.exit_code == 1
    assert f"randomizations id={record}" in outcome.output
    assert "arm is 'tampered' in the table" in outcome.output


@pytest.mark.slow
def test_kill_at_an_arbitrary_moment(db_url: str) -> None:
    build_trial(db_url, "match")
    codes = [f"M{n:03d}" for n in range(1, 41)]
    screen_codes(db_url, codes)
    # The worker waits before the last participant until its standard input closes, which
    # happens only when it is killed: however slowly this loop runs, the kill lands before the
    # last randomization (usually inside one of the others).
    process = _start(db_url, codes, pause=None, hold_before_last=True)
    deadline = time.time() + 120
    while _randomized(db_url) < 5 and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    _kill(process)
    done = _check_complete(db_url)
    assert 5 <= done < len(codes)


def _audit_count(url: str) -> int:
    with open_session(url) as session:
        return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _randomized(url: str) -> int:
    with open_session(url) as session:
        return int(session.execute(select(func.count()).select_from(Randomization)).scalar_one())
