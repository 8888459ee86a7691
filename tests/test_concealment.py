"""Allocation concealment against a stolen database: the seed is stored only sealed with a key
kept outside the database, the store's files are private, and a copy of the database alone
predicts allocations no better than a wrong guess of the seed.

The attack is the one that broke concealment before sealing: read every value of the copied
database and use it as the seed of the trial's own allocator, predicting each allocation from
the allocations before it. The trial is MSC-ACLF with simple 1:1 randomization, so that a wrong
seed's predictions are fair coin flips (blocks would make some allocations predictable from the
history alone, whatever the seed). With the true seed the attack predicts all 100 (the check
that it works); with a wrong seed the number right is Binomial(100, 1/2), and 75 or more has
probability 2.8e-7 (scipy.stats.binom.sf(74, 100, 0.5)), about 6e-4 over the 2,100 values a
store of 100 participants holds (the best of them predicted 68 in a trial run).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from _store_support import ADMIN, INVESTIGATOR, SCREEN_DAY, SEED, msc_patient
from sqlalchemy import select, text

from hepatrial.allocation import Allocator, PriorAssignment
from hepatrial.exceptions import NotAllowedError, NotFoundError, SealingKeyError
from hepatrial.protocol.loader import load_protocol
from hepatrial.protocol.models import Allocation, Protocol
from hepatrial.service import (
    add_site,
    add_user,
    create_trial,
    randomize,
    screen_participant,
    seal_stored_seed,
    verify_allocations,
)
from hepatrial.store import (
    AllocationSecret,
    Randomization,
    Trial,
    dispose_engine,
    init_db,
    make_engine,
    open_session,
    verify_audit,
)
from hepatrial.store.sealing import key_path

pytest_plugins = ["_store_support"]

N = 100
BOUND = 75


def _simple_msc_aclf() -> Protocol:
    """The MSC-ACLF protocol with simple randomization instead of stratified blocks."""
    protocol = load_protocol("msc-aclf")
    simple = Allocation(method="simple")
    return protocol.model_copy(update={"allocation": simple})


def _build(url: str) -> None:
    init_db(url)
    with open_session(url) as session:
        create_trial(session, _simple_msc_aclf(), seed=SEED, admin=ADMIN)
        add_site(session, code="S01", name="Beijing", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
        for n in range(N):
            code = f"C{n:03d}"
            screen_participant(
                session,
                participant_id=code,
                site="S01",
                patient=msc_patient(high_meld=n % 3 == 0),
                user=INVESTIGATOR,
                on=SCREEN_DAY,
            )
            randomize(
                session,
                participant_id=code,
                user=INVESTIGATOR,
                randomized_on=SCREEN_DAY,
                weight_kg=60.0,
            )


@pytest.fixture
def store(db_url: str) -> str:
    _build(db_url)
    return db_url


def _history(url: str) -> list[PriorAssignment]:
    with open_session(url) as session:
        rows = session.execute(
            select(
                Randomization.sequence_number, Randomization.arm, Randomization.factors
            ).order_by(Randomization.sequence_number)
        ).all()
    return [PriorAssignment(number, arm, dict(factors)) for number, arm, factors in rows]


def _predicted(allocator: Allocator, seed: bytes, history: list[PriorAssignment]) -> int:
    """How many allocations ``seed`` predicts, each from the allocations before it."""
    return sum(
        allocator.assign(seed=seed, history=history[:i], factors=prior.factors).arm == prior.arm
        for i, prior in enumerate(history)
    )


def _every_value(url: str) -> list[bytes]:
    """Every non-empty value of every table, as an attacker holding the database reads it."""
    engine = make_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            names = connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        else:
            names = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        values: list[bytes] = []
        for (table,) in names.all():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def _candidates(values: list[bytes]) -> set[bytes]:
    """Each value as raw bytes, and decoded from hexadecimal where it is hexadecimal text."""
    found = {v for v in values if len(v) >= 16}
    for value in values:
        try:
            decoded = bytes.fromhex(value.decode())
        except ValueError:
            continue
        if len(decoded) >= 16:
            found.add(decoded)
    return found


def test_the_attack_works_with_the_true_seed(store: str) -> None:
    allocator = Allocator.from_protocol(_simple_msc_aclf())
    assert _predicted(allocator, SEED, _history(store)) == N


def test_a_stolen_database_predicts_no_allocation_better_than_chance(store: str) -> None:
    allocator = Allocator.from_protocol(_simple_msc_aclf())
    history = _history(store)
    candidates = _candidates(_every_value(store))
    assert len(candidates) > 10
    best = max(_predicted(allocator, seed, history) for seed in candidates)
    assert best < BOUND, f"a value of the database predicts {best} of {N} allocations"


def test_no_value_in_the_database_hashes_to_the_seed_commitment(store: str) -> None:
    with open_session(store) as session:
        commitment = session.execute(select(Trial.seed_commitment)).scalar_one()
    assert commitment == hashlib.sha256(SEED).hexdigest()
    for value in _candidates(_every_value(store)) | set(_every_value(store)):
        assert hashlib.sha256(value).hexdigest() != commitment
        assert SEED not in value


def test_verification_needs_the_key_and_works_with_it(store: str, tmp_path: Path) -> None:
    with open_session(store) as session:
        assert verify_allocations(session).ok
        assert verify_audit(session).ok
    key = key_path(store)
    moved = tmp_path / "elsewhere.key"
    shutil.move(key, moved)
    try:
        with open_session(store) as session, pytest.raises(NotFoundError, match="sealing key"):
            verify_allocations(session)
    finally:
        shutil.move(moved, key)


def test_another_stores_key_does_not_unseal(store: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _build(other)
    key = key_path(store)
    original = key.read_text()
    try:
        key.write_text(key_path(other).read_text())
        with open_session(store) as session, pytest.raises(SealingKeyError, match="not unseal"):
            verify_allocations(session)
    finally:
        key.write_text(original)
        dispose_engine(other)


def test_a_key_open_to_others_is_refused(store: str) -> None:
    key = key_path(store)
    key.chmod(0o644)
    try:
        with open_session(store) as session, pytest.raises(SealingKeyError, match="chmod 600"):
            verify_allocations(session)
    finally:
        key.chmod(0o600)


def test_store_and_key_files_are_private(tmp_path: Path) -> None:
    """SQLite's -wal and -shm files take the database file's mode; the write-lock file too."""
    database = tmp_path / "private.db"
    url = f"sqlite:///{database}"
    _build(url)
    try:
        private = [database, Path(f"{database}.key")]
        private += [p for p in tmp_path.iterdir() if p.name.startswith("private.db-")]
        private += [Path(f"{database}.write-lock")]
        for path in private:
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
    finally:
        dispose_engine(url)


def test_a_copied_sqlite_file_alone_holds_only_the_sealed_seed(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    url = f"sqlite:///{database}"
    _build(url)
    try:
        copy = tmp_path / "stolen.db"
        with sqlite3.connect(database) as source, sqlite3.connect(copy) as stolen:
            source.backup(stolen)  # a consistent copy, WAL content included
        with sqlite3.connect(copy) as connection:
            (sealed,) = connection.execute("SELECT seed FROM allocation_secrets").fetchone()
        assert bytes(sealed).startswith(b"hepatrial-sealed-v1:") and SEED not in bytes(sealed)
        with open_session(url) as session:
            assert session.execute(select(AllocationSecret.seed)).scalar_one() == bytes(sealed)
    finally:
        dispose_engine(url)


def test_a_store_from_before_sealing_is_sealed_in_place(tmp_path: Path) -> None:
    """A plain seed (how stores were made before sealing) still allocates; `seal_stored_seed`
    seals it, the allocations replay as before, and a second call changes nothing."""
    database = tmp_path / "old.db"
    url = f"sqlite:///{database}"
    _build(url)
    try:
        engine = make_engine(url)
        with engine.begin() as connection:  # put the store back as it was made before sealing
            connection.execute(text("UPDATE allocation_secrets SET seed = :seed"), {"seed": SEED})
        with open_session(url) as session:
            assert verify_allocations(session).ok  # the plain seed is read as it is
            assert seal_stored_seed(session, user=ADMIN) is True
            stored = session.execute(select(AllocationSecret.seed)).scalar_one()
            assert stored.startswith(b"hepatrial-sealed-v1:") and SEED not in stored
            assert verify_allocations(session).ok
            assert seal_stored_seed(session, user=ADMIN) is False
            with pytest.raises(NotAllowedError):
                seal_stored_seed(session, user=INVESTIGATOR)
    finally:
        dispose_engine(url)
