"""Front end of ANCOVA and change-from-baseline: missing data, levels, rendering, properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import ExclusionWarning
from hepatrial.stats import AncovaResult, ancova, change_from_baseline


def _trial(seed: int, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "MSC"], n // 2)
    baseline = rng.normal(20.0, 4.0, n)
    follow_up = baseline * 0.6 + (arm == "MSC") * -2.0 + rng.normal(8.0, 3.0, n)
    return pd.DataFrame({"arm": arm, "meld_day0": baseline, "meld_day90": follow_up})


def test_hand_computed_parallel_lines() -> None:
    # y = x + 1 in arm a and y = x + 2 in arm b, plus residuals summing to zero within arms
    # and orthogonal to x: the adjusted difference is exactly 1 (hand derivation).
    x = np.array([1.0, 2.0, 3.0, 4.0] * 2)
    e = np.array([0.1, -0.1, -0.1, 0.1] * 2)
    y = x + np.repeat([1.0, 2.0], 4) + e
    d = pd.DataFrame({"y": y, "arm": ["a"] * 4 + ["b"] * 4, "x": x})
    result = ancova(d, outcome="y", group="arm", covariates="x")
    assert result.estimate == pytest.approx(1.0, abs=1e-12)
    assert result.df == 5
    # RSS = 8 * 0.01 = 0.08; sigma^2 = 0.016; Var = sigma^2 (1/4 + 1/4 + 0) (equal x means).
    assert result.se == pytest.approx(np.sqrt(0.016 * 0.5), rel=1e-12)
    assert result.lsmeans["lsmean"].tolist() == pytest.approx([3.5, 4.5], abs=1e-12)


def test_missing_values_are_counted_per_reason_and_warned() -> None:
    d = _trial(1)
    d.loc[[0, 5], "meld_day90"] = np.nan
    d.loc[[5, 7], "meld_day0"] = np.nan
    with pytest.warns(ExclusionWarning, match="3 of 40 rows excluded"):
        result = change_from_baseline(d, baseline="meld_day0", follow_up="meld_day90", group="arm")
    reasons = {e.reason: e.count for e in result.exclusions}
    assert reasons == {"missing meld_day0": 2, "missing meld_day90": 1}
    assert (result.n, result.n_excluded) == (37, 3)
    assert result.lsmeans["n"].sum() == 37


def test_default_reference_is_first_sorted_level_and_swapping_negates() -> None:
    d = _trial(2)
    default = change_from_baseline(d, baseline="meld_day0", follow_up="meld_day90", group="arm")
    assert (default.reference, default.comparator) == ("MSC", "control")
    swapped = change_from_baseline(
        d, baseline="meld_day0", follow_up="meld_day90", group="arm", reference="control"
    )
    assert swapped.estimate == pytest.approx(-default.estimate, rel=1e-12)
    assert swapped.se == pytest.approx(default.se, rel=1e-12)
    assert swapped.ci_low == pytest.approx(-default.ci_high, rel=1e-12)


def test_change_ancova_equals_follow_up_ancova() -> None:
    # Algebra: change = follow_up - baseline with baseline as covariate shifts only the slope.
    d = _trial(3)
    change = change_from_baseline(d, baseline="meld_day0", follow_up="meld_day90", group="arm")
    direct = ancova(d, outcome="meld_day90", group="arm", covariates=["meld_day0"])
    assert change.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert change.se == pytest.approx(direct.se, rel=1e-12)


def test_lsmean_difference_is_the_estimate() -> None:
    d = _trial(4)
    d["site"] = np.tile(["A", "B", "C", "D"], 10)
    result = change_from_baseline(
        d, baseline="meld_day0", follow_up="meld_day90", group="arm", covariates=["site"]
    )
    ls = result.lsmeans.set_index("group")["lsmean"]
    assert ls["control"] - ls["MSC"] == pytest.approx(result.estimate, rel=1e-12)


def test_summary_repr_and_rendering() -> None:
    result = change_from_baseline(
        _trial(5), baseline="meld_day0", follow_up="meld_day90", group="arm", method="welch"
    )
    assert isinstance(result, AncovaResult)
    assert list(result.summary.columns) == [
        "contrast", "estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high",
        "conf_level", "method", "n", "n_excluded",
    ]  # fmt: skip
    assert result.summary.loc[0, "contrast"] == "control - MSC"
    assert repr(result).startswith("AncovaResult(meld_day90 - meld_day0: control - MSC = ")
    assert "\n" not in repr(result)
    assert "welch" in result.to_text()
    assert result.to_html().startswith("<table")
    assert result.version


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "anova"}, "method='anova' is not one of"),
        ({"method": "t-test", "covariates": ["meld_day0"]}, "need method='ancova'"),
        ({"reference": "placebo"}, "reference='placebo' is not a level of arm"),
        ({"conf_level": 95}, "conf_level=95 must lie strictly between 0 and 1"),
        ({"group": "ward"}, r"column\(s\) \['ward'\] not found"),
    ],
)
def test_bad_input_is_explained(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"baseline": "meld_day0", "follow_up": "meld_day90", "group": "arm"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        change_from_baseline(_trial(6), **args)  # type: ignore[arg-type]


def test_three_arms_are_refused() -> None:
    d = _trial(7)
    d.loc[:5, "arm"] = "G-CSF"
    with pytest.raises(ValueError, match="exactly two levels"):
        ancova(d, outcome="meld_day90", group="arm", covariates="meld_day0")


def test_collinear_covariate_is_refused() -> None:
    d = _trial(8)
    d["meld_copy"] = 2.0 * d["meld_day0"]
    with pytest.raises(ValueError, match=r"\['meld_copy'\] are constant or collinear"):
        ancova(d, outcome="meld_day90", group="arm", covariates=["meld_day0", "meld_copy"])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["ancova", "t-test", "welch"]))
def test_ci_contains_estimate_and_swap_negates(seed: int, method: str) -> None:
    d = _trial(seed, n=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        options = {"baseline": "meld_day0", "follow_up": "meld_day90", "group": "arm"}
        one = change_from_baseline(d, **options, method=method)  # type: ignore[arg-type]
        two = change_from_baseline(d, **options, method=method, reference="control")  # type: ignore[arg-type]
    assert one.ci_low < one.estimate < one.ci_high
    assert (one.lsmeans["ci_low"] < one.lsmeans["lsmean"]).all()
    assert (one.lsmeans["lsmean"] < one.lsmeans["ci_high"]).all()
    assert two.estimate == pytest.approx(-one.estimate, rel=1e-9, abs=1e-12)
    assert two.p_value == pytest.approx(one.p_value, rel=1e-9)
    assert 0.0 <= one.p_value <= 1.0


def test_provenance_records_options_and_exclusions() -> None:
    d = _trial(9)
    d.loc[[2], "meld_day90"] = np.nan
    with pytest.warns(ExclusionWarning):
        result = change_from_baseline(
            d, baseline="meld_day0", follow_up="meld_day90", group="arm", method="t-test"
        )
    provenance = result.provenance
    assert provenance["method"] == "t-test"
    assert (provenance["n_used"], provenance["n_excluded"]) == (39, 1)
    assert provenance["exclusions"] == "1 (missing meld_day90)"
    assert provenance["version"] == result.version
