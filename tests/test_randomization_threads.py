"""Randomization from many threads of one process (a server's workers), on SQLite and
PostgreSQL: the process-wide allocation caches stay consistent, no sequence number is given
twice, and every allocation replays from the sealed seed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from _store_support import INVESTIGATOR, SCREEN_DAY, screen_codes
from sqlalchemy import select

from hepatrial.service import randomize, verify_allocations
from hepatrial.store import Randomization, open_session

pytest_plugins = ["_store_support"]

THREADS, EACH = 8, 5


def _randomize_all(url: str, codes: list[str]) -> list[int]:
    numbers = []
    with open_session(url) as session:
        for code in codes:
            result = randomize(
                session,
                participant_id=code,
                user=INVESTIGATOR,
                randomized_on=SCREEN_DAY,
                weight_kg=70.0,
            )
            numbers.append(result.sequence_number)
    return numbers


def test_threads_share_the_caches_without_giving_a_number_twice(trial_url: str) -> None:
    codes = [f"T{t}{n:02d}" for t in range(THREADS) for n in range(EACH)]
    screen_codes(trial_url, codes)
    batches = [codes[t * EACH : (t + 1) * EACH] for t in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        numbers = [
            n for batch in pool.map(lambda b: _randomize_all(trial_url, b), batches) for n in batch
        ]
    assert sorted(numbers) == list(range(1, THREADS * EACH + 1))
    with open_session(trial_url) as session:
        stored = session.execute(select(Randomization.sequence_number)).scalars().all()
        assert sorted(stored) == sorted(numbers)
        assert verify_allocations(session).ok
