"""Every result class of hepatrial.stats has the shape of :class:`hepatrial.stats.results.Result`.

The classes are enumerated from ``hepatrial.stats.__all__``: a new result class that forgets a
member, or has no example below, fails here.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hepatrial
import hepatrial.stats as stats
from hepatrial.stats.results import RESULT_MEMBERS, Exclusion, Result

OPTION_GROUPS = {"RateColumns"}  # exported classes that are a call's options, not results
RESULT_CLASSES = {
    name: getattr(stats, name)
    for name in stats.__all__
    if isinstance(getattr(stats, name), type) and name not in OPTION_GROUPS
}


def _survival() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    n = 40
    return pd.DataFrame(
        {
            "time": rng.integers(1, 60, n).astype(float),
            "event": rng.integers(0, 2, n),
            "cause": rng.integers(0, 3, n),
            "arm": np.repeat(["control", "msc"], n // 2),
            "meld": rng.normal(25, 4, n),
        }
    ).assign(time=lambda d: d["time"].where(np.arange(n) != 3))  # one record excluded


def _linear() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 30
    baseline = rng.normal(25, 3, n)
    return pd.DataFrame(
        {
            "arm": np.repeat(["control", "msc"], n // 2),
            "baseline": baseline,
            "follow_up": baseline - rng.normal(1, 2, n),
            "events": rng.poisson(2, n),
            "years": rng.uniform(0.5, 1.5, n),
        }
    )


def _long() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    rows = []
    for subject in range(24):
        arm = "msc" if subject % 2 else "control"
        for visit in (1, 2, 3):
            rows.append((subject, arm, visit, rng.normal(-visit * (arm == "msc"), 1.0)))
    return pd.DataFrame(rows, columns=["subject", "arm", "visit", "change"])


def _km() -> Any:
    d = _survival()
    return stats.kaplan_meier(d["time"], d["event"])


EXAMPLES: dict[str, Callable[[], Any]] = {
    "KaplanMeierResult": _km,
    "KaplanMeierByGroup": lambda: stats.kaplan_meier_by(
        _survival()["time"], _survival()["event"], _survival()["arm"]
    ),
    "RestrictedMeanSurvival": lambda: _km().rmst(30.0),
    "LogrankResult": lambda: stats.logrank(
        _survival()["time"], _survival()["event"], _survival()["arm"]
    ),
    "CoxResult": lambda: stats.cox_ph(
        _survival(), time="time", event="event", covariates=["arm", "meld"]
    ),
    "GrayTestResult": lambda: stats.gray_test(
        _survival()["time"], _survival()["cause"], _survival()["arm"], cause_of_interest=1
    ),
    "CumulativeIncidenceResult": lambda: stats.cumulative_incidence(
        _survival()["time"], _survival()["cause"], group=_survival()["arm"]
    ),
    "FineGrayResult": lambda: stats.fine_gray(
        _survival(), time="time", cause="cause", covariates=["arm"], cause_of_interest=1
    ),
    "AncovaResult": lambda: stats.change_from_baseline(
        _linear(), baseline="baseline", follow_up="follow_up", group="arm"
    ),
    "ProportionsResult": lambda: stats.compare_proportions(9, 56, 18, 54, labels=("msc", "smt")),
    "RateRatioResult": lambda: stats.rate_ratio(
        _linear(), columns=stats.RateColumns(events="events", exposure="years", group="arm")
    ),
    "MmrmResult": lambda: stats.mmrm(
        _long(), outcome="change", group="arm", visit="visit", subject="subject"
    ),
}


def test_the_protocol_lists_its_members_once() -> None:
    declared = {name for name in vars(Result) if not name.startswith("_")}
    assert declared | set(Result.__annotations__) == set(RESULT_MEMBERS)


@pytest.mark.parametrize("name", sorted(RESULT_CLASSES))
def test_every_exported_class_declares_every_member(name: str) -> None:
    cls = RESULT_CLASSES[name]
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    fields = {f.name for f in dataclasses.fields(cls)}
    missing = [m for m in RESULT_MEMBERS if m not in fields and not hasattr(cls, m)]
    assert not missing, f"{name} lacks {missing}"
    assert cls.summary_columns, f"{name} does not declare summary_columns"
    assert name in EXAMPLES, f"add an example of {name} to EXAMPLES"


@pytest.mark.parametrize("name", sorted(RESULT_CLASSES))
def test_every_result_has_the_common_shape(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hepatrial.exceptions.ExclusionWarning)
        result = EXAMPLES[name]()
    assert type(result) is RESULT_CLASSES[name] and isinstance(result, Result)
    for member in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert isinstance(getattr(result, member), float), member
    # an interval limit may be NaN (a median's upper limit not reached), never on the wrong side
    assert not (result.ci_low > result.estimate or result.estimate > result.ci_high)
    assert result.n is None or (isinstance(result.n, int) and result.n > 0)
    assert all(isinstance(e, Exclusion) for e in result.exclusions)
    assert result.n_excluded == sum(e.count for e in result.exclusions)
    assert isinstance(result.method, str) and result.method
    assert result.version == hepatrial.__version__
    provenance = result.provenance
    assert list(provenance)[0] == "method" and provenance["method"] == result.method
    assert list(provenance)[-4:] == ["n_used", "n_excluded", "exclusions", "version"]
    assert provenance["version"] == hepatrial.__version__
    summary = result.summary
    assert isinstance(summary, pd.DataFrame) and len(summary) >= 1
    assert tuple(summary.columns) == type(result).summary_columns
    assert "\n" not in repr(result) and repr(result).startswith(name)
    assert isinstance(result.to_text(), str) and "<table" in result.to_html()


def test_exclusions_reach_every_survival_result() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hepatrial.exceptions.ExclusionWarning)
        fits = [EXAMPLES[name]() for name in ("KaplanMeierResult", "LogrankResult", "CoxResult")]
        fits.append(EXAMPLES["RestrictedMeanSurvival"]())
    for fit in fits:
        assert fit.n_excluded == 1 and fit.provenance["exclusions"] == "1 (missing time)"


def test_main_effects_read_the_fields_they_stand_for() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hepatrial.exceptions.ExclusionWarning)
        cox = EXAMPLES["CoxResult"]()
        km = EXAMPLES["KaplanMeierResult"]()
        mmrm = EXAMPLES["MmrmResult"]()
    assert cox.estimate == cox.hazard_ratio.iloc[0] and cox.se == cox.terms["se"].iloc[0]
    assert (cox.ci_low, cox.ci_high) == tuple(cox.ci.iloc[0])
    assert cox.p_value == cox.terms["p_value"].iloc[0]
    assert km.estimate == km.median.estimate and math.isnan(km.p_value)
    last = mmrm.differences.iloc[-1]
    assert (mmrm.estimate, mmrm.p_value) == (last["estimate"], last["p_value"])
    assert mmrm.n == mmrm.n_observations == 72
    proportions = EXAMPLES["ProportionsResult"]()
    p1, p2 = 9 / 56, 18 / 54
    assert proportions.n == 110 and proportions.estimate == proportions.risk_difference
    assert proportions.se == pytest.approx(math.sqrt(p1 * (1 - p1) / 56 + p2 * (1 - p2) / 54))
    rates = stats.rate_ratio(10, 40.5, 4, 41.25)
    assert rates.n is None and rates.se == pytest.approx(math.sqrt(1 / 10 + 1 / 4), rel=1e-14)
    with pytest.deprecated_call(match="read .se"):
        assert rates.log_rate_ratio_se == rates.se
