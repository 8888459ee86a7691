"""``benchmarks/bench_server.py`` still runs end to end (``--tiny``; nothing is timed here).

The figures are read by people, not asserted: this guards the script itself, with the real
PostgreSQL and a real ``hepatrial serve --workers 2``: the direct and HTTP lines (rate,
p50/p99), the cold first calls, the list latency and both goal lines are printed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from _bench_support import check_rate_line, run_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_server.py"


@pytest.mark.postgres
@pytest.mark.slow
def test_bench_server_runs_at_tiny_size(postgres_admin_url: str) -> None:
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "HEPATRIAL_BENCH_POSTGRES": postgres_admin_url, "PYTHONPATH": path}
    lines = run_script(SCRIPT, ["--tiny"], env)
    for label in ("direct", "HTTP "):
        check_rate_line(lines, label)
    assert sum("first (cold) call" in x for x in lines) == 2
    (listed,) = [x for x in lines if x.startswith("HTTP list")]
    assert re.search(r"\(20 of 20\).*p50\s+[\d.]+ ms\s+p95\s+[\d.]+ ms", listed), listed
    assert any(x.startswith("goal over HTTP") for x in lines)
    assert any(x.startswith("goal for the list") for x in lines)
