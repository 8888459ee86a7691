"""``hepatrial serve`` in a subprocess on a free loopback port, for the tests over real HTTP.

PYTEST_DONT_REWRITE (a plain helper module)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    """A TCP port of the loopback nobody listens on (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(url: str, *, workers: int = 2, timeout_s: float = 60.0) -> Iterator[str]:
    """Run ``hepatrial serve --db url --workers N``; yield its base URL; always stop it.

    The server runs in a session of its own, so that its uvicorn workers are stopped with it
    (SIGTERM to the process group, SIGKILL after 10 s). Its environment is this process's,
    with ``HEPATRIAL_KEY_DIR`` (the sealing keys of the test stores) and this checkout's
    ``src`` first on ``PYTHONPATH``.
    """
    port = free_port()
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-c", "from hepatrial.cli.main import app; app()", "serve"]
    command += ["--db", url, "--port", str(port), "--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": path},
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(server, log, base, timeout_s)
            yield base
        finally:
            _stop(server)


def _wait_until_healthy(
    server: subprocess.Popen[bytes], log: IO[bytes], base: str, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"hepatrial serve exited: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(base + "/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"hepatrial serve did not answer at {base} within {timeout_s:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (its workers too, even if it has exited)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=10)
            if sig == signal.SIGTERM:
                time.sleep(0.5)  # the workers leave after the supervisor; SIGKILL the rest
        except subprocess.TimeoutExpired:
            continue
