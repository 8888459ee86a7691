"""Simulated-and-analysed trials per second, end to end, against a loop of lifelines.

Workload: the MSC-ACLF protocol with its virtual patients, two arms, n = 110 per trial: screening
through the protocol's eligibility (MELD by hepatrial.scores), stratified permuted-block
allocation (hepatrial.allocation), Weibull deaths with transplant as a competing event, and a
log-rank test per trial (hepatrial.stats.batch.logrank_many), summarized into power.

Comparison: lifelines' ``logrank_test`` called trial by trial on the same simulated data for a
small subsample (its time is extrapolated linearly to the full number of trials, and it covers
the analysis only, not the simulation, which favours lifelines). P values are checked to agree.

Memory and CPU: trials are generated and analysed in blocks of 1000 inside chunks of
``--chunk-size`` trials per worker; the parent's peak resident set size comes from
``resource.getrusage``, the workers' CPU time and peak RSS from sampling them with psutil.

Usage: ``.venv-bench/bin/python benchmarks/bench_simulate.py [--trials 1000000] [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time

import numpy as np
import psutil

from hepatrial.protocol import load_protocol
from hepatrial.simulate import patients as pm
from hepatrial.simulate import trial
from hepatrial.simulate.runner import BLOCK_TRIALS, Scenario, simulate
from hepatrial.stats.batch import logrank_many


def _lifelines_loop(n_trials: int, seed: int) -> tuple[float, float]:
    """Seconds per trial of a lifelines loop, and the largest P-value difference to ours."""
    from lifelines.statistics import logrank_test

    protocol, model = load_protocol("msc-aclf"), pm.load_model("hbv-aclf")
    block = trial.simulate_block(
        protocol, model, np.random.default_rng(seed), n_trials, 110, trial.Effects(hr=0.53), 3.0
    )
    time_, event, treated = block.death_time, block.death_observed, block.treated
    ours = logrank_many(
        np.repeat(np.arange(n_trials), 110), time_.ravel(), event.ravel(), treated.ravel()
    ).p_value
    start = time.process_time()
    theirs = np.empty(n_trials)
    for i in range(n_trials):
        a, b = treated[i], ~treated[i]
        theirs[i] = logrank_test(time_[i, a], time_[i, b], event[i, a], event[i, b]).p_value
    cpu = time.process_time() - start
    return cpu / n_trials, float(np.max(np.abs(ours - theirs)))


class _Descendants:
    """Samples CPU time and resident memory of every descendant process (the workers are
    children of a forkserver, so ``RUSAGE_CHILDREN`` does not see them)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.cpu: dict[int, float] = {}
        self.rss: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    times = child.cpu_times()
                    self.cpu[child.pid] = times.user + times.system
                    rss = child.memory_info().rss / 2**20
                    self.rss[child.pid] = max(self.rss.get(child.pid, 0.0), rss)
                except psutil.Error:
                    continue
            self._stop.wait(interval)

    def __enter__(self) -> _Descendants:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=10 * BLOCK_TRIALS)
    parser.add_argument("--lifelines-trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20_260_511)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs; load average before: {os.getloadavg()}")
    print("note: the cores are shared with other work running at the same time, so times vary")
    scenario = Scenario(protocol="msc-aclf", n=110, hr=0.53)
    cpu_before = time.process_time()
    start = time.perf_counter()
    with _Descendants() as workers:
        result = simulate(
            scenario,
            trials=args.trials,
            seed=args.seed,
            workers=args.workers,
            chunk_size=args.chunk_size,
        )
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_before + sum(workers.cpu.values())
    rate = args.trials / elapsed
    dedicated = cpu / args.workers
    print(f"hepatrial: {args.trials:,} trials x 110 patients, screened, allocated, simulated and")
    print(f"  log-rank analysed on {args.workers} worker processes:")
    print(
        f"  wall {elapsed:.1f} s ({rate:,.0f} trials/s); "
        f"CPU {cpu:.1f} s ({cpu / args.trials * 1e6:.0f} µs/trial)"
    )
    print(f"  on {args.workers} dedicated cores (CPU / workers): {dedicated:.1f} s")
    print(f"  power at HR 0.53 = {result.power:.4f} ± {result.power_mc_se:.4f} (MC SE)")
    print(
        f"  all digits (seed {args.seed}; any chunking or worker count gives the same): "
        f"power {result.power!r}, mean log HR estimate {result.mean_estimate!r}"
    )
    scaled = dedicated * 1_000_000 / args.trials
    verdict = "met" if scaled < 60 else "not met"
    print(
        f"  goal 1,000,000 trials < 60 s on 2 cores: {scaled:.1f} s projected from CPU -> {verdict}"
    )
    per_trial, gap = _lifelines_loop(args.lifelines_trials, args.seed)
    theirs = per_trial * args.trials
    print(
        f"lifelines logrank_test loop: {per_trial * 1e3:.2f} ms CPU per trial on "
        f"{args.lifelines_trials} trials (analysis only, extrapolated linearly): "
        f"{theirs:,.0f} CPU-s for {args.trials:,} trials"
    )
    print(f"  max |P(hepatrial) - P(lifelines)| = {gap:.2e}")
    print(f"  speed-up, CPU for CPU (end to end vs lifelines analysis alone): {theirs / cpu:,.0f}x")
    print(
        f"  speed-up, wall (ours on {args.workers} workers, lifelines on 1): "
        f"{theirs / elapsed:,.0f}x"
    )
    print("  goal >= 300x")
    largest = max(workers.rss.values(), default=float("nan"))
    print(
        f"memory: chunk size {args.chunk_size:,} trials (blocks of {BLOCK_TRIALS}); peak RSS "
        f"parent {_peak_rss_mb():,.0f} MB, largest worker {largest:,.0f} MB (sampled every 0.25 s)"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
