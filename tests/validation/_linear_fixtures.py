"""Loaders for the reference figures written by ``tests/validation/r/linear_reference.R`` and
``tests/validation/r/mmrm_structures.R``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures"


def reference_figures(name: str) -> dict[tuple[str, str], float]:
    """R's figures in ``fixtures/<name>`` (columns case, quantity, value) keyed by (case, quantity).

    Values are read as text first so that every one of R's 17 significant digits reaches float.
    """
    table = pd.read_csv(FIXTURES / name, dtype={"value": str})
    return {(c, q): float(v) for c, q, v in table.itertuples(index=False)}
