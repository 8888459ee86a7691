"""Batch engine: ancova_many and compare_proportions_many equal the single-trial functions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.stats import ancova, compare_proportions
from hepatrial.stats.batch import ancova_many, compare_proportions_many


def _simulate(rng: np.random.Generator, trials: int, n: int) -> dict[str, np.ndarray]:
    trial = np.repeat(np.arange(trials) * 7 + 3, n)  # sparse, non-contiguous keys
    group = rng.integers(0, 2, trials * n)
    baseline = rng.normal(18.0, 5.0, trials * n)
    change = -0.3 * baseline - 1.5 * group + rng.normal(5.0, 4.0, trials * n)
    order = rng.permutation(trials * n)  # rows need not be grouped by trial
    return {"trial": trial[order], "group": group[order], "baseline": baseline[order],
            "change": change[order]}  # fmt: skip


def _single(rows: dict[str, np.ndarray], key: int) -> object:
    mask = rows["trial"] == key
    frame = pd.DataFrame({k: v[mask] for k, v in rows.items()})
    return ancova(frame, outcome="change", group="group", covariates="baseline")


def _reordered(rows: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[order] for k, v in rows.items()}


def _by_trial(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return _reordered(rows, np.argsort(rows["trial"], kind="stable"))


def _assert_matches_single(
    rows: dict[str, np.ndarray], names: tuple[str, ...] = ("estimate", "se", "p_value")
) -> None:
    """ancova_many on ``rows`` equals ancova on each trial's rows to 1e-12 (relative)."""
    batch = ancova_many(rows["trial"], rows["change"], rows["group"], rows["baseline"])
    for i, key in enumerate(batch.trial):
        one = _single(rows, int(key))
        for name in names:
            assert getattr(batch, name)[i] == pytest.approx(getattr(one, name), rel=1e-12), name


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(6, 40), level=st.sampled_from([0.9, 0.95]))
def test_ancova_many_equals_ancova(seed: int, n: int, level: float) -> None:
    rng = np.random.default_rng(seed)
    rows = _simulate(rng, trials=5, n=n)
    batch = ancova_many(rows["trial"], rows["change"], rows["group"], rows["baseline"],
                        conf_level=level)  # fmt: skip
    assert batch.trial.tolist() == [3, 10, 17, 24, 31]
    for i, key in enumerate(batch.trial):
        mask = rows["trial"] == key
        arms = np.unique(rows["group"][mask])
        if len(arms) < 2 or mask.sum() < 4:
            assert np.isnan(batch.estimate[i])
            continue
        frame = pd.DataFrame({k: v[mask] for k, v in rows.items()})
        one = ancova(frame, outcome="change", group="group", covariates="baseline",
                     conf_level=level)  # fmt: skip
        # Relative 1e-12, or 1e-12 of the SE for location figures that happen to be near 0.
        for name in ("se", "df", "p_value"):
            assert getattr(batch, name)[i] == pytest.approx(getattr(one, name), rel=1e-12), name
        for name in ("estimate", "ci_low", "ci_high"):
            assert getattr(batch, name)[i] == pytest.approx(
                getattr(one, name), rel=1e-12, abs=1e-12 * one.se
            ), name
        assert batch.statistic[i] == pytest.approx(one.statistic, rel=1e-12, abs=1e-12)


def test_ancova_many_degenerate_trials_are_nan_not_errors() -> None:
    trial = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    group = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1])
    x = np.array([1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 6.0])
    y = np.array([1.0, 2.5, 2.0, 4.0, 1.0, 2.0, 2.5, 4.5, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ancova_many(trial, y, group, x)
    assert np.isnan(result.estimate[0]) and np.isnan(result.p_value[0])  # one arm only
    assert np.isfinite(result.estimate[1])
    assert result.n_reference.tolist() == [4, 2] and result.n_comparator.tolist() == [0, 3]
    assert list(result.summary.columns)[:3] == ["trial", "estimate", "se"]


def test_ancova_many_explains_bad_input() -> None:
    with pytest.raises(ValueError, match="group must be coded 0"):
        ancova_many([0, 0], [1.0, 2.0], [1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="trial must be a 1-D array of integer keys"):
        ancova_many([0.5, 1.0], [1.0, 2.0], [0, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="must be finite"):
        ancova_many([0, 0], [np.nan, 2.0], [0, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        ancova_many([0, 0, 0], [1.0, 2.0], [0, 1], [0.0, 1.0])


def test_ancova_many_large_keys_use_the_sorted_unique_path() -> None:
    rng = np.random.default_rng(11)
    rows = _simulate(rng, trials=3, n=20)
    keys = rows["trial"] * 10**12
    big = ancova_many(keys, rows["change"], rows["group"], rows["baseline"])
    small = ancova_many(rows["trial"], rows["change"], rows["group"], rows["baseline"])
    assert big.trial.tolist() == [3 * 10**12, 10 * 10**12, 17 * 10**12]
    np.testing.assert_array_equal(big.estimate, small.estimate)


tables = st.integers(1, 60).flatmap(
    lambda n1: st.integers(1, 60).flatmap(
        lambda n2: st.tuples(st.integers(0, n1), st.just(n1), st.integers(0, n2), st.just(n2))
    )
)


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(tables, min_size=1, max_size=12),
       test=st.sampled_from(["chisq", "chisq-yates"]))  # fmt: skip
def test_compare_proportions_many_equals_single(
    batch: list[tuple[int, int, int, int]], test: str
) -> None:
    x1, n1, x2, n2 = (np.array(column) for column in zip(*batch, strict=True))
    many = compare_proportions_many(x1, n1, x2, n2, test=test)  # type: ignore[arg-type]
    pairs = {"p_value": "p_value", "risk_difference": "risk_difference",
             "ci_low": "risk_difference_ci_low", "ci_high": "risk_difference_ci_high",
             "risk_ratio_ci_low": "risk_ratio_ci_low", "odds_ratio_ci_high": "odds_ratio_ci_high",
             "statistic": "statistic"}  # fmt: skip
    for i, table in enumerate(batch):
        one = compare_proportions(*table, test=test)  # type: ignore[arg-type]
        for many_name, single_name in pairs.items():
            expected = getattr(one, single_name)
            got = getattr(many, many_name)[i]
            if np.isnan(expected):
                assert np.isnan(got)
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_compare_proportions_many_refuses_fisher() -> None:
    with pytest.raises(ValueError, match="test='fisher' is not one of"):
        compare_proportions_many([1], [10], [2], [10], test="fisher")  # type: ignore[arg-type]


def test_ancova_many_sorted_rows_take_the_block_path_with_the_same_numbers() -> None:
    rng = np.random.default_rng(21)
    _assert_matches_single(_by_trial(_simulate(rng, trials=6, n=30)), ("estimate", "se"))


@pytest.mark.parametrize("shuffle", [False, True])
def test_ancova_many_recomputes_trials_where_one_pass_sums_lose_digits(shuffle: bool) -> None:
    # One trial far from the others (offset 1e3, unit spread): one-pass sums about the
    # overall mean would lose ~6 digits in every trial; the engine recomputes those trials
    # from deviations about their own arm means and still matches the QR fit to 1e-12.
    # (With the fallback disabled the shuffled case fails; sorted equal-size trials are
    # summed about their own means, which the next test defeats.)
    rng = np.random.default_rng(22)
    rows = _by_trial(_simulate(rng, trials=4, n=40))
    offsets = np.where(rows["trial"] == 10, 1e3, 0.0)
    rows["baseline"] = rows["baseline"] / 5.0 + offsets
    rows["change"] = rows["change"] + 3.0 * offsets
    if shuffle:
        rows = _reordered(rows, rng.permutation(len(rows["trial"])))
    _assert_matches_single(rows)


@pytest.mark.parametrize("shuffle", [False, True])
def test_ancova_many_recomputes_trials_whose_arms_lie_far_apart(shuffle: bool) -> None:
    # In one trial the comparator arm's outcomes lie 1e4 above the reference arm's (noise SD
    # 4): sums about any shift common to the whole trial (its mean on the sorted equal-size
    # path, the overall mean otherwise) lose ~6 digits of the residual sum of squares; the
    # engine recomputes that trial from deviations about its arm means and matches the QR
    # fit to 1e-12. (With the fallback disabled this test fails on both paths.)
    rng = np.random.default_rng(23)
    rows = _by_trial(_simulate(rng, trials=4, n=40))
    rows["change"] = rows["change"] + np.where(rows["trial"] == 17, 1e4, 0.0) * rows["group"]
    if shuffle:
        rows = _reordered(rows, rng.permutation(len(rows["trial"])))
    _assert_matches_single(rows)
