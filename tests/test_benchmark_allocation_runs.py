"""``benchmarks/bench_allocation.py`` still runs end to end (tiny sizes; nothing is timed here).

The benchmark's figures are read by people, not asserted; this only guards the script itself:
two clients, eight randomizations per database, on the real PostgreSQL and on SQLite, and the
lines it prints (rate, p50/p99, cold first call, goal) are all there with positive numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

from _bench_support import check_rate_line, run_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_allocation.py"


def test_bench_allocation_runs_on_both_databases(postgres_admin_url: str) -> None:
    env = {**os.environ, "HEPATRIAL_BENCH_POSTGRES": postgres_admin_url}
    lines = run_script(SCRIPT, ["--clients", "2", "--participants", "8"], env)
    for label in ("PostgreSQL", "SQLite"):
        check_rate_line(lines, label)
    assert sum("first (cold) call" in x for x in lines) == 2
    assert any(x.startswith("goal on PostgreSQL") for x in lines)
