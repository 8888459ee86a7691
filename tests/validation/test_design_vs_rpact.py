"""hepatrial.design against R rpact 3.3.4.

Every expected figure comes from ``tests/validation/fixtures/design_rpact.json``, written by
``Rscript tests/validation/r/design_reference.R``; each record stores the exact rpact call that
produced it (shown in the test id and in the failure message).

Tolerances (relative, all 1e-4 or tighter):

- group-sequential boundaries, drift, inflation factor, power and expected sample size: 1e-6.
  rpact solves its bounds to 1e-8 but ends its alpha spending at alpha - 1e-8 (alphaSpent
  0.02499999), which moves the final critical value by ~1e-7;
- closed-form sample sizes (normal means, rates, Schoenfeld/Freedman events, Lachin-Foulkes
  subjects): 1e-10;
- t-based mean sample size: 1e-5, because rpact stops its root search at an absolute tolerance
  of 1e-4 on n2 (``.getOneDimensionalRoot(tolerance = 1e-04)``), i.e. < 4e-6 relative here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hepatrial.design import (
    AccrualPlan,
    events_survival,
    gs_boundaries,
    n_mean_difference,
    n_proportions,
    n_survival,
)

FIXTURE = Path(__file__).parent / "fixtures" / "design_rpact.json"
RECORDS: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["records"]


def _records(kind: str) -> list[Any]:
    return [pytest.param(r, id=r["call"][:150]) for r in RECORDS if r["kind"] == kind]


def _close(actual: Any, expected: Any, rel: float, call: str, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rel,
        atol=0.0,
        err_msg=f"{what} differs from rpact: {call}",
    )


def test_fixture_has_every_kind() -> None:
    kinds = {r["kind"] for r in RECORDS}
    assert kinds == {"gs", "means", "rates", "survival"}
    assert sum(r["kind"] == "gs" for r in RECORDS) >= 20


@pytest.mark.parametrize("record", _records("gs"))
def test_group_sequential(record: dict[str, Any]) -> None:
    args, values, call = record["args"], record["values"], record["call"]
    design = gs_boundaries(
        k=args["k"],
        alpha=args["alpha"],
        sided=1,
        spending=args["spending"],
        information=args["information"],
        beta=args["beta"],
        futility=args["futility"],
        binding=args["binding"],
    )
    _close(design.z, values["z"], 1e-6, call, "criticalValues")
    if values["futility"] is None:
        assert design.futility is None
    else:
        expected = np.atleast_1d(np.asarray(values["futility"], dtype=float))
        _close(design.futility, expected, 1e-6, call, "futilityBounds")
    assert design.drift is not None and design.inflation_factor is not None
    _close(design.drift**2, values["shift"], 1e-6, call, "shift")
    _close(design.inflation_factor, values["inflation_factor"], 1e-6, call, "inflationFactor")
    _close(design.power, values["power"], 1e-6, call, "power")
    _close(design.expected_information_h1, values["asn1"], 1e-6, call, "averageSampleNumber1")
    _close(design.expected_information_h0, values["asn0"], 1e-6, call, "averageSampleNumber0")
    # rpact reports the alpha its bounds achieve (solved to 1e-8) and alpha - 1e-8 at the end.
    _close(design.alpha_spent[:-1], values["alpha_spent"][:-1], 1e-6, call, "alphaSpent")
    assert math.isclose(design.alpha_spent[-1], args["alpha"], rel_tol=1e-6)


@pytest.mark.parametrize("record", _records("means"))
def test_mean_difference(record: dict[str, Any]) -> None:
    args, values, call = record["args"], record["values"], record["call"]
    result = n_mean_difference(
        delta=args["delta"],
        sd=args["sd"],
        alpha=args["alpha"],
        power=args["power"],
        method=args["method"],
        ratio=args["ratio"],
        sided=args["sided"],
    )
    rel = 1e-10 if args["method"] == "normal" else 1e-5
    _close(result.n_total, values["n_total"], rel, call, "nFixed")
    assert result.n_treatment == math.ceil(values["n1"] - 1e-9)
    assert result.n_control == math.ceil(values["n2"] - 1e-9)


@pytest.mark.parametrize("record", _records("rates"))
def test_proportions(record: dict[str, Any]) -> None:
    args, values, call = record["args"], record["values"], record["call"]
    result = n_proportions(
        p_treatment=args["p_treatment"],
        p_control=args["p_control"],
        alpha=args["alpha"],
        power=args["power"],
        ratio=args["ratio"],
        sided=args["sided"],
    )
    _close(result.n_total, values["n_total"], 1e-10, call, "nFixed")


@pytest.mark.parametrize("record", _records("survival"))
def test_survival(record: dict[str, Any]) -> None:
    args, values, call = record["args"], record["values"], record["call"]
    common = {
        "hr": args["hr"],
        "alpha": args["alpha"],
        "power": args["power"],
        "method": args["method"],
        "sided": args["sided"],
        "ratio": args["ratio"],
    }
    events = events_survival(**common)
    _close(events.events, values["events"], 1e-10, call, "eventsFixed")
    size = n_survival(
        **common,
        median_control=args["median_control"],
        accrual=AccrualPlan(
            accrual_time=args["accrual_time"],
            follow_up=args["follow_up"],
            dropout_rate=args["dropout_rate"],
            dropout_time=12.0,
        ),
    )
    _close(size.events, values["events"], 1e-10, call, "eventsFixed")
    _close(size.n_total, values["n_total"], 1e-10, call, "nFixed")
