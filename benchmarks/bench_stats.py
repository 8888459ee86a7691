"""Speed of hepatrial's statistics against lifelines and statsmodels, printed as ratios.

Run:  .venv-bench/bin/python benchmarks/bench_stats.py  [--trials 100000] [--only cox ancova]

Sections (one run prints all):
  1. log-rank on 2,000 and 100,000 simulated two-arm trials of 110 patients:
     ``hepatrial.stats.batch.logrank_many`` vs a per-trial loop of lifelines' ``logrank_test``.
     The lifelines loop is timed on a subsample of trials and extrapolated linearly (stated in
     the output). Goals: >= 300x, and 100,000 trials in < 10 s.
  2. Kaplan-Meier on 1,000,000 rows: ``hepatrial.stats.kaplan_meier`` vs ``KaplanMeierFitter``.
  3. Cox regression on 100,000 rows x 6 covariates: ``hepatrial.stats.cox_ph`` (which also
     computes Harrell's C) vs ``CoxPHFitter.fit`` (whose C is computed later, on first access,
     and timed apart), timed alternately (goal: no slower).
  4. ANCOVA on 100,000 trials: ``hepatrial.stats.batch.ancova_many`` vs statsmodels OLS loops,
     on design arrays and with the formula interface (timed on a subsample, extrapolated; goal
     >= 100x); ``ancova_many`` and the array loop are timed alternately.
Each timing is the best of a few repeats (the machine is shared). Every random stream is a
seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.stats import cox_ph, kaplan_meier
from hepatrial.stats.batch import ancova_many, logrank_many

PATIENTS = 110


def best_of(repeats: int, func: Callable[[], Any]) -> tuple[float, Any]:
    """Shortest wall time of ``repeats`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_alternately(rounds: int, **funcs: Callable[[], Any]) -> dict[str, tuple[float, Any]]:
    """Each function once per round, in turn, for ``rounds`` rounds: best wall time and last
    result of each. Alternating spreads the shared machine's load over both sides."""
    best: dict[str, tuple[float, Any]] = {name: (float("inf"), None) for name in funcs}
    for _ in range(rounds):
        for name, func in funcs.items():
            start = time.perf_counter()
            result = func()
            elapsed = time.perf_counter() - start
            best[name] = (min(best[name][0], elapsed), result)
    return best


def simulate_survival_trials(rng: np.random.Generator, n_trials: int) -> dict[str, np.ndarray]:
    """Two-arm 1:1 trials: exponential deaths (control median 60 d, HR 0.6), 90-day follow-up."""
    n = n_trials * PATIENTS
    trial = np.repeat(np.arange(n_trials, dtype=np.int64), PATIENTS)
    arm = np.tile(np.arange(PATIENTS) % 2, n_trials)
    rate = np.log(2) / 60 * np.where(arm == 1, 0.6, 1.0)
    death = rng.exponential(1 / rate)
    dropout = rng.exponential(1000.0, n)
    time_days = np.ceil(np.minimum.reduce([death, dropout, np.full(n, 90.0)]))
    event = ((death <= dropout) & (death <= 90.0)).astype(np.float64)
    return {"trial": trial, "time": time_days, "event": event, "arm": arm}


def lifelines_logrank_loop(data: dict[str, np.ndarray], trials: np.ndarray) -> np.ndarray:
    from lifelines.statistics import logrank_test

    p_values = np.empty(trials.size)
    for i, key in enumerate(trials):
        rows = slice(key * PATIENTS, (key + 1) * PATIENTS)
        t, e, a = data["time"][rows], data["event"][rows], data["arm"][rows]
        p_values[i] = logrank_test(t[a == 0], t[a == 1], e[a == 0], e[a == 1]).p_value
    return p_values


def bench_logrank(rng: np.random.Generator, n_large: int, subsample: int) -> None:
    print("\n== Log-rank: two-arm trials of 110 patients ==")
    data = simulate_survival_trials(rng, n_large)
    sample = np.arange(subsample)
    lifelines_seconds, lifelines_p = best_of(1, lambda: lifelines_logrank_loop(data, sample))
    per_trial = lifelines_seconds / subsample
    print(
        f"lifelines logrank_test loop: {lifelines_seconds:.2f} s for {subsample} trials "
        f"({1e3 * per_trial:.2f} ms/trial; larger counts extrapolated linearly from this subsample)"
    )
    for n_trials in (2_000, n_large):
        rows = slice(0, n_trials * PATIENTS)
        seconds, result = best_of(
            3 if n_trials <= 2_000 else 1,
            lambda rows=rows: logrank_many(
                data["trial"][rows], data["time"][rows], data["event"][rows], data["arm"][rows]
            ),
        )
        extrapolated = per_trial * n_trials
        print(
            f"{n_trials:>7,} trials: hepatrial logrank_many {seconds:.3f} s; lifelines loop "
            f"~{extrapolated:.1f} s (extrapolated) -> {extrapolated / seconds:,.0f}x faster "
            f"(goal >= 300x{'; 100,000 trials < 10 s' if n_trials >= 100_000 else ''})"
        )
    agreement = np.max(np.abs(result.p_value[:subsample] - lifelines_p))
    print(f"max |p hepatrial - p lifelines| over the {subsample} checked trials: {agreement:.2e}")
    # Same trials with exact (not whole-day) times: the engine's distinct-times sort path.
    exact = data["time"] - rng.random(data["time"].size) * (data["time"] < 90.0)
    seconds, _ = best_of(1, lambda: logrank_many(data["trial"], exact, data["event"], data["arm"]))
    print(
        f"{n_large:>7,} trials with continuous times: hepatrial logrank_many {seconds:.3f} s -> "
        f"{per_trial * n_large / seconds:,.0f}x the lifelines loop (extrapolated)"
    )


def bench_kaplan_meier(rng: np.random.Generator) -> None:
    from lifelines import KaplanMeierFitter

    print("\n== Kaplan-Meier on 1,000,000 rows ==")
    n = 1_000_000
    time_days = np.round(rng.exponential(400.0, n), 1)
    event = (rng.random(n) < 0.7).astype(np.int64)
    ours, fit = best_of(3, lambda: kaplan_meier(time_days, event, conf_type="log-log"))
    theirs, kmf = best_of(3, lambda: KaplanMeierFitter().fit(time_days, event))
    timeline = kmf.survival_function_.index.to_numpy()
    ours_on_timeline = fit.at(timeline)["survival"].to_numpy()
    diff = np.max(np.abs(ours_on_timeline - kmf.survival_function_.iloc[:, 0].to_numpy()))
    print(
        f"hepatrial kaplan_meier {ours:.3f} s; lifelines KaplanMeierFitter {theirs:.3f} s "
        f"-> ratio {theirs / ours:.2f}x (goal >= 1); max |S difference| {diff:.1e}"
    )


def bench_cox(rng: np.random.Generator) -> None:
    from lifelines import CoxPHFitter

    print("\n== Cox regression on 100,000 rows x 6 covariates (Efron ties) ==")
    n = 100_000
    x = rng.normal(size=(n, 6))
    linear = x @ np.array([0.3, -0.2, 0.1, 0.0, 0.5, -0.4])
    death = rng.exponential(np.exp(-linear))
    censor = rng.exponential(1.5, n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)])
    frame["time"] = np.round(np.minimum(death, censor), 3)
    frame["event"] = (death <= censor).astype(int)
    covariates = [f"x{i}" for i in range(6)]
    timings = best_alternately(
        5,
        hepatrial=lambda: cox_ph(frame, time="time", event="event", covariates=covariates),
        lifelines=lambda: CoxPHFitter().fit(frame, "time", "event"),
    )
    (ours, fit), (theirs, cph) = timings["hepatrial"], timings["lifelines"]
    diff = np.max(np.abs(fit.coef.to_numpy() - cph.params_.to_numpy()))
    # lifelines computes its concordance lazily, on first access: timed apart, not in the ratio
    c_seconds, c_lifelines = best_of(1, lambda: cph.concordance_index_)
    print(
        f"hepatrial cox_ph {ours:.3f} s (incl. concordance); lifelines CoxPHFitter.fit "
        f"{theirs:.3f} s (excl. concordance) -> ratio {theirs / ours:.2f}x (goal >= 1; best of "
        f"5, alternately); max |coef difference| {diff:.1e}"
    )
    print(
        f"lifelines concordance_index_ on first access: a further {c_seconds:.3f} s; "
        f"|C difference| {abs(fit.concordance - c_lifelines):.1e}"
    )


def bench_ancova(rng: np.random.Generator, n_trials: int, subsample: int) -> None:
    import statsmodels.api as sm

    print("\n== ANCOVA (change ~ arm + baseline) on simulated trials of 110 patients ==")
    n = n_trials * PATIENTS
    trial = np.repeat(np.arange(n_trials, dtype=np.int64), PATIENTS)
    arm = np.tile(np.arange(PATIENTS) % 2, n_trials)
    baseline = rng.normal(15.0, 3.0, n)
    change = -0.8 * arm - 0.3 * (baseline - 15.0) + rng.normal(0.0, 2.5, n)

    import statsmodels.formula.api as smf

    def array_loop() -> np.ndarray:
        estimates = np.empty(subsample)
        for key in range(subsample):
            rows = slice(key * PATIENTS, (key + 1) * PATIENTS)
            design = np.column_stack((np.ones(PATIENTS), arm[rows], baseline[rows]))
            estimates[key] = sm.OLS(change[rows], design).fit().params[1]
        return estimates

    def formula_loop() -> np.ndarray:
        estimates = np.empty(subsample)
        for key in range(subsample):
            rows = slice(key * PATIENTS, (key + 1) * PATIENTS)
            frame = pd.DataFrame(
                {"change": change[rows], "arm": arm[rows], "baseline": baseline[rows]}
            )
            estimates[key] = smf.ols("change ~ arm + baseline", data=frame).fit().params["arm"]
        return estimates

    timings = best_alternately(
        5, ours=lambda: ancova_many(trial, change, arm, baseline), arrays=array_loop
    )
    timings["formula"] = best_of(2, formula_loop)  # seconds per round: two rounds suffice
    ours, result = timings["ours"]
    print(
        f"hepatrial ancova_many: {ours:.3f} s for {n_trials:,} trials (estimate, SE, t, P, CI "
        f"per trial; best of 5, alternating with the array loop)"
    )
    loops = (("statsmodels OLS on arrays", "arrays"), ("statsmodels formula OLS", "formula"))
    for label, key in loops:
        theirs, reference = timings[key]
        extrapolated = theirs / subsample * n_trials
        diff = np.max(np.abs(np.asarray(result.estimate)[:subsample] - reference))
        print(
            f"{label} loop: {theirs:.2f} s for {subsample} trials ({1e3 * theirs / subsample:.3f} "
            f"ms/trial; extrapolated linearly to {n_trials:,}: ~{extrapolated:.0f} s) -> "
            f"{extrapolated / ours:,.0f}x (goal >= 100x); max |estimate difference| {diff:.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000, help="large trial count")
    parser.add_argument("--subsample", type=int, default=300, help="trials timed in loops")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["logrank", "km", "cox", "ancova"],
        default=["logrank", "km", "cox", "ancova"],
        help="sections to run (default: all)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20261122)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"hepatrial statistics benchmark (best of repeats; shared machine, {os.cpu_count()} "
        f"cores, load average {load})"
    )
    # each section draws from its own stream, so a section's data do not depend on --only
    streams = dict(zip(["logrank", "km", "cox", "ancova"], rng.spawn(4), strict=True))
    if "logrank" in args.only:
        bench_logrank(streams["logrank"], args.trials, args.subsample)
    if "km" in args.only:
        bench_kaplan_meier(streams["km"])
    if "cox" in args.only:
        bench_cox(streams["cox"])
    if "ancova" in args.only:
        bench_ancova(streams["ancova"], args.trials, args.subsample)


if __name__ == "__main__":
    main()
