"""Randomizations per second and latency with concurrent clients, PostgreSQL and SQLite.

Each client is a separate process (spawn) with its own connection. Participants are screened
first (not timed); then all clients start together and randomize their share through
:func:`hepatrial.service.randomize`, the full operation: checks, lock, allocation history,
concealed minimisation (MATCH protocol), planned doses, audit chain, commit (durable:
``synchronous_commit`` is left on). Each latency runs from the client's call to the return
after its commit; the rate is all randomizations over the wall time from the common start to
the last commit. Prints randomizations per second, p50/p99 latency per backend, the goal
(>= 200/s and p99 < 100 ms with 16 clients on PostgreSQL), the PostgreSQL/SQLite ratio and
the machine's load average before and after each run: on a machine shared with other work the
figures are lower than on an idle one.

Usage: ``python benchmarks/bench_allocation.py [--clients 16] [--participants 800]``
(PostgreSQL from ``HEPATRIAL_BENCH_POSTGRES``, default the local ``test`` database as admin;
a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ADMIN_URL = os.environ.get(
    "HEPATRIAL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DAY = dt.date(2026, 1, 10)
FACTS = {
    "compensated_cirrhosis": True,
    "liver_stiffness_kpa": 22.0,
    "hcc": False,
    "other_active_malignancy": False,
    "pregnant_or_breastfeeding": False,
    "prior_liver_transplant": False,
}


def _patient(aetiology: str) -> dict[str, object]:
    labs = [("bilirubin", 1.8, "mg/dL"), ("inr", 1.4, "1"), ("creatinine", 0.9, "mg/dL")]
    return {
        "age": 55,
        "sex": "male",
        "labs": [
            {"analyte": a, "value": v, "unit": u, "collected_on": "2026-01-05"} for a, v, u in labs
        ],
        "facts": {**FACTS, "aetiology": aetiology},
    }


def _screen(url: str, codes: list[str], aetiologies: list[str]) -> None:
    from hepatrial.service import screen_participant
    from hepatrial.store import open_session

    with open_session(url) as session:
        for code, aetiology in zip(codes, aetiologies, strict=True):
            screen_participant(
                session,
                participant_id=code,
                site="S01",
                patient=_patient(aetiology),
                user="inv",
                on=DAY,
            )


def _client(url: str, codes: list[str], start_at: float) -> list[float]:
    from hepatrial.service import randomize
    from hepatrial.store import open_session

    latencies = []
    with open_session(url) as session:
        while time.time() < start_at:
            time.sleep(0.001)
        for code in codes:
            began = time.perf_counter()
            randomize(session, participant_id=code, user="inv", randomized_on=DAY, weight_kg=70.0)
            latencies.append(time.perf_counter() - began)
    return latencies


def _setup(url: str) -> None:
    from hepatrial.service import add_site, add_user, create_trial
    from hepatrial.store import init_db, open_session

    init_db(url)
    with open_session(url) as session:
        create_trial(session, "match", admin="adm")
        add_site(session, code="S01", name="Site one", user="adm")
        add_user(session, user_id="inv", role="investigator", user="adm")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def run(url: str, label: str, clients: int, participants: int) -> dict[str, float]:
    """Set up a trial at ``url``, screen, then time ``clients`` concurrent randomizers."""
    _setup(url)
    rng = np.random.default_rng(7)
    codes = [f"B{n:05d}" for n in range(participants)]
    aetiologies = [str(a) for a in rng.choice(["alcohol", "masld", "other"], participants)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(clients) as pool:
        pool.starmap(
            _screen, [(url, codes[c::clients], aetiologies[c::clients]) for c in range(clients)]
        )
        load_before = _load()
        start_at = time.time() + 2.0
        results = pool.starmap(
            _client, [(url, codes[c::clients], start_at) for c in range(clients)]
        )
        wall = time.time() - start_at
        load_after = _load()
    latencies = np.concatenate([np.asarray(r) for r in results])
    stats = {
        "rate": participants / wall,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
        "wall_s": wall,
    }
    print(
        f"{label:<11} {participants:>6} randomizations, {clients} clients: "
        f"{stats['rate']:7.1f}/s  p50 {stats['p50_ms']:6.1f} ms  p99 {stats['p99_ms']:6.1f} ms "
        f"({stats['wall_s']:.1f} s)"
    )
    print(f"{'':<11} {load_before} before, {load_after} after")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--participants", type=int, default=800)
    args = parser.parse_args()

    import psycopg

    from hepatrial.store import dispose_engines

    print(
        f"hepatrial randomization benchmark on {os.cpu_count()} cores ({_load()}; the machine "
        "may be shared with other work, which lowers these figures)"
    )
    admin_dsn = ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"hepatrial_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        postgres = run(
            f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}", "PostgreSQL", args.clients, args.participants
        )
    finally:
        dispose_engines()
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with tempfile.TemporaryDirectory() as scratch:
        sqlite = run(
            f"sqlite:///{Path(scratch) / 'bench.db'}", "SQLite", args.clients, args.participants
        )
        dispose_engines()
    goal = postgres["rate"] >= 200 and postgres["p99_ms"] < 100
    print(f"PostgreSQL / SQLite throughput ratio: {postgres['rate'] / sqlite['rate']:.2f}")
    print(
        f"goal on PostgreSQL (>= 200/s, p99 < 100 ms): {'met' if goal else 'NOT met'} "
        f"({postgres['rate'] / 200:.2f} x the rate goal, p99 {postgres['p99_ms']:.0f} ms)"
    )


if __name__ == "__main__":
    main()
