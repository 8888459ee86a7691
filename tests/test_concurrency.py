"""Eight processes randomizing 400 participants at once, on SQLite and PostgreSQL.

Each participant is screened first; the 400 are dealt round-robin to 8 spawned processes that
start together, and every eighth participant is also attempted by a second process, so that
two processes race for the same participant. Afterwards: sequence numbers are exactly 1..400,
every participant is randomized once (each repeated attempt refused), the stored sequence
replays from the sealed seed, the audit trail verifies, permuted blocks are balanced at every
completed block of every stratum, and minimisation imbalance stays within its bound.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from multiprocessing.pool import Pool

import _workers
import numpy as np
import pytest
from _store_support import build_trial, match_patient, msc_patient
from sqlalchemy import select

from hepatrial.allocation import minimisation_imbalance_bound
from hepatrial.service import verify_allocations
from hepatrial.store import Randomization, open_session, verify_audit

pytest_plugins = ["_store_support"]

WORKERS = 8
PARTICIPANTS = 400


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    """Eight spawned processes with hepatrial imported, shared by the tests of this module."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as workers:
        assert all(workers.map(_workers.warm_up, range(WORKERS)))
        yield workers


def _screen_all(pool: Pool, url: str, protocol: str) -> list[str]:
    """Screen the 400 participants, in parallel over the pool (eligible by construction)."""
    rng = np.random.default_rng(20260110)
    codes = [f"C{n:04d}" for n in range(1, PARTICIPANTS + 1)]
    patients = []
    for code in codes:
        if protocol == "match":
            aetiology = str(rng.choice(["alcohol", "masld", "other"], p=[0.5, 0.3, 0.2]))
            patient = match_patient(aetiology=aetiology)
        else:
            patient = msc_patient(high_meld=bool(rng.random() < 0.4))
        patients.append((code, "S01" if rng.random() < 0.5 else "S02", patient))
    eligible = pool.starmap(
        _workers.screen_all, [(url, patients[w::WORKERS]) for w in range(WORKERS)]
    )
    assert sum(eligible) == PARTICIPANTS
    return codes


def _race(pool: Pool, url: str, codes: list[str]) -> tuple[int, int]:
    chunks = [codes[w::WORKERS] for w in range(WORKERS)]
    repeats = [chunks[(w + 1) % WORKERS][::-8] for w in range(WORKERS)]
    start_at = time.time() + 1.0
    jobs = [(url, chunks[w] + repeats[w], start_at) for w in range(WORKERS)]
    results = pool.starmap(_workers.randomize_all, jobs)
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _stored(url: str) -> list[Randomization]:
    with open_session(url) as session:
        rows = session.execute(select(Randomization).order_by(Randomization.sequence_number))
        return list(rows.scalars())


def _common_checks(url: str, codes: list[str], done: int, refused: int) -> list[Randomization]:
    rows = _stored(url)
    assert done == PARTICIPANTS and refused == sum(
        len(codes[w::WORKERS][::-8]) for w in range(WORKERS)
    )
    assert [r.sequence_number for r in rows] == list(range(1, PARTICIPANTS + 1))
    assert sorted(r.participant_id for r in rows) == codes
    with open_session(url) as session:
        replay = verify_allocations(session)
        assert replay.ok, replay.message
        report = verify_audit(session)
        assert report.ok, report
    return rows


@pytest.mark.slow
def test_concurrent_minimisation(pool: Pool, db_url: str) -> None:
    build_trial(db_url, "match")
    codes = _screen_all(pool, db_url, "match")
    done, refused = _race(pool, db_url, codes)
    rows = _common_checks(db_url, codes, done, refused)
    # Two arms 1:1, one factor, p = 0.8: each level's |n_macrophage - n_control| stays below
    # the bound derived in hepatrial.allocation.bounds (false-alarm probability 1e-6).
    bound = minimisation_imbalance_bound(0.8, PARTICIPANTS, 1e-6)
    for level in ("alcohol", "masld", "other"):
        arms = [r.arm for r in rows if r.factors["aetiology"] == level]
        imbalance = abs(arms.count("macrophage") - arms.count("standard-care"))
        assert imbalance < bound, (level, imbalance, bound)


@pytest.mark.slow
def test_concurrent_permuted_blocks(pool: Pool, db_url: str) -> None:
    build_trial(db_url, "msc-aclf")
    codes = _screen_all(pool, db_url, "msc-aclf")
    done, refused = _race(pool, db_url, codes)
    rows = _common_checks(db_url, codes, done, refused)
    with open_session(db_url) as session:
        replay = verify_allocations(session)
    blocks: dict[tuple[str | None, int | None], list[str]] = {}
    for assignment in replay.assignments:
        blocks.setdefault((assignment.stratum, assignment.block_number), []).append(assignment.arm)
    sizes = {(a.stratum, a.block_number): a.block_size for a in replay.assignments}
    completed = [key for key, arms in blocks.items() if len(arms) == sizes[key]]
    assert len(completed) >= 60  # 400 participants in blocks of 4 or 6
    for key in completed:
        arms = blocks[key]
        assert arms.count("msc") == arms.count("standard-medical-therapy"), key
    # Independent of the allocator's bookkeeping: within a stratum, 1:1 blocks of at most 6
    # keep the running difference of the stored arms within 3 at every point.
    for stratum in {r.stratum for r in rows}:
        running = np.cumsum([1 if r.arm == "msc" else -1 for r in rows if r.stratum == stratum])
        assert np.abs(running).max() <= 3, stratum
    assert {r.stratum for r in rows} == {"meld_band=meld_below_22", "meld_band=meld_22_or_more"}
