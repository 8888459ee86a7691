"""Cox front end: separation, collinearity, text covariates, options, rendering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatrial.exceptions import ConvergenceError, ExclusionWarning
from hepatrial.stats import CoxResult, cox_ph


def _trial(seed: int = 1, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["MSC", "control"], n)
    meld = rng.normal(22, 4, n)
    hazard = 0.02 * np.exp(-0.5 * (arm == "MSC") + 0.08 * (meld - 22))
    time = rng.exponential(1 / hazard)
    follow_up = rng.uniform(30, 90, n)
    return pd.DataFrame(
        {
            "days": np.round(np.minimum(time, follow_up)),
            "death": (time <= follow_up).astype(int),
            "arm": arm,
            "meld": meld,
            "site": rng.choice(["A", "B", "C"], n),
        }
    )


def test_separation_raises_convergence_error() -> None:
    """Every treated patient survives longer than every control death: the hazard ratio of
    treatment is 0 (coefficient -> -inf); R warns 'coefficient may be infinite'."""
    data = pd.DataFrame(
        {
            "days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "death": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
            "treated": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        }
    )
    with pytest.raises(ConvergenceError, match=r"monotone likelihood.*\['treated'\]"):
        cox_ph(data, time="days", event="death", covariates=["treated"])


def test_collinear_covariates_are_refused() -> None:
    data = _trial()
    data["meld_copy"] = 2 * data["meld"] + 1
    with pytest.raises(ConvergenceError, match="singular"):
        cox_ph(data, time="days", event="death", covariates=["meld", "meld_copy"])


def test_text_covariate_becomes_indicator_against_reference() -> None:
    data = _trial()
    default = cox_ph(data, time="days", event="death", covariates=["arm", "meld"])
    flipped = cox_ph(
        data, time="days", event="death", covariates=["arm", "meld"], reference="control"
    )
    assert list(default.coef.index) == ["arm=control", "meld"]
    assert list(flipped.coef.index) == ["arm=MSC", "meld"]
    assert default.references == {"arm": "MSC"}
    # swapping the reference negates the coefficient and inverts the hazard ratio
    assert flipped.coef["arm=MSC"] == pytest.approx(-default.coef["arm=control"], rel=1e-9)
    assert flipped.hazard_ratio["arm=MSC"] == pytest.approx(
        1 / default.hazard_ratio["arm=control"], rel=1e-9
    )
    with pytest.raises(ValueError, match="reference 'placebo' is not a level of arm"):
        cox_ph(data, time="days", event="death", covariates=["arm"], reference="placebo")


def test_missing_values_are_excluded_and_reported() -> None:
    data = _trial()
    data.loc[[3, 7], "meld"] = np.nan
    data.loc[[5], "arm"] = None
    with pytest.warns(ExclusionWarning, match="3 of 120 records excluded"):
        result = cox_ph(data, time="days", event="death", covariates=["arm", "meld"])
    assert result.n == len(data) - 3 and result.n_excluded == 3
    assert result.provenance["exclusions"] == "1 (missing arm); 2 (missing meld)"


def test_options_and_columns_are_checked() -> None:
    data = _trial()
    with pytest.raises(ValueError, match="ties='exact'"):
        cox_ph(data, time="days", event="death", covariates=["meld"], ties="exact")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"\['bilirubin'\] are not in the data"):
        cox_ph(data, time="days", event="death", covariates=["bilirubin"])
    data["death"] = data["death"] * 2
    with pytest.raises(ValueError, match="death must be 0 .censored. or 1"):
        cox_ph(data, time="days", event="death", covariates=["meld"])


def test_robust_cluster_and_strata_provenance_and_rendering() -> None:
    data = _trial()
    result = cox_ph(
        data, time="days", event="death", covariates=["arm", "meld"], strata="site", cluster="site"
    )
    assert isinstance(result, CoxResult)
    assert result.robust and result.n_clusters == 3 and result.n_strata == 3
    assert list(result.summary.columns) == [
        "term",
        "coef",
        "hazard_ratio",
        "se",
        "se_model",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
    ]
    low, high = result.ci.loc["meld"]
    assert low < result.hazard_ratio["meld"] < high
    statistic, df, p = result.likelihood_ratio
    assert statistic > 0 and df == 2 and 0 <= p <= 1
    assert "\n" not in repr(result) and "<table" in result.to_html()
    assert 0.5 < result.concordance < 1


def test_concordance_counts_equal_brute_force_pair_counts() -> None:
    """R's rule: comparable if the shorter time is a death (a censoring tied with a death
    counts as longer); concordant if the earlier death has the higher risk score."""
    from hepatrial.stats._concordance import concordance

    rng = np.random.default_rng(17)
    for _ in range(60):
        n = int(rng.integers(1, 35))
        t = rng.integers(0, 6, n).astype(float)
        e = rng.integers(0, 2, n).astype(float)
        x = rng.integers(0, 4, n).astype(float)
        s = rng.integers(0, 2, n)
        counts = [0, 0, 0]
        for i in np.flatnonzero(e == 1):
            for j in range(n):
                if s[j] == s[i] and (t[j] > t[i] or (t[j] == t[i] and e[j] == 0)):
                    counts[0 if x[i] > x[j] else 1 if x[i] < x[j] else 2] += 1
        result = concordance(t, e, x, s)
        assert (result.concordant, result.discordant, result.tied_risk) == tuple(counts)


def test_a_stratum_without_events_contributes_nothing() -> None:
    """A stratum whose records are all censored adds no term to the partial likelihood and no
    comparable pair (R's coxph fits it; e.g. coxph(Surv(t, e) ~ x + strata(s)) with one
    stratum all censored): the fit equals the fit without that stratum."""
    data = _trial(seed=4, n=150)
    data["stratum"] = np.repeat(["a", "b", "c"], 50)
    data.loc[data["stratum"] == "c", "death"] = 0
    kept = data[data["stratum"] != "c"]
    for ties in ("efron", "breslow"):
        full = cox_ph(data, time="days", event="death", covariates=["arm", "meld"],
                      strata="stratum", ties=ties, robust=True)  # fmt: skip
        part = cox_ph(kept, time="days", event="death", covariates=["arm", "meld"],
                      strata="stratum", ties=ties, robust=True)  # fmt: skip
        np.testing.assert_allclose(full.coef, part.coef, rtol=1e-12)
        np.testing.assert_allclose(full.terms["se"], part.terms["se"], rtol=1e-12)
        np.testing.assert_allclose(full.loglik, part.loglik, rtol=1e-12)
        assert full.concordance == part.concordance


def test_no_event_at_all_is_refused_by_name() -> None:
    data = _trial()
    data["death"] = 0
    with pytest.raises(ValueError, match="death: none of the 120 records used has an event"):
        cox_ph(data, time="days", event="death", covariates=["meld"])
