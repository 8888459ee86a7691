"""The demonstration: reconstruction constraints, the store build through the operations API,
and the reproduction of every published figure (the demo's own check is the test)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from hepatrial.demo import match, msc_aclf
from hepatrial.demo._labs import continuous_meld, labs_for_meld
from hepatrial.demo.compare import compare, round_half_up
from hepatrial.demo.reconstruct import published_sizes, reconstruct
from hepatrial.demo.run import TrialOutcome, run_demo
from hepatrial.scores import meld

_printed_comparison: list[str] = []


def test_labs_invert_the_continuous_meld() -> None:
    rng = np.random.default_rng(1)
    for target in (7.0, 10.0, 13.37, 16.9, 24.0):
        labs = {r.test: r.value for r in labs_for_meld(target, 0, rng)}
        assert continuous_meld(labs["bilirubin"], labs["inr"], labs["creatinine"]) == pytest.approx(
            target, abs=1e-10
        )
        project = meld(
            bilirubin=labs["bilirubin"],
            inr=labs["inr"],
            creatinine=labs["creatinine"],
            rounding="continuous",
        )
        assert project == pytest.approx(target, abs=1e-10)


def test_primary_changes_hit_estimate_and_se_for_any_baseline() -> None:
    rng = np.random.default_rng(7)
    arm = rng.permutation(np.repeat([True, False], [27, 24]))
    baseline = rng.uniform(10, 17, 51)
    change = match.primary_changes(arm, baseline, rng)
    X = np.column_stack([np.ones(51), arm.astype(float), baseline])
    beta, *_ = np.linalg.lstsq(X, change, rcond=None)
    resid = change - X @ beta
    se = np.sqrt(resid @ resid / 48 * np.linalg.inv(X.T @ X)[1, 1])
    assert beta[1] == pytest.approx(-0.87, abs=1e-12)
    assert se == pytest.approx(0.9175 / stats.t.ppf(0.975, 48), rel=1e-12)


def test_death_day_search_lands_in_the_window() -> None:
    calls = []

    def p_of(time, event, group):  # type: ignore[no-untyped-def]
        calls.append(1)
        from hepatrial.stats import logrank

        return float(logrank(time, event, group).p_value)

    days = msc_aclf.search_death_days(np.random.default_rng(11), p_of)
    assert (days["MSC"].size, days["SMT"].size) == (15, 24)
    assert days["MSC"].max() < 168 and days["SMT"].min() >= 3
    assert len(calls) >= 1


def test_reconstruction_is_seeded_and_checks_arm_sizes() -> None:
    first, second = reconstruct("match"), reconstruct("match")
    assert first.participants == second.participants
    assert "SYNTHETIC RECONSTRUCTION" in first.label
    with pytest.raises(ValueError, match="published arm sizes"):
        reconstruct("match", arms=["macrophage"] * 51)
    with pytest.raises(ValueError, match="no reconstruction"):
        reconstruct("realistic")
    assert published_sizes("msc-aclf") == {"msc": 56, "standard-medical-therapy": 54}


def test_match_liver_stiffness_starts_above_15_kpa_with_no_arm_effect() -> None:
    trial = reconstruct("match")
    readings = {
        p.subject_id: {r.day: r.value for r in p.labs if r.test == "liver_stiffness"}
        for p in trial.participants
    }
    for p in trial.participants:
        # day 0 repeats the eligibility reading (liver_stiffness_kpa > 15, match.yaml)
        screening = float(p.candidate.facts["liver_stiffness_kpa"])
        assert readings[p.subject_id][0] == screening > 15
        assert all(2.0 <= v <= 75.0 for v in readings[p.subject_id].values())
    # no arm effect: the arm-and-visit means of the log-scale variation are shrunk by 70%
    arms = np.array(["macrophage"] * 27 + ["standard-care"] * 24)
    rng = np.random.default_rng(5)
    raw = np.random.default_rng(5).normal(0.0, 0.15, (51, 4))
    raw[:, 0] = 0.0
    changes = match.stiffness_log_changes(rng, arms)
    drift = np.array([0.0, -0.01, -0.02, -0.04])
    for arm in ("macrophage", "standard-care"):
        np.testing.assert_allclose(
            (changes[arms == arm] - drift).mean(axis=0), 0.3 * raw[arms == arm].mean(axis=0)
        )


def test_round_half_up() -> None:
    assert round_half_up(0.0475, 1) == 0.0
    assert round_half_up(-0.875, 2) == -0.88
    assert round_half_up(68.85, 1) == 68.9
    assert round_half_up(0.035459, 2) == 0.04


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[TrialOutcome]]:
    """``hepatrial demo --out DIR`` run once as users run it: the installed command, in a
    process of its own; its outcomes read back from the files it wrote."""
    command = Path(sys.executable).with_name("hepatrial")
    assert command.is_file(), f"the hepatrial command is not installed beside {sys.executable}"
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run(
        [str(command), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every reproduced figure rounds to the published one" in run.stdout
    _printed_comparison[:] = run.stdout.splitlines()
    outcomes = []
    for protocol in ("match", "msc-aclf"):
        comparison = pd.read_csv(
            out / f"{protocol}-comparison.csv", dtype={"published": str, "as_printed": str}
        )
        results = out / f"{protocol}-results.json"
        outcomes.append(
            TrialOutcome(
                protocol=protocol,
                database_url=f"sqlite:///{out / protocol}.sqlite",
                report=out / f"{protocol}-report.html",
                results_json=results,
                comparison=comparison,
                dataset_hash=json.loads(results.read_text(encoding="utf-8"))["dataset_sha256"],
            )
        )
    return out, outcomes


def test_run_demo_reports_every_stage(tmp_path: Path) -> None:
    stages: list[tuple[str, str]] = []
    (outcome,) = run_demo(
        tmp_path, trials=("msc-aclf",), workers=1, on_stage=lambda t, s: stages.append((t, s))
    )
    counts = [s for _, s in stages if s.startswith("follow-up ")]
    # every tenth of the 110 participants recorded is reported
    assert counts == [f"follow-up {k}/110" for k in range(10, 111, 10)]
    assert [s for _, s in stages if not s.startswith("follow-up ")] == [
        "seed search",
        "screening",
        "randomizing",
        "follow-up",
        "analysis",
        "report",
        "done",
    ]
    assert outcome.all_match


@pytest.mark.slow
def test_demo_reproduces_every_published_figure(demo) -> None:  # type: ignore[no-untyped-def]
    _, outcomes = demo
    assert [o.protocol for o in outcomes] == ["match", "msc-aclf"]
    for outcome in outcomes:
        failed = outcome.comparison[~outcome.comparison["matches"]]
        assert failed.empty, failed.to_string()
    table = {(r.trial, r.key): r for r in outcomes[0].comparison.itertuples()} | {
        (r.trial, r.key): r for r in outcomes[1].comparison.itertuples()
    }
    # The published strings, checked here once more against the paper's abstract.
    assert table["match", "ddmeld"].as_printed == "-0.87"
    assert table["match", "ddmeld_ci_low"].as_printed == "-1.79"
    assert table["match", "ddmeld_p"].as_printed == "0.06"
    assert table["match", "control_sae_events"].as_printed == "10"
    assert table["msc-aclf", "surv_msc"].as_printed == "73.2"
    assert table["msc-aclf", "surv_smt_high"].as_printed == "68.9"
    assert table["msc-aclf", "logrank_p"].as_printed == "0.03"
    assert table["msc-aclf", "infection_p"].as_printed == "0.04"
    assert table["msc-aclf", "mof_p"].as_printed == "0.02"


@pytest.mark.slow
def test_demo_prints_every_published_figure_beside_its_reproduction(demo) -> None:  # type: ignore[no-untyped-def]
    """The printed table (the command's standard output) has one row per compared figure with the
    published value, the reproduced value to four decimals and the value as printed."""
    _, outcomes = demo
    rows = [line for line in _printed_comparison if "│" in line]
    for outcome in outcomes:
        for figure in outcome.comparison.itertuples():
            cells = (str(figure.published), f"{figure.reproduced:.4f}", str(figure.as_printed))
            printed = [r for r in rows if all(f" {c} " in r for c in cells)]
            assert printed, f"{outcome.protocol} {figure.key}: {cells} not printed"


@pytest.mark.slow
def test_demo_writes_reports_results_and_an_intact_audited_store(demo) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.store import make_engine, session_factory, verify_audit

    out, outcomes = demo
    for outcome in outcomes:
        assert outcome.report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        payload = json.loads(outcome.results_json.read_text(encoding="utf-8"))
        assert payload["dataset_sha256"] == outcome.dataset_hash
        assert "SYNTHETIC RECONSTRUCTION" in payload["synthetic_reconstruction"]
        assert len(payload["published_vs_reproduced"]) == len(outcome.comparison)
        with session_factory(make_engine(outcome.database_url))() as session:
            assert verify_audit(session).ok
    assert (out / "match-comparison.csv").is_file()


@pytest.mark.slow
def test_report_command_on_a_demo_store(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.cli.main import app

    _, outcomes = demo
    html, results = tmp_path / "r.html", tmp_path / "r.json"
    run = CliRunner().invoke(
        app, ["report", "--db", outcomes[1].database_url, "-o", str(html), "--json", str(results)]
    )
    assert run.exit_code == 0, run.output
    assert json.loads(results.read_text())["dataset_sha256"] == outcomes[1].dataset_hash
    assert 'id="numbers-at-risk"' in html.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_figure_that_does_not_round_is_flagged(demo) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.analysis.store import analyse_store

    _, outcomes = demo
    analysis = analyse_store(outcomes[0].database_url)
    trial = reconstruct("match")
    wrong = dataclasses.replace(trial.figures[0], value=-0.86)
    flagged = compare(dataclasses.replace(trial, figures=(wrong,)), analysis.adam, analysis.results)
    assert flagged["matches"].tolist() == [False]


@pytest.mark.slow
def test_sdtm_export_gives_the_same_results_as_the_store(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hepatrial import service
    from hepatrial.analysis.adam import derive_adam
    from hepatrial.analysis.plan import run_plan
    from hepatrial.analysis.sdtm import from_sdtm, read_sdtm_directory
    from hepatrial.analysis.store import analyse_store
    from hepatrial.cli.main import app
    from hepatrial.protocol import load_protocol
    from hepatrial.store import make_engine, session_factory

    _, outcomes = demo
    for outcome in outcomes:
        directory = tmp_path / outcome.protocol
        with session_factory(make_engine(outcome.database_url))() as session:
            service.export_sdtm(session, directory)
        protocol = load_protocol(outcome.protocol)
        from_export = run_plan(
            derive_adam(from_sdtm(read_sdtm_directory(directory)), protocol), protocol
        )
        from_store = analyse_store(outcome.database_url).results
        for a, b in zip(from_export.results, from_store.results, strict=True):
            assert (a.endpoint_id, a.estimator, a.n, a.status) == (
                b.endpoint_id,
                b.estimator,
                b.n,
                b.status,
            )
            if a.estimate is not None and b.estimate is not None:
                assert a.estimate == pytest.approx(b.estimate, rel=1e-9, abs=1e-12)
    html = tmp_path / "sdtm.html"
    run = CliRunner().invoke(
        app, ["report", "--sdtm", str(tmp_path / "match"), "--protocol", "match", "-o", str(html)]
    )
    assert run.exit_code == 0, run.output
    assert "Analysed from SDTM-like exports" in html.read_text(encoding="utf-8")


@pytest.mark.slow
def test_demo_reports_follow_each_protocol(demo) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.analysis.store import analyse_store
    from hepatrial.report.consort import consort_counts
    from hepatrial.report.labels import screen_failure_labels

    _, outcomes = demo
    payload = json.loads(outcomes[0].results_json.read_text(encoding="utf-8"))
    stiffness = next(
        r for r in payload["results"] if r["endpoint_id"] == "liver_stiffness_over_time"
    )
    assert stiffness["status"] == "done" and stiffness["n"] == 51
    match_html = outcomes[0].report.read_text(encoding="utf-8")
    # MATCH's only endpoint with competing events is the time to first decompensation, read
    # back from the store's outcome records (kind decompensation, detail ascites / variceal
    # bleeding / encephalopathy); nothing of MSC-ACLF is shown
    decomp = next(
        r
        for r in payload["results"]
        if r["endpoint_id"] == "time_to_decompensation" and r["role"] == "secondary"
    )
    assert (decomp["status"], decomp["n"], decomp["test"]) == ("done", 51, "gray")
    assert decomp["dataset_hash"] == payload["dataset_sha256"]
    # standard care: 2 of 24 decompensate (days 120 and 140, nobody censored earlier)
    assert decomp["by_arm"]["standard-care"]["incidence"] == pytest.approx(2 / 24, abs=1e-12)
    assert match_html.count("<h2>Cumulative incidence with competing events</h2>") == 1
    assert "<h3>First decompensation (competing: death, liver transplant)</h3>" in match_html
    assert "multi-organ" not in match_html
    msc_html = outcomes[1].report.read_text(encoding="utf-8")
    assert "MELD band: MELD ≥ 22, n (%)" in msc_html and "meld_22_or_more" not in msc_html
    # screen failures read from the store are named in match.yaml's words (counts: match.py)
    analysis = analyse_store(outcomes[0].database_url)
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    counts = consort_counts(
        analysis.source,
        analysis.adam,
        analysis.results.result("delta_meld_d90"),
        arms,
        screen_failure_labels(analysis.protocol),
    )
    assert counts.excluded_reasons == (
        ("Not met: MELD between 10 and 17 inclusive", 8),
        ("Not met: Compensated cirrhosis", 5),
        ("Not met: Liver stiffness above 15 kPa", 4),
        ("Hepatocellular carcinoma", 2),
    )
