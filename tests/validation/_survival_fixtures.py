"""Loaders for the reference figures written by ``tests/validation/r/survival_reference.R``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures"

# Closed-form estimators are compared at 10 significant digits or better; estimators that R
# obtains by iteration (Newton-Raphson) at 1e-6 relative, as the validation plan states.
CLOSED_FORM_RTOL = 1e-10
ITERATIVE_RTOL = 1e-6


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if value == "Inf":
        return float("inf")
    if value == "-Inf":
        return float("-inf")
    return value


@cache
def load(name: str) -> dict[str, Any]:
    """A fixture file as nested dicts (R's NA/NaN as None)."""
    with open(FIXTURES / name, encoding="utf-8") as handle:
        decoded: dict[str, Any] = _decode(json.load(handle))
    return decoded


def numbers(values: Any) -> np.ndarray:
    """A list of numbers from a fixture as floats (None -> NaN); scalars become length 1."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    if not isinstance(values, list):
        values = [values]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@cache
def dataset(name: str) -> pd.DataFrame:
    """One of the data sets R used (pbc trial patients, lung, veteran, aml)."""
    columns = load("survival_data.json")[name]
    return pd.DataFrame(
        {key: [np.nan if v is None else v for v in vals] for key, vals in columns.items()}
    )
