"""Randomizations per second and latency with concurrent clients, PostgreSQL and SQLite.

Each client is a separate process (spawn) with its own connection. Participants are screened
first (not timed). Each client then randomizes one participant of its own, untimed, as a
running service has already done (connected, parsed the protocol, read the seed and the
history); those cold first calls are reported on their own line. Then, at a barrier, all
clients start together and randomize their share through
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
from typing import Any

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


def _client(
    url: str, warm_up: str, codes: list[str], barriers: tuple[Any, Any], results: Any, index: int
) -> None:
    """One client process: a warm-up randomization, then its share, timed, after the barrier.

    The warm-up is what a running service has already done: connect, parse the trial's
    protocol, read the sealed seed and the allocation history. Its latency is reported apart.
    A client that has finished waits for the others before it exits: a process shutting down
    (closing its connection, freeing its interpreter) would otherwise take CPU from the clients
    still randomizing, which is the harness's cost, not the store's.
    """
    ready, done = barriers
    from hepatrial.service import randomize
    from hepatrial.store import open_session

    latencies = []
    with open_session(url) as session:
        began = time.perf_counter()
        randomize(session, participant_id=warm_up, user="inv", randomized_on=DAY, weight_kg=70.0)
        cold = time.perf_counter() - began
        ready.wait()
        for code in codes:
            began = time.perf_counter()
            randomize(session, participant_id=code, user="inv", randomized_on=DAY, weight_kg=70.0)
            latencies.append(time.perf_counter() - began)
        finished = time.time()
        results.put((index, cold, latencies, finished))
        done.wait()


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
    warm = [f"W{n:05d}" for n in range(clients)]
    everyone = warm + codes
    aetiologies = [str(a) for a in rng.choice(["alcohol", "masld", "other"], len(everyone))]
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(clients, os.cpu_count() or 1)) as pool:
        shares = [(everyone[c::clients], aetiologies[c::clients]) for c in range(clients)]
        pool.starmap(_screen, [(url, *share) for share in shares])
    barriers = (context.Barrier(clients + 1), context.Barrier(clients + 1))
    results = context.Queue()
    workers = [
        context.Process(
            target=_client, args=(url, warm[c], codes[c::clients], barriers, results, c)
        )
        for c in range(clients)
    ]
    for worker in workers:
        worker.start()
    barriers[0].wait(timeout=600)  # every client has warmed up
    load_before = _load()
    start = time.time()
    finished = [results.get(timeout=600) for _ in workers]
    barriers[1].wait(timeout=600)  # every client has finished: they may exit now
    for worker in workers:
        worker.join()
    wall = max(end for *_, end in finished) - start
    load_after = _load()
    latencies = np.concatenate([np.asarray(times) for _, _, times, _ in finished])
    cold = np.asarray([first for _, first, _, _ in finished])
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
    print(
        f"{'':<11} first (cold) call of each client, untimed above: median "
        f"{np.median(cold) * 1000:.0f} ms, max {cold.max() * 1000:.0f} ms"
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
