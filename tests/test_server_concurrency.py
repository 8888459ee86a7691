"""Sixteen HTTP clients randomizing 400 participants at once through ``hepatrial serve``.

The server runs as users run it: ``hepatrial serve --workers 2`` in its own process group, on a
free loopback port, over a fresh PostgreSQL store of the MSC-ACLF trial (stratified permuted
blocks of 4 and 6, two MELD strata). The 400 participants are screened through the service
(quicker than over HTTP, and not what is under test); sixteen threads then randomize them all
over HTTP with an investigator's bearer token. Afterwards the randomizations table holds each
participant once with sequence numbers exactly 1..400, the blocks of each stratum are balanced
at every completed block, the stored sequence replays from the sealed seed and the audit trail
verifies.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from _http_server import serving
from _store_support import ADMIN, INVESTIGATOR, SCREEN_DAY, build_trial, msc_patient, screen
from sqlalchemy import select

from hepatrial.service import verify_allocations
from hepatrial.service.auth import create_token
from hepatrial.store import Randomization, dispose_engine, open_session, verify_audit

pytest_plugins = ["_store_support"]

CLIENTS = 16
PARTICIPANTS = 400


def _screened_store(url: str) -> tuple[list[str], str]:
    """The MSC-ACLF trial with PARTICIPANTS eligible participants (40% high MELD); a token."""
    build_trial(url, "msc-aclf")
    rng = np.random.default_rng(20260110)
    codes = [f"H{n:04d}" for n in range(1, PARTICIPANTS + 1)]
    with open_session(url) as session:
        for code in codes:
            patient = msc_patient(high_meld=bool(rng.random() < 0.4))
            site = "S01" if rng.random() < 0.5 else "S02"
            assert screen(session, code, site=site, patient=patient).eligible
        token = create_token(session, user_id=INVESTIGATOR, user=ADMIN).token
    dispose_engine(url)
    return codes, token


def _randomize_share(base: str, token: str, codes: list[str], start: threading.Barrier) -> int:
    body = {"weight_kg": 70.0, "on": SCREEN_DAY.isoformat()}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=60.0) as client:
        start.wait()
        for code in codes:
            answer = client.post(f"/participants/{code}/randomization", json=body)
            assert answer.status_code == 201, (code, answer.status_code, answer.text)
    return len(codes)


@pytest.mark.postgres
@pytest.mark.slow
def test_sixteen_http_clients_randomize_400_participants(postgres_database: str) -> None:
    url = postgres_database
    codes, token = _screened_store(url)
    with serving(url, workers=2) as base, ThreadPoolExecutor(CLIENTS) as pool:
        start = threading.Barrier(CLIENTS)
        shares = [codes[c::CLIENTS] for c in range(CLIENTS)]
        done = sum(pool.map(lambda share: _randomize_share(base, token, share, start), shares))
    assert done == PARTICIPANTS
    with open_session(url) as session:
        rows = list(
            session.execute(select(Randomization).order_by(Randomization.sequence_number)).scalars()
        )
        replay = verify_allocations(session)
        audit = verify_audit(session)
    dispose_engine(url)
    assert [r.sequence_number for r in rows] == list(range(1, PARTICIPANTS + 1))
    assert sorted(r.participant_id for r in rows) == codes
    assert replay.ok, replay.message
    assert audit.ok, audit
    assert {r.stratum for r in rows} == {"meld_band=meld_below_22", "meld_band=meld_22_or_more"}
    blocks: dict[tuple[str | None, int | None], list[str]] = {}
    for assignment in replay.assignments:
        blocks.setdefault((assignment.stratum, assignment.block_number), []).append(assignment.arm)
    sizes = {(a.stratum, a.block_number): a.block_size for a in replay.assignments}
    completed = [key for key, arms in blocks.items() if len(arms) == sizes[key]]
    assert len(completed) >= 60  # 400 participants in blocks of 4 or 6
    for key in completed:
        assert blocks[key].count("msc") == blocks[key].count("standard-medical-therapy"), key
    # From the stored rows alone: 1:1 blocks of at most 6 keep each stratum's running
    # difference between the arms within 3, and at 0 at the end of every completed block.
    for stratum in {r.stratum for r in rows}:
        arms = [r.arm for r in rows if r.stratum == stratum]
        running = np.cumsum([1 if arm == "msc" else -1 for arm in arms])
        assert np.abs(running).max() <= 3, stratum
