"""Batch log-rank and Kaplan-Meier: identical to the single-trial estimators, trial by trial."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.stats import kaplan_meier, logrank
from hepatrial.stats.batch import kaplan_meier_at_many, logrank_many


def _random_trials(rng: np.random.Generator, n_trials: int, k: int = 2) -> dict[str, np.ndarray]:
    """Trials of 2-30 patients with coarse times (many ties), some all censored or one-armed."""
    sizes = rng.integers(2, 31, n_trials)
    trial = np.repeat(np.arange(n_trials) * 7 + 3, sizes)  # non-contiguous keys
    n = trial.size
    time = rng.integers(0, 8, n).astype(float)
    event = (rng.random(n) < 0.6).astype(float)
    event[trial == 3] = 0.0  # first trial: every patient censored
    group = rng.integers(0, k, n)
    group[trial == 10] = 0  # second trial: one arm only
    return {"trial": trial, "time": time, "event": event, "group": group}


def _assert_batch_equals_single(data: dict[str, np.ndarray]) -> None:
    many = logrank_many(data["trial"], data["time"], data["event"], data["group"])
    levels = many.groups
    for i, key in enumerate(many.trials):
        rows = data["trial"] == key
        present = set(np.unique(data["group"][rows]))
        if len(present) < 2:
            assert many.df[i] == 0 and many.statistic[i] == 0.0 and np.isnan(many.p_value[i])
            continue
        single = logrank(data["time"][rows], data["event"][rows], data["group"][rows])
        columns = [levels.index(g) for g in single.groups]
        np.testing.assert_allclose(many.observed[i, columns], single.observed, rtol=1e-12, atol=0)
        np.testing.assert_allclose(
            many.expected[i, columns], single.expected, rtol=1e-12, atol=1e-13
        )
        assert many.df[i] == single.df
        np.testing.assert_allclose(many.statistic[i], single.statistic, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(many.p_value[i], single.p_value, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("k", [2, 3])
def test_logrank_many_equals_logrank_per_trial(k: int) -> None:
    data = _random_trials(np.random.default_rng(20261122 + k), 60, k)
    _assert_batch_equals_single(data)


def test_logrank_many_equals_logrank_with_distinct_times() -> None:
    """Mostly distinct times take the lexsort path of the engine (ties take the packed sort)."""
    data = _random_trials(np.random.default_rng(5), 40)
    data["time"] = data["time"] + np.random.default_rng(6).random(data["time"].size)
    data["time"][::7] = 3.0  # a few ties remain
    _assert_batch_equals_single(data)


def test_logrank_many_on_shuffled_rows_and_label_groups() -> None:
    rng = np.random.default_rng(7)
    data = _random_trials(rng, 40)
    order = rng.permutation(data["trial"].size)
    shuffled = {key: values[order] for key, values in data.items()}
    labels = np.where(shuffled["group"] == 1, "MSC", "control")
    many = logrank_many(
        shuffled["trial"], shuffled["time"], shuffled["event"], labels, reference="control"
    )
    sorted_many = logrank_many(data["trial"], data["time"], data["event"], data["group"])
    assert many.groups == ("control", "MSC")
    np.testing.assert_allclose(many.statistic, sorted_many.statistic, rtol=1e-12, atol=1e-14)
    assert many.z is not None and sorted_many.z is not None
    np.testing.assert_allclose(many.z, sorted_many.z, rtol=1e-12, atol=1e-14, equal_nan=True)
    tested = many.df > 0
    np.testing.assert_allclose(many.z[tested] ** 2, many.statistic[tested], rtol=1e-12)


def test_logrank_many_refuses_incomplete_data() -> None:
    with pytest.raises(ValueError, match="event has missing values"):
        logrank_many([0, 0], [1.0, 2.0], [1.0, np.nan], [0, 1])
    with pytest.raises(ValueError, match="same length"):
        logrank_many([0, 0], [1.0], [1.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match="time\\[0\\]=-1.0"):
        logrank_many([0, 0], [-1.0, 1.0], [1.0, 1.0], [0, 1])


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(1, 12))
def test_property_batch_equals_single(seed: int, n_trials: int) -> None:
    _assert_batch_equals_single(_random_trials(np.random.default_rng(seed), n_trials))


def _assert_km_batch_equals_single(
    data: dict[str, np.ndarray], times: list[float], conf_type: str, by_group: bool
) -> None:
    group = data["group"] if by_group else None
    batches = [
        kaplan_meier_at_many(
            data["trial"],
            data["time"],
            data["event"],
            t,
            group=group,
            conf_type=conf_type,  # type: ignore[arg-type]
        )
        for t in times
    ]
    levels = batches[0].groups or ()
    for i, key in enumerate(batches[0].trials):
        rows = data["trial"] == key
        cells = (
            [(rows & (data["group"] == level), (i, j)) for j, level in enumerate(levels)]
            if by_group
            else [(rows, i)]
        )
        for mask, index in cells:
            if not mask.any():
                assert all(np.isnan(b.survival[index]) and b.at_risk[index] == 0 for b in batches)
                continue
            single = kaplan_meier(data["time"][mask], data["event"][mask], conf_type=conf_type)  # type: ignore[arg-type]
            at = single.at(times)
            for b, (_, row) in zip(batches, at.iterrows(), strict=True):
                assert b.at_risk[index] == row["at_risk"]
                for name in ("survival", "std_err", "lower", "upper"):
                    np.testing.assert_allclose(
                        getattr(b, name)[index], row[name], rtol=1e-12, atol=1e-15, equal_nan=True
                    )


@pytest.mark.parametrize("conf_type", ["plain", "log", "log-log"])
@pytest.mark.parametrize("by_group", [False, True])
def test_kaplan_meier_at_many_equals_kaplan_meier_per_trial(conf_type: str, by_group: bool) -> None:
    data = _random_trials(np.random.default_rng(99), 20, k=3)
    _assert_km_batch_equals_single(data, [-1.0, 0.0, 3.0, 3.5, 7.0, 8.0], conf_type, by_group)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(1, 10), st.floats(0, 8))
def test_property_km_batch_equals_single(seed: int, n_trials: int, t: float) -> None:
    data = _random_trials(np.random.default_rng(seed), n_trials)
    _assert_km_batch_equals_single(data, [t], "log-log", by_group=True)
    many = kaplan_meier_at_many(data["trial"], data["time"], data["event"], t)
    s = many.survival[~np.isnan(many.survival)]
    assert np.all((s >= 0) & (s <= 1))


def test_logrank_many_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials grouped in rows are processed in blocks of whole trials; results are unchanged."""
    import hepatrial.stats.batch.survival as batch_survival

    data = _random_trials(np.random.default_rng(8), 50)
    whole = logrank_many(data["trial"], data["time"], data["event"], data["group"])
    monkeypatch.setattr(batch_survival, "CHUNK_ROWS", 37)
    chunked = logrank_many(data["trial"], data["time"], data["event"], data["group"])
    np.testing.assert_array_equal(chunked.trials, whole.trials)
    for name in ("statistic", "observed", "expected", "variance", "p_value"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))


def test_batch_results_render() -> None:
    data = _random_trials(np.random.default_rng(2), 3)
    many = logrank_many(data["trial"], data["time"], data["event"], data["group"])
    assert "p_value" in many.to_text() and "<table" in many.to_html() and "\n" not in repr(many)
    at = kaplan_meier_at_many(data["trial"], data["time"], data["event"], 3.0, group=data["group"])
    assert len(at.summary) == 3 * 2 and "survival" in at.to_text() and "\n" not in repr(at)


def test_stratified_logrank_many_equals_stratified_logrank() -> None:
    """``strata=``: per trial, the same numbers as ``logrank(..., strata=)``."""
    rng = np.random.default_rng(12)
    data = _random_trials(rng, 30)
    site = rng.choice(["north", "south", "east"], data["trial"].size)
    many = logrank_many(data["trial"], data["time"], data["event"], data["group"], strata=site)
    for i, key in enumerate(many.trials):
        rows = data["trial"] == key
        if len(set(data["group"][rows])) < 2:
            continue
        single = logrank(
            data["time"][rows], data["event"][rows], data["group"][rows], strata=site[rows]
        )
        np.testing.assert_allclose(many.expected[i], single.expected, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(many.variance[i], single.variance, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(many.statistic[i], single.statistic, rtol=1e-12, atol=1e-14)
