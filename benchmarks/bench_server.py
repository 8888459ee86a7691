"""Randomizations per second and latency over HTTP, beside the direct service path.

``hepatrial serve --workers 2`` runs in a subprocess on a free loopback port over a scratch
PostgreSQL store of the MATCH trial (concealed minimisation). Sixteen client threads, each with
its own keep-alive ``httpx`` connection and an investigator's bearer token, first randomize one
participant each, untimed (the server's workers connect, parse the protocol and read the
history; those cold calls are reported on their own line), then start together at a barrier
and randomize their share with ``POST /api/v1/participants/{code}/randomization``. A latency
runs from the request to its response (after the commit); the rate is all randomizations over
the wall time from the common start to the last response. The direct path, the same
randomizations through :func:`hepatrial.service.randomize` in one process per client
(``bench_allocation.py``), runs first in the same invocation on a scratch database of its own.

Then the store is filled up to 2,000 participants and ``GET /api/v1/participants`` (the first
page, 100 rows) is timed from one client, one request at a time.

Goals on 2 cores: over HTTP >= 150 randomizations/s with p99 < 250 ms; the list p95 < 100 ms.
The load average is printed: on a machine shared with other work the figures are lower.

Usage: ``python benchmarks/bench_server.py [--clients 16] [--participants 800]
[--list-participants 2000] [--tiny]`` (PostgreSQL from ``HEPATRIAL_BENCH_POSTGRES``, default
the local ``test`` database as admin; scratch databases are created and dropped, sealing keys
go to a temporary directory).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import bench_allocation as direct
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RATE_GOAL, P99_GOAL_MS, LIST_P95_GOAL_MS = 150.0, 250.0, 100.0
BODY = {"weight_kg": 70.0, "on": direct.DAY.isoformat()}


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; yields its URL."""
    import psycopg

    from hepatrial.store import dispose_engines

    admin_dsn = direct.ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"hepatrial_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{direct.ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serving(url: str, workers: int) -> Iterator[str]:
    """``hepatrial serve`` on a free loopback port in its own process group; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    command = [sys.executable, "-c", "from hepatrial.cli.main import app; app()", "serve"]
    command += ["--db", url, "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"hepatrial serve did not start (exit code {server.poll()})")
            time.sleep(0.2)
        yield base
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)
            except ProcessLookupError:
                break
            try:
                server.wait(timeout=10)
                time.sleep(0.5)
            except subprocess.TimeoutExpired:
                continue


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _token(url: str) -> str:
    from hepatrial.service.auth import create_token
    from hepatrial.store import open_session

    with open_session(url) as session:
        return create_token(session, user_id="inv", user="adm").token


def _screen(url: str, codes: list[str], seed: int) -> None:
    """Screen ``codes`` (eligible, aetiology drawn) in parallel processes, as bench_allocation."""
    rng = np.random.default_rng(seed)
    aetiologies = [str(a) for a in rng.choice(["alcohol", "masld", "other"], len(codes))]
    processes = os.cpu_count() or 1
    shares = [(url, codes[p::processes], aetiologies[p::processes]) for p in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.starmap(direct._screen, shares)


def _client(
    base: str, token: str, warm_up: str, codes: list[str], start: threading.Barrier
) -> tuple[float, list[float], float]:
    """One client: a cold randomization, then its share after the barrier, each timed."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies = []
    with httpx.Client(base_url=base, headers=headers, timeout=120.0) as client:
        began = time.perf_counter()
        client.post(f"/participants/{warm_up}/randomization", json=BODY).raise_for_status()
        cold = time.perf_counter() - began
        start.wait()
        for code in codes:
            began = time.perf_counter()
            client.post(f"/participants/{code}/randomization", json=BODY).raise_for_status()
            latencies.append(time.perf_counter() - began)
    return cold, latencies, time.time()


def randomize_over_http(base: str, token: str, clients: int, participants: int) -> dict[str, float]:
    """Time ``clients`` threads randomizing ``participants`` (B...) after a warm-up (W...)."""
    codes = [f"B{n:05d}" for n in range(participants)]
    start = threading.Barrier(clients + 1)
    with ThreadPoolExecutor(clients) as pool:
        futures = [
            pool.submit(_client, base, token, f"W{c:05d}", codes[c::clients], start)
            for c in range(clients)
        ]
        start.wait(timeout=600)
        load_before = direct._load()
        began, cpu_began = time.time(), time.process_time()
        finished = [future.result() for future in futures]
        client_cpu = time.process_time() - cpu_began
    wall = max(end for *_, end in finished) - began
    latencies = np.concatenate([np.asarray(times) for _, times, _ in finished])
    cold = np.asarray([first for first, _, _ in finished])
    stats = {
        "rate": participants / wall,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
    }
    print(
        f"{'HTTP':<11} {participants:>6} randomizations, {clients} clients: "
        f"{stats['rate']:7.1f}/s  p50 {stats['p50_ms']:6.1f} ms  p99 {stats['p99_ms']:6.1f} ms "
        f"({wall:.1f} s)"
    )
    print(
        f"{'':<11} first (cold) call of each client, untimed above: median "
        f"{np.median(cold) * 1000:.0f} ms, max {cold.max() * 1000:.0f} ms"
    )
    print(
        f"{'':<11} the clients' own CPU time (httpx, this process): {client_cpu:.1f} s, "
        f"{client_cpu / participants * 1000:.1f} ms per randomization"
    )
    print(f"{'':<11} {load_before} before, {direct._load()} after")
    return stats


def list_latency(base: str, token: str, participants: int, requests: int) -> float:
    """p95 (ms) of ``GET /participants`` (first page of 100) with ``participants`` stored."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
        page = client.get("/participants")
        page.raise_for_status()
        assert page.json()["total"] == participants  # noqa: S101 - the store is as intended
        latencies = []
        for _ in range(requests):
            began = time.perf_counter()
            client.get("/participants").raise_for_status()
            latencies.append(time.perf_counter() - began)
    p50, p95 = (float(np.percentile(latencies, q) * 1000) for q in (50, 95))
    print(
        f"{'HTTP list':<11} GET /api/v1/participants ({min(participants, 100)} of "
        f"{participants}), {requests} "
        f"requests: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
    )
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--participants", type=int, default=800)
    parser.add_argument("--list-participants", type=int, default=2000)
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--tiny", action="store_true", help="2 clients, 8 randomizations, 20 listed (a smoke run)"
    )
    args = parser.parse_args()
    if args.tiny:
        args.clients, args.participants, args.list_participants, args.list_requests = 2, 8, 20, 5
    with tempfile.TemporaryDirectory(prefix="hepatrial-bench-keys-") as keys:
        os.environ["HEPATRIAL_KEY_DIR"] = keys  # the scratch stores' sealing keys
        run(args)


def run(args: argparse.Namespace) -> None:
    """The direct path, then the same over HTTP, then the list; the goals."""
    print(
        f"hepatrial HTTP benchmark on {os.cpu_count()} cores, hepatrial serve --workers "
        f"{args.workers} ({direct._load()}; the machine may be shared with other work)"
    )
    with scratch_database() as url:
        direct.run(url, "direct", args.clients, args.participants)
    with scratch_database() as url:
        direct._setup(url)
        codes = [f"W{n:05d}" for n in range(args.clients)]
        codes += [f"B{n:05d}" for n in range(args.participants)]
        _screen(url, codes, 7)
        token = _token(url)
        with serving(url, args.workers) as base:
            http = randomize_over_http(base, token, args.clients, args.participants)
            extra = max(args.list_participants - len(codes), 0)
            _screen(url, [f"L{n:05d}" for n in range(extra)], 8)
            p95 = list_latency(base, token, len(codes) + extra, args.list_requests)
    met = http["rate"] >= RATE_GOAL and http["p99_ms"] < P99_GOAL_MS
    print(
        f"goal over HTTP (>= {RATE_GOAL:.0f}/s, p99 < {P99_GOAL_MS:.0f} ms): "
        f"{'met' if met else 'NOT met'} ({http['rate'] / RATE_GOAL:.2f} x the rate goal, "
        f"p99 {http['p99_ms']:.0f} ms)"
    )
    print(
        f"goal for the list (p95 < {LIST_P95_GOAL_MS:.0f} ms): "
        f"{'met' if p95 < LIST_P95_GOAL_MS else 'NOT met'} (p95 {p95:.0f} ms)"
    )


if __name__ == "__main__":
    main()
