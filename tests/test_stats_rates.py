"""rate_ratio: call forms, direction, hand-checked figures, negative binomial behaviour, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from hepatrial.exceptions import ConvergenceError, ExclusionWarning
from hepatrial.stats import rate_ratio
from hepatrial.stats._negbin import fit_negative_binomial, loglik
from hepatrial.stats.rates import RateColumns

SAE = RateColumns(events="sae", exposure="years", group="arm")


def _participants(seed: int, n: int = 60, theta: float = 1.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "MSC"], n // 2)
    years = rng.uniform(0.2, 1.0, n)
    mu = years * np.where(arm == "MSC", 1.2, 2.0)
    counts = rng.negative_binomial(theta, theta / (theta + mu))
    return pd.DataFrame({"arm": arm, "sae": counts, "years": years})


def test_hand_computed_poisson() -> None:
    # 10 events in 40.5 years vs 4 in 41.25: RR = (10/40.5)/(4/41.25); conditional on 14 events,
    # e1 ~ Binomial(14, 40.5/81.75) under RR = 1; Wald SE of log RR = sqrt(1/10 + 1/4).
    r = rate_ratio(10, 40.5, 4, 41.25, labels=("control", "MSC"))
    assert r.estimate == pytest.approx((10 / 40.5) / (4 / 41.25), rel=1e-14)
    p = 40.5 / 81.75
    table = sps.binom.pmf(np.arange(15), 14, p)
    expected = table[table <= table[10] * (1 + 1e-7)].sum()
    assert r.p_value == pytest.approx(expected, rel=1e-12)
    assert r.se == pytest.approx(math.sqrt(0.35), rel=1e-14)
    assert r.rates == pytest.approx((10 / 40.5, 4 / 41.25))
    assert r.summary["contrast"].tolist() == ["control / MSC"] * 2
    assert repr(r).startswith("RateRatioResult(control / MSC = 2.546")


def test_per_participant_poisson_equals_aggregated() -> None:
    d = _participants(1)
    per = rate_ratio(d, columns=SAE, reference="control")
    msc, ctl = d[d.arm == "MSC"], d[d.arm == "control"]
    agg = rate_ratio(msc.sae.sum(), msc.years.sum(), ctl.sae.sum(), ctl.years.sum())
    assert per.labels == ("MSC", "control")
    for name in ("estimate", "ci_low", "ci_high", "p_value", "wald_p_value"):
        assert getattr(per, name) == pytest.approx(getattr(agg, name), rel=1e-12)
    assert per.n == 60


def test_negative_binomial_is_wider_than_poisson_on_overdispersed_counts() -> None:
    d = _participants(2, n=200, theta=0.8)
    nb = rate_ratio(d, columns=SAE, method="negative-binomial")
    pois = rate_ratio(d, columns=SAE)
    assert nb.theta is not None and 0.3 < nb.theta < 2.5
    assert nb.se > pois.se
    assert len(nb.summary) == 1


def test_negative_binomial_score_is_zero_at_the_fit() -> None:
    # Independent check of the maximum: the log-likelihood decreases in every direction.
    d = _participants(3, n=120, theta=1.0)
    y = d.sae.to_numpy(float)
    X = np.column_stack([np.ones(len(d)), (d.arm == "MSC").to_numpy(float)])
    offset = np.log(d.years.to_numpy())
    fit = fit_negative_binomial(y, X, offset)
    best = loglik(y, np.exp(X @ fit.coef + offset), fit.theta)
    assert best == pytest.approx(fit.loglik, rel=1e-14)
    for step in ([1e-4, 0, 0], [0, 1e-4, 0], [0, 0, 1e-4], [-1e-4, 0, 0], [0, 0, -1e-4]):
        beta = fit.coef + np.array(step[:2])
        theta = fit.theta * math.exp(step[2])
        assert loglik(y, np.exp(X @ beta + offset), theta) < best


def test_no_overdispersion_is_reported() -> None:
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"arm": np.repeat(["a", "b"], 100), "years": np.ones(200)})
    d["ae"] = rng.poisson(2.0, 200)
    d.loc[:, "ae"] = np.tile([2, 2, 2, 2, 3, 1], 34)[:200]  # underdispersed counts
    with pytest.raises(ConvergenceError, match="no overdispersion"):
        rate_ratio(
            d,
            columns=RateColumns(events="ae", exposure="years", group="arm"),
            method="negative-binomial",
        )


def test_missing_rows_are_counted() -> None:
    d = _participants(5)
    d.loc[[1, 2], "years"] = np.nan
    with pytest.warns(ExclusionWarning, match="2 of 60 rows excluded"):
        r = rate_ratio(d, columns=SAE)
    assert r.n == 58 and r.exclusions[0].reason == "missing years"
    assert r.provenance["exclusions"] == "2 (missing years)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rate_ratio(-1, 10.0, 2, 10.0), "events1=-1.0 must be a non-negative whole"),
        (lambda: rate_ratio(1, 0.0, 2, 10.0), "person_time1=0.0 must be positive"),
        (lambda: rate_ratio(0, 3.0, 0, 10.0), "no events in either group"),
        (
            lambda: rate_ratio(1, 3.0, 2, 10.0, method="negative-binomial"),
            "one row per participant",
        ),
        (lambda: rate_ratio(1, 3.0, 2, 10.0, method="zip"), "method='zip' is not one of"),
        (lambda: rate_ratio(_participants(6)), "name the columns"),
        (
            lambda: rate_ratio(_participants(6).assign(years=0.0), columns=SAE),
            "years must be positive person-time",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_explained(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@settings(max_examples=50, deadline=None)
@given(
    e1=st.integers(0, 60), e2=st.integers(0, 60),
    t1=st.floats(0.5, 200.0), t2=st.floats(0.5, 200.0),
)  # fmt: skip
def test_ci_contains_estimate_and_swap_inverts(e1: int, e2: int, t1: float, t2: float) -> None:
    if e1 + e2 == 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = rate_ratio(e1, t1, e2, t2)
        two = rate_ratio(e2, t2, e1, t1)
    assert one.ci_low <= one.estimate <= one.ci_high
    assert 0.0 <= one.p_value <= 1.0
    assert two.p_value == pytest.approx(one.p_value, rel=1e-9)
    if 0 < one.estimate < math.inf:
        assert two.estimate == pytest.approx(1.0 / one.estimate, rel=1e-12)
        assert two.ci_high == pytest.approx(1.0 / one.ci_low, rel=1e-9)
