"""Running a benchmark script end to end at tiny size and reading its printed rate lines.

PYTEST_DONT_REWRITE (plain helpers, imported by test modules)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

RATE = re.compile(r"([\d.]+)/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms")


def run_script(script: Path, args: list[str], env: dict[str, str]) -> list[str]:
    """The printed lines of ``script`` run with ``args``; its exit status must be 0."""
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return done.stdout.splitlines()


def check_rate_line(lines: list[str], label: str) -> None:
    """The one line starting with ``label`` gives a positive rate and p50 <= p99."""
    (line,) = [x for x in lines if x.startswith(label) and "randomizations" in x]
    found = RATE.search(line)
    if found is None:
        raise AssertionError(line)
    rate, p50, p99 = map(float, found.groups())
    if not (rate > 0 and 0 < p50 <= p99):
        raise AssertionError(line)
