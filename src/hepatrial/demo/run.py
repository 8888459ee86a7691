"""The demonstration run: both seed trials built, analysed, reported and compared.

For each seed trial (in two worker processes when two cores are available): build its store
through the operations API (:mod:`hepatrial.demo.build`), read it back, derive the ADaM
datasets, run the protocol's plan, write ``<trial>-report.html``, ``<trial>-results.json`` and
``<trial>-comparison.csv`` into the output directory, and compare every published figure.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from queue import Empty
from typing import Any

import pandas as pd

from hepatrial.analysis.store import analyse_store
from hepatrial.demo.build import build_trial_store
from hepatrial.demo.compare import compare
from hepatrial.demo.reconstruct import SEED_TRIALS
from hepatrial.report.html import ReportInput, render_report

STAGES = ("seed search", "screening", "randomizing", "follow-up", "analysis", "report")


@dataclass(frozen=True)
class TrialOutcome:
    """What the demo produced for one seed trial."""

    protocol: str
    database_url: str
    report: Path
    results_json: Path
    comparison: pd.DataFrame
    dataset_hash: str

    @property
    def all_match(self) -> bool:
        """True when every reproduced figure rounds to the published one."""
        return bool(self.comparison["matches"].all())


def run_trial(protocol_id: str, out: str, messages: Any = None) -> TrialOutcome:
    """Build, analyse, report and compare one seed trial (``messages``: a queue for progress)."""

    def note(stage: str) -> None:
        if messages is not None:
            messages.put((protocol_id, stage))

    directory = Path(out)
    stage_of = {
        "searching the allocation seed": "seed search",
        "screening": "screening",
        "randomizing": "randomizing",
        "recording follow-up": "follow-up",
    }

    def stage(message: str) -> str:
        if message.startswith("recording follow-up "):
            return "follow-up " + message.rsplit(" ", 1)[1]
        return stage_of.get(message, message)

    built = build_trial_store(protocol_id, directory, progress=lambda m: note(stage(m)))
    note("analysis")
    analysis = analyse_store(
        built.database_url,
        options={
            "allocation_seed_sha256": _sha(built.allocation_seed),
            "reconstruction_seed": built.trial.seed,
        },
    )
    comparison = compare(built.trial, analysis.adam, analysis.results)
    note("report")
    html = render_report(
        ReportInput(
            analysis.adam,
            analysis.results,
            analysis.protocol,
            analysis.source,
            banner=built.trial.label,
            options={"reconstruction": built.trial.citation},
            data_quality=None if analysis.quality is None else analysis.quality.counts,
        )
    )
    report = directory / f"{protocol_id}-report.html"
    report.write_text(html, encoding="utf-8")
    payload = json.loads(analysis.results.to_json())
    payload["synthetic_reconstruction"] = built.trial.label
    payload["published_vs_reproduced"] = json.loads(comparison.to_json(orient="records"))
    results_json = directory / f"{protocol_id}-results.json"
    results_json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    comparison.to_csv(directory / f"{protocol_id}-comparison.csv", index=False)
    note("done")
    return TrialOutcome(
        protocol_id,
        built.database_url,
        report,
        results_json,
        comparison,
        analysis.results.dataset_hash,
    )


def _sha(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def run_demo(
    out: str | Path,
    *,
    trials: Sequence[str] = SEED_TRIALS,
    on_stage: Callable[[str, str], None] | None = None,
    workers: int | None = None,
) -> list[TrialOutcome]:
    """Run every seed trial into ``out``; ``on_stage(trial, stage)`` reports progress.

    ``stage`` is one of :data:`STAGES` or ``"done"``; during follow-up it may read
    ``"follow-up k/n"`` (participants recorded so far).
    """
    Path(out).mkdir(parents=True, exist_ok=True)
    workers = workers or min(len(trials), os.cpu_count() or 1)
    report = on_stage or (lambda _t, _s: None)
    if workers <= 1:
        return [run_trial(t, str(out), _Direct(report)) for t in trials]
    # spawn, not fork: the caller may run threads (a progress display) that fork would copy
    context = get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        queue = manager.Queue()
        futures = [pool.submit(run_trial, t, str(out), queue) for t in trials]
        while not all(f.done() for f in futures):
            _drain(queue, report, timeout=0.2)
        _drain(queue, report, timeout=0.0)
        return [f.result() for f in futures]


class _Direct:
    """A queue stand-in that reports at once (single-process runs)."""

    def __init__(self, report: Callable[[str, str], None]):
        self._report = report

    def put(self, item: tuple[str, str]) -> None:
        self._report(*item)


def _drain(queue: Any, report: Callable[[str, str], None], timeout: float) -> None:
    try:
        while True:
            trial, stage = queue.get(timeout=timeout) if timeout else queue.get_nowait()
            report(trial, stage)
            timeout = 0.0
    except Empty:
        return
