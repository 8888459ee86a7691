"""``benchmarks/bench_allocation.py`` still runs end to end (tiny sizes; nothing is timed here).

The benchmark's figures are read by people, not asserted; this only guards the script itself:
two clients, eight randomizations per database, on the real PostgreSQL and on SQLite, and the
lines it prints (rate, p50/p99, cold first call, goal) are all there with positive numbers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_allocation.py"


def test_bench_allocation_runs_on_both_databases(postgres_admin_url: str) -> None:
    env = {**os.environ, "HEPATRIAL_BENCH_POSTGRES": postgres_admin_url}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--clients", "2", "--participants", "8"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for label in ("PostgreSQL", "SQLite"):
        (line,) = [x for x in lines if x.startswith(label) and "randomizations" in x]
        found = re.search(r"([\d.]+)/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
        assert found is not None, line
        rate, p50, p99 = map(float, found.groups())
        assert rate > 0 and 0 < p50 <= p99
    assert sum("first (cold) call" in x for x in lines) == 2
    assert any(x.startswith("goal on PostgreSQL") for x in lines)
