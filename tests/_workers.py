"""Functions run in spawned processes by the concurrency and crash tests (importable by path).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import datetime as dt
import time

SCREEN_DAY = dt.date(2026, 1, 10)


def warm_up(_: int) -> bool:
    """Import the service in a pool worker before the timed part starts."""
    import hepatrial.service  # noqa: F401

    return True


def randomize_all(url: str, codes: list[str], start_at: float) -> tuple[int, int]:
    """Randomize ``codes`` in order from ``start_at``; return (randomized, refused as repeats)."""
    from hepatrial.exceptions import AllocationError
    from hepatrial.service import randomize
    from hepatrial.store import dispose_engine, open_session

    done = refused = 0
    with open_session(url) as session:
        while time.time() < start_at:
            time.sleep(0.002)
        for code in codes:
            try:
                randomize(
                    session,
                    participant_id=code,
                    user="inv-1",
                    randomized_on=SCREEN_DAY,
                    weight_kg=70.0,
                )
                done += 1
            except AllocationError:
                refused += 1
    dispose_engine(url)
    return done, refused


def screen_all(url: str, patients: list[tuple[str, str, dict[str, object]]]) -> int:
    """Screen (code, site, patient) triples; return how many were eligible."""
    from hepatrial.service import screen_participant
    from hepatrial.store import dispose_engine, open_session

    eligible = 0
    with open_session(url) as session:
        for code, site, patient in patients:
            stored = screen_participant(
                session,
                participant_id=code,
                site=site,
                patient=patient,
                user="inv-1",
                on=SCREEN_DAY,
            )
            eligible += stored.eligible
    dispose_engine(url)
    return eligible


def randomize_one(url: str, code: str) -> None:
    """Randomize one participant (run as a script by the crash test)."""
    from hepatrial.service import randomize
    from hepatrial.store import open_session

    with open_session(url) as session:
        randomize(
            session, participant_id=code, user="inv-1", randomized_on=SCREEN_DAY, weight_kg=70.0
        )


def randomize_many(url: str, codes: list[str], hold_before_last: bool = False) -> None:
    """Randomize ``codes`` one after another (killed part-way by the crash test).

    With ``hold_before_last`` the worker waits for its standard input to close before the last
    code, so however quickly it runs it cannot finish before the test kills it.
    """
    import sys

    from hepatrial.service import randomize
    from hepatrial.store import open_session

    with open_session(url) as session:
        for number, code in enumerate(codes, start=1):
            if hold_before_last and number == len(codes):
                sys.stdin.read()
            randomize(
                session, participant_id=code, user="inv-1", randomized_on=SCREEN_DAY, weight_kg=70.0
            )


if __name__ == "__main__":
    import logging
    import sys

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    hold = sys.argv[1] == "--hold-before-last"
    arguments = sys.argv[2:] if hold else sys.argv[1:]
    randomize_many(arguments[0], arguments[1:], hold_before_last=hold)
