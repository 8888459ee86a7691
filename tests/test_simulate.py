"""hepatrial.simulate: calibration, agreement with analytic power, type I error, reproducibility.

Monte Carlo tolerances: every comparison of a simulated proportion p̂ from T trials with its
expected value p allows 4 Monte Carlo standard errors, 4·sqrt(p (1 − p) / T) (a two-sided
false-alarm rate of 6e-5 per check); seeds are fixed and nothing is retried.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from scipy import stats

from hepatrial.design import gs_boundaries
from hepatrial.protocol import load_protocol
from hepatrial.simulate import patients as pm
from hepatrial.simulate import screening, trial
from hepatrial.simulate.analysis import TrialOutcomes
from hepatrial.simulate.calibration import calibrate
from hepatrial.simulate.runner import Scenario, simulate, simulate_grid
from hepatrial.stats.batch import kaplan_meier_at_many


def _within_mc(simulated: float, expected: float, trials: int) -> None:
    tolerance = 4.0 * math.sqrt(expected * (1.0 - expected) / trials)
    assert abs(simulated - expected) < tolerance, (simulated, expected, tolerance)


def _same(a: TrialOutcomes | None, b: TrialOutcomes | None) -> None:
    assert a is not None and b is not None
    for f in fields(TrialOutcomes):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)


@pytest.mark.parametrize("protocol_id", ["match", "msc-aclf"])
def test_vectorized_eligibility_equals_protocol_expressions(protocol_id: str) -> None:
    # The column-wise evaluator gives, candidate by candidate, Expression.evaluate's answer.
    protocol = load_protocol(protocol_id)
    model = pm.load_model(pm.MODEL_FOR_PROTOCOL[protocol_id])
    values = trial._screen_values(protocol, model, np.random.default_rng(11), (1, 400))
    mask = screening.eligible(protocol, values)[0]
    for i in range(400):
        one = {k: v[0, i].item() for k, v in values.items()}
        expected = all(c.parsed.evaluate(one) for c in protocol.eligibility.inclusion) and not any(
            c.parsed.evaluate(one) for c in protocol.eligibility.exclusion
        )
        assert mask[i] == expected, one
    assert 0.2 < mask.mean() < 0.9


@pytest.mark.parametrize("model_id", ["compensated-cirrhosis", "hbv-aclf"])
def test_model_files_hold_their_calibration(model_id: str) -> None:
    # The stored scales and intercepts are what calibrate() finds (rounded in the YAML).
    model = pm.load_model(model_id)
    for key, value in calibrate(model_id, n=100_000).items():
        name, parameter = key.split(".")
        stored = getattr(model.events.get(name) or model.binary[name], parameter)
        assert stored == pytest.approx(value, rel=0.02), key


def test_aclf_control_arm_reproduces_the_msc_trial() -> None:
    # MSC trial control arm: 24-week survival 30/54 = 55.6% (KM with transplant censored) and
    # severe infection 18/54 = 33.3%. Simulated controls of 20 trials x 500 participants.
    protocol, model = load_protocol("msc-aclf"), pm.load_model("hbv-aclf")
    block = trial.simulate_block(
        protocol, model, np.random.default_rng(5), 20, 500, trial.Effects(), 3.0
    )
    control = ~block.treated
    n = int(control.sum())
    km = kaplan_meier_at_many(
        np.zeros(n, dtype=np.int64),
        block.death_time[control],
        block.death_observed[control].astype(float),
        168.0,
    )
    _within_mc(float(km.survival[0]), 0.556, n)
    assert block.complication is not None
    _within_mc(float(block.complication[control].mean()), 0.333, n)


def test_change_in_meld_power_matches_ancova_theory() -> None:
    # Analytic power of the baseline-adjusted t-test: residual SD from the model,
    # sigma_r^2 = Var(change) - sigma_e^4 / Var(baseline), Var(change) = sigma_slope90^2 + 2
    # sigma_e^2 and Var(baseline | eligible) = Var(screening MELD | eligible) + 2 sigma_e^2;
    # non-central t with df = m - 3 for the m complete cases of each trial.
    model = pm.load_model("compensated-cirrhosis")
    course = model.meld_course
    assert course is not None
    values, _ = trial.screen(load_protocol("match"), model, np.random.default_rng(99), 1, 100_000)
    noise = course.measurement_sd**2
    var_change = (course.drift_sd_per_year * 90 / 365.25) ** 2 + 2 * noise
    var_baseline = float(values["meld_continuous"].var()) + 2 * noise
    sd_residual = math.sqrt(var_change - noise**2 / var_baseline)
    trials = 3000
    result = simulate(
        protocol="match",
        n=51,
        meld_shift=-0.87,
        trials=trials,
        seed=21,
        workers=1,
        keep_trials=True,
    )
    assert result.outcomes is not None
    m = result.outcomes.information
    ncp = 0.87 / (sd_residual * np.sqrt(4.0 / m))
    analytic = float(np.mean(stats.nct.sf(stats.t.isf(0.025, m - 3), m - 3, ncp)))
    _within_mc(result.power, analytic, trials)
    assert abs(result.bias) < 4 * result.empirical_se / math.sqrt(trials)
    _within_mc(result.coverage, 0.95, trials)


def test_survival_power_matches_schoenfeld() -> None:
    # Schoenfeld: power = Phi(|log HR| sqrt(D / 4) - z_0.975), averaged over each trial's D
    # deaths; HR 0.75 is close enough to 1 for the approximation (checked to < 1 MC SE with
    # 20 000 trials).
    trials = 3000
    result = simulate(
        protocol="msc-aclf", n=300, hr=0.75, trials=trials, seed=8, workers=1, keep_trials=True
    )
    assert result.outcomes is not None
    deaths = result.outcomes.information
    analytic = float(np.mean(stats.norm.cdf(-math.log(0.75) * np.sqrt(deaths / 4) - 1.959964)))
    _within_mc(result.power, analytic, trials)


@pytest.mark.parametrize("protocol_id", ["match", "msc-aclf"])
def test_type_one_error_under_the_null(protocol_id: str) -> None:
    trials = 4000
    result = simulate(protocol=protocol_id, n=110, trials=trials, seed=31, workers=1)
    _within_mc(result.rejection_two_sided, 0.05, trials)
    _within_mc(result.power, 0.025, trials)


def test_group_sequential_stops_spend_alpha_under_the_null() -> None:
    # Under HR = 1 the log-rank Z at event-driven looks has the canonical joint distribution,
    # so the probability of stopping for efficacy at look k is the alpha spent at look k.
    design = gs_boundaries(k=3, alpha=0.05)
    trials = 6000
    result = simulate(
        protocol="msc-aclf",
        n=300,
        boundaries=design,
        max_events=110,
        trials=trials,
        seed=4,
        workers=1,
    )
    spent = np.diff((0.0, *design.alpha_spent))
    for simulated, expected in zip(result.stop_efficacy, spent, strict=True):
        _within_mc(simulated, float(expected), trials)
    _within_mc(result.power, 0.025, trials)


def test_group_sequential_change_in_meld_under_the_null() -> None:
    # Looks at half and all participants reaching day 90; the ANCOVA t is mapped to Z through
    # its P value, so each look spends (about) its alpha.
    design = gs_boundaries(k=2, alpha=0.05, spending="pocock")
    trials = 5000
    result = simulate(protocol="match", n=120, boundaries=design, trials=trials, seed=6, workers=1)
    spent = np.diff((0.0, *design.alpha_spent))
    for simulated, expected in zip(result.stop_efficacy, spent, strict=True):
        _within_mc(simulated, float(expected), trials)
    assert result.expected_n < 120


def test_group_sequential_design_stops_early_under_the_alternative() -> None:
    design = gs_boundaries(k=3, alpha=0.05, beta=0.2, futility="obf")
    result = simulate(
        protocol="msc-aclf",
        n=300,
        hr=0.6,
        boundaries=design,
        max_events=140,
        trials=1000,
        seed=4,
        workers=1,
    )
    assert sum(result.stop_efficacy) == pytest.approx(result.power)
    assert result.stop_efficacy[1] > 0.2
    assert result.expected_n < 300
    assert result.summary.columns.tolist()[-1] == "stop_futility_3"


def test_same_seed_same_results_whatever_the_chunking() -> None:
    scenario = Scenario(protocol="msc-aclf", n=60, hr=0.7)
    options = {"trials": 2500, "seed": 13, "keep_trials": True}
    one = simulate(scenario, workers=1, chunk_size=1000, **options)
    two = simulate(scenario, workers=1, chunk_size=3000, **options)
    pooled = simulate(scenario, workers=2, chunk_size=1000, **options)
    _same(one.outcomes, two.outcomes)
    _same(one.outcomes, pooled.outcomes)
    assert one.power == pooled.power
    other = simulate(scenario, workers=1, trials=2500, seed=14)
    assert other.power != one.power or other.mean_estimate != one.mean_estimate


def test_trials_do_not_depend_on_the_total() -> None:
    # Block b has its own SeedSequence child: the first 1000 trials are the same in any run.
    short = simulate(protocol="match", n=40, trials=1000, seed=2, workers=1, keep_trials=True)
    long = simulate(protocol="match", n=40, trials=2000, seed=2, workers=1, keep_trials=True)
    assert short.outcomes is not None and long.outcomes is not None
    np.testing.assert_array_equal(short.outcomes.z, long.outcomes.z[:1000])


def test_dask_gives_the_local_results() -> None:
    distributed = pytest.importorskip("distributed")
    scenarios = [Scenario(protocol="msc-aclf", n=60, hr=hr) for hr in (1.0, 0.6)]
    options = {"trials": 2000, "seed": 17, "chunk_size": 1000, "keep_trials": True}
    local = simulate_grid(scenarios, workers=1, **options)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = simulate_grid(
            scenarios, backend="dask", scheduler=cluster.scheduler_address, **options
        )
    for a, b in zip(local.results, remote.results, strict=True):
        _same(a.outcomes, b.outcomes)
    assert local.summary.equals(remote.summary)


def test_minimisation_balances_the_match_arms() -> None:
    protocol, model = load_protocol("match"), pm.load_model("compensated-cirrhosis")
    block = trial.simulate_block(
        protocol, model, np.random.default_rng(3), 200, 51, trial.Effects(), 1.5
    )
    imbalance = np.abs(2 * block.treated.sum(axis=1) - 51)
    # Simple randomization would exceed 7 in about 30% of trials; minimisation with p = 0.8
    # over one three-level factor keeps the arms within a few participants.
    assert imbalance.max() <= 7


def test_bad_scenarios_are_refused() -> None:
    with pytest.raises(ValueError, match="n=2"):
        Scenario(n=2)
    with pytest.raises(ValueError, match="hr=0"):
        Scenario(hr=0)
    with pytest.raises(ValueError, match="scheduler="):
        simulate(protocol="match", n=20, trials=10, seed=1, backend="dask")
    with pytest.raises(ValueError, match="no default patient model"):
        simulate(protocol="realistic", n=20, trials=10, seed=1, workers=1)


def test_patient_model_files_refuse_typos_and_bad_matrices() -> None:
    from pydantic import ValidationError

    data = pm.load_model("hbv-aclf").model_dump()
    with pytest.raises(ValidationError, match="accrual_per_mont"):
        pm.PatientModel.model_validate({**data, "accrual_per_mont": 3.0})
    labs = {
        **data["labs"],
        "log_correlation": [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]],
    }
    with pytest.raises(ValidationError, match="positive definite"):
        pm.PatientModel.model_validate({**data, "labs": labs})
    with pytest.raises(ValidationError, match="unknown events"):
        pm.PatientModel.model_validate({**data, "effects": {"hr_applies_to": ["stroke"]}})


def test_pooled_screening_matches_per_trial_screening() -> None:
    # The pre-screened pool and per-trial screening are two samplers of the same eligible
    # population: candidates screened per trial (mean n / p) and power agree within MC error.
    trials = 3000
    pooled = simulate(protocol="match", n=80, meld_shift=-0.7, trials=trials, seed=9, workers=1)
    direct = simulate(
        protocol="match",
        n=80,
        meld_shift=-0.7,
        trials=trials,
        seed=9,
        workers=1,
        screening="per_trial",
    )
    p = trial.eligible_pool("match", "compensated-cirrhosis", 9).eligible_fraction
    sd_screened = math.sqrt(80 * (1 - p)) / p  # negative binomial SD of the screened count
    gap = pooled.mean_screened - direct.mean_screened
    assert abs(gap) < 4 * math.sqrt(2) * sd_screened / math.sqrt(trials)
    difference = pooled.power - direct.power
    assert abs(difference) < 4 * math.sqrt(2 * pooled.power * (1 - pooled.power) / trials)
    with pytest.raises(ValueError, match="screening='all'"):
        Scenario(screening="all")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "successes", "stop_looks", "mean_z", "mean_estimate", "first_z"),
    [
        (
            {"protocol": "msc-aclf", "n": 110, "hr": 0.53, "trials": 3000, "seed": 20_260_511},
            1472,
            3000,
            1.9297146195972679,
            -0.6287959029014453,
            (0.1020665366247311, 2.467283685285436, 1.3242203015378122),
        ),
        (
            {"protocol": "match", "n": 51, "meld_shift": -0.87, "trials": 1000, "seed": 21},
            451,
            1000,
            1.8331236402646145,
            -0.853616155835564,
            (3.239071750054029, 1.3447289566283267, 1.0764882127408406),
        ),
        (
            {
                "protocol": "msc-aclf",
                "n": 300,
                "hr": 0.7,
                "boundaries": gs_boundaries(k=3, alpha=0.05),
                "max_events": 110,
                "trials": 1000,
                "seed": 4,
            },
            432,
            2861,
            1.8087985638526989,
            -0.36622602578316765,
            (2.8208315829876587, 2.2209941950864747, 3.0213305912723416),
        ),
    ],
)
def test_a_seed_keeps_its_results(
    options: dict[str, object],
    successes: int,
    stop_looks: int,
    mean_z: float,
    mean_estimate: float,
    first_z: tuple[float, ...],
) -> None:
    # Regression pin: the expected numbers were recorded from this very simulation at commit
    # f316034 (before the allocation and log-rank code were tuned for speed). Faster code must
    # draw the same random streams and do the same arithmetic: the counts are exact, the means
    # and statistics agree to 1e-12 (room only for last-bit differences between math libraries).
    result = simulate(workers=1, keep_trials=True, **options)  # type: ignore[arg-type]
    assert result.outcomes is not None
    assert int(result.outcomes.success.sum()) == successes
    assert int(result.outcomes.stop_look.sum()) == stop_looks
    assert float(result.outcomes.z.mean()) == pytest.approx(mean_z, rel=1e-12)
    assert float(result.outcomes.estimate.mean()) == pytest.approx(mean_estimate, rel=1e-12)
    assert tuple(result.outcomes.z[:3]) == pytest.approx(first_z, rel=1e-12)


def test_row_engine_equals_the_segment_engine_exactly() -> None:
    # logrank_many takes a row-wise path for trials of equal size; it must give the general
    # (segment-sorted) engine's numbers bit for bit, with ties, three groups and a lone record.
    from hepatrial.stats._logrank_engine import logrank_components, logrank_components_rows

    rng = np.random.default_rng(12)
    tied = rng.integers(0, 6, (300, 25)).astype(np.float64)
    continuous = np.minimum(rng.exponential(1.0, (300, 25)), 1.5)
    for time, k in ((tied, 3), (continuous, 2), (tied[:, :1], 2)):
        n_trials, size = time.shape
        event = rng.random(time.shape) < 0.6
        group = rng.integers(0, k, time.shape)
        rows = logrank_components_rows(time, event, group, k)
        segments = logrank_components(
            np.repeat(np.arange(n_trials), size),
            n_trials,
            time.ravel(),
            event.ravel().astype(np.float64),
            group.ravel(),
            k,
        )
        for name in ("observed", "expected", "variance"):
            np.testing.assert_array_equal(getattr(rows, name), getattr(segments, name))
