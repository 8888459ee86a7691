"""The HTML report: self-contained, every section present, numbers match the plan results."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest

from hepatrial.analysis.adam import derive_adam
from hepatrial.analysis.plan import run_plan
from hepatrial.demo import match, msc_aclf
from hepatrial.demo.tables import source_tables
from hepatrial.protocol import load_protocol
from hepatrial.report import tables as report_tables
from hepatrial.report.competing import competing_risk_views
from hepatrial.report.consort import consort_counts, consort_figure
from hepatrial.report.html import ReportInput, render_report
from hepatrial.report.labels import factor_labels, humanize, screen_failure_labels
from hepatrial.report.subgroups import subgroup_table


@pytest.fixture(scope="module")
def report_input() -> ReportInput:
    protocol = load_protocol("match")
    trial = match.reconstruct()
    tables = source_tables(trial, protocol)
    adam = derive_adam(tables, protocol)
    return ReportInput(adam, run_plan(adam, protocol), protocol, tables, banner=trial.label)


@pytest.fixture(scope="module")
def html(report_input: ReportInput) -> str:
    return render_report(report_input)


def test_report_is_self_contained(html: str) -> None:
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    assert "<script" not in html
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 6
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_section_is_present(html: str) -> None:
    for heading in (
        "Participant flow (CONSORT)",
        "Baseline characteristics",
        "Endpoint results",
        "Survival",
        "Subgroups (primary endpoint)",
        "Adverse events by system organ class",
        "Biomarker and MELD trajectories",
        "Exclusions",
        "Provenance",
    ):
        assert f"<h2>{heading}</h2>" in html
    for element_id in ("primary-result", "numbers-at-risk", "table-one", "adverse-events"):
        assert f'id="{element_id}"' in html
    assert "SYNTHETIC RECONSTRUCTION" in html


def test_primary_result_and_provenance_are_printed(html: str, report_input: ReportInput) -> None:
    # ΔΔMELD -0.870 (-1.7875, 0.0475), P = 0.0626 printed to two and three decimals.
    assert "−0.87 (95% CI −1.79 to 0.05)" in html
    assert "P = 0.063" in html
    assert report_input.results.dataset_hash in html
    assert f"v{report_input.protocol.version}" in html


def test_consort_counts_follow_the_records(report_input: ReportInput) -> None:
    primary = report_input.results.result("delta_meld_d90")
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    counts = consort_counts(report_input.source, report_input.adam, primary, arms)
    # 51 randomized + 19 screen failures (8 + 4 + 5 + 2 by reason) = 70 assessed.
    assert (counts.assessed, counts.excluded, counts.randomized) == (70, 19, 51)
    flows = {f.arm: f for f in counts.arms}
    assert (flows["macrophage"].allocated, flows["macrophage"].received) == (27, 26)
    assert flows["macrophage"].withdrew == 1 and flows["standard-care"].died == 3
    assert flows["standard-care"].received is None


def test_adverse_event_table_counts(report_input: ReportInput) -> None:
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    table = report_tables.adverse_events(report_input.adam, arms).set_index(
        "Category / system organ class"
    )
    row = table.loc["Any serious adverse event"]
    assert row["Standard care (N=24) participants"] == "5 (20.8%)"
    assert row["Standard care events"] == "10"
    assert table.loc["Liver-related serious adverse event", "Standard care events"] == "4"


def test_table_one_counts_arms(report_input: ReportInput) -> None:
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    table = report_tables.table_one(report_input.adam, arms).set_index("Characteristic")
    assert table.loc["Participants, n"].tolist() == ["27", "24", "51"]


def test_subgroup_overall_row_equals_primary(report_input: ReportInput) -> None:
    rows, label = subgroup_table(report_input.adam, report_input.results, report_input.protocol)
    overall = rows[rows["subgroup"] == "Overall"].iloc[0]
    assert overall["estimate"] == pytest.approx(-0.87, abs=1e-9)
    assert set(rows["subgroup"]) >= {"Sex", "Age", "Main cause of liver disease"}
    assert "MASLD" in set(rows["level"])
    assert "MELD" in label


def test_a_bug_in_a_subgroup_estimate_is_not_hidden(
    report_input: ReportInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subgroup whose data do not allow the estimate is left out; any other error propagates."""
    from hepatrial.exceptions import NotEstimableError
    from hepatrial.report import subgroups

    calls: list[int] = []

    def not_estimable(data: pd.DataFrame, control: str) -> tuple[float, float, float]:
        calls.append(len(data))
        if len(calls) == 1:
            return (-0.87, -1.79, 0.0)  # the overall row
        raise NotEstimableError("too few participants")

    monkeypatch.setattr(subgroups, "_change_estimate", not_estimable)
    rows, _ = subgroup_table(report_input.adam, report_input.results, report_input.protocol)
    assert rows["subgroup"].tolist() == ["Overall"] and len(calls) > 1

    def bug(data: pd.DataFrame, control: str) -> tuple[float, float, float]:
        raise ValueError("bug")

    monkeypatch.setattr(subgroups, "_change_estimate", bug)
    with pytest.raises(ValueError, match="bug"):
        subgroup_table(report_input.adam, report_input.results, report_input.protocol)


def test_results_json_round_trips(report_input: ReportInput) -> None:
    payload = json.loads(report_input.results.to_json())
    frame = pd.DataFrame(payload["results"])
    assert set(frame["endpoint_id"]) == {e.id for e in report_input.protocol.endpoints}


def test_number_formatting() -> None:
    assert report_tables.fmt_p(0.0004) == "<0.001"
    assert report_tables.fmt_p(None) == "–"
    assert report_tables.fmt_num(-1.2345, 2) == "−1.23"
    assert report_tables.risk_times(168) == [0.0, 28.0, 56.0, 84.0, 112.0, 140.0, 168.0]


@pytest.fixture(scope="module")
def msc_html() -> str:
    protocol = load_protocol("msc-aclf")
    trial = msc_aclf.reconstruct()
    tables = source_tables(trial, protocol)
    adam = derive_adam(tables, protocol)
    return render_report(
        ReportInput(adam, run_plan(adam, protocol), protocol, tables, banner=trial.label)
    )


def test_competing_risk_figures_come_from_the_protocol_endpoints() -> None:
    # MATCH: transplant-free survival is a composite (nothing competes) and death from any cause
    # names no competing event; its adverse-event endpoints are not ADTTE events. Only the
    # time to first decompensation (competing: death, transplant) gets a figure.
    (match_view,) = competing_risk_views(load_protocol("match"), 360.0)
    assert (match_view.endpoint.id, match_view.paramcd, match_view.horizon_days) == (
        "time_to_decompensation",
        "DECOMP",
        360.0,
    )
    assert match_view.title == "First decompensation (competing: death, liver transplant)"
    # MSC-ACLF: survival names transplant as competing (cumulative incidence sensitivity
    # analysis); severe infection and MOF/infection death are binary endpoints by week 24.
    views = competing_risk_views(load_protocol("msc-aclf"), 168.0)
    assert [(v.endpoint.id, v.paramcd) for v in views] == [
        ("survival_24w", "OS"),
        ("severe_infection", "INFECT"),
        ("mof_or_infection_death", "DTHMOF"),
    ]
    assert all(v.horizon_days == 168 for v in views)
    assert views[1].title == "First severe infection (competing: death, liver transplant)"


def test_match_report_shows_only_its_decompensation_figure(html: str) -> None:
    section = html.split("<h2>Cumulative incidence with competing events</h2>", 1)[1]
    section = section.split("<h2>", 1)[0]
    assert section.count("<figure>") == 1
    assert "<h3>First decompensation (competing: death, liver transplant)</h3>" in section
    # demo data: decompensations on days 120 and 140 under standard care, none under
    # macrophages; one standard-care death (day 176) before any decompensation competes.
    # Gray's P = 0.130 is cmprsk's (tests/validation/fixtures/match_decompensation.json).
    caption = section.split("<figcaption>", 1)[1].split("</figcaption>", 1)[0]
    assert caption == (
        "Endpoint: Time to first decompensation (ascites, variceal bleeding, encephalopathy or "
        "jaundice) to day 360. Aalen-Johansen estimate with pointwise log(−log) 95% CI. "
        "Gray&#x27;s test P = 0.130. Events of interest: Macrophage 0, Standard care 2. "
        "Competing events observed: Macrophage 0, Standard care 1."
    )
    assert "multi-organ" not in html
    assert "Not run: no decompensation event in arm macrophage" in html


def test_msc_report_shows_its_competing_risk_endpoints(msc_html: str) -> None:
    assert "<h2>Cumulative incidence with competing events</h2>" in msc_html
    for title in (
        "Death from any cause (competing: liver transplant)",
        "First severe infection (competing: death, liver transplant)",
        "Death from multi-organ failure or severe infection (competing: death from other "
        "causes, liver transplant)",
    ):
        assert f"<h3>{title}</h3>" in msc_html
    # no transplant in the reconstruction: the caption says so instead of hiding it
    assert "No competing event was observed, so the curve equals 1 − Kaplan-Meier" in msc_html


def test_stratification_factors_and_levels_have_human_labels(msc_html: str) -> None:
    # msc-aclf.yaml: meld_band is a band of meld with cut-point 22 (22 falls in the upper band)
    labels = factor_labels(load_protocol("msc-aclf"))["meld_band"]
    assert labels.name == "MELD band"
    assert labels.levels == {"meld_below_22": "MELD < 22", "meld_22_or_more": "MELD ≥ 22"}
    assert "MELD band: MELD ≥ 22, n (%)" in msc_html
    assert "meld_22_or_more" not in msc_html and "meld_below_22" not in msc_html
    # match.yaml: aetiology is named after the screening fact "Main cause of liver disease"
    aetiology = factor_labels(load_protocol("match"))["aetiology"]
    assert (aetiology.name, aetiology.level("masld")) == ("Main cause of liver disease", "MASLD")
    assert humanize("chronic-hbv") == "Chronic HBV" and humanize("other") == "Other"


def test_table_one_labels_levels_in_protocol_order(report_input: ReportInput) -> None:
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    table = report_tables.table_one(report_input.adam, arms, report_input.protocol)
    rows = [r for r in table["Characteristic"] if r.startswith("Main cause of liver disease")]
    assert rows == [
        "Main cause of liver disease: Alcohol, n (%)",
        "Main cause of liver disease: MASLD, n (%)",
        "Main cause of liver disease: Other, n (%)",
    ]
    # day-0 liver stiffness is shown; the screening reading is then not repeated
    assert "Liver stiffness, kPa, median [IQR]" in set(table["Characteristic"])
    assert "Liver stiffness at screening, kPa, median [IQR]" not in set(table["Characteristic"])


def test_screen_failures_are_named_in_the_protocol_words(report_input: ReportInput) -> None:
    labels = screen_failure_labels(report_input.protocol)
    assert labels["meld_range"] == "Not met: MELD between 10 and 17 inclusive"
    assert labels["hcc"] == "Hepatocellular carcinoma"
    source = dict(report_input.source)
    screenings = source["screenings"].copy()
    failed = ~screenings["eligible"].astype(bool)
    screenings.loc[failed, "criteria"] = pd.Series(
        [[{"name": "meld_range", "passed": False}]] * int(failed.sum()),
        index=screenings.index[failed],
    )
    source["screenings"] = screenings
    primary = report_input.results.result("delta_meld_d90")
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    counts = consort_counts(source, report_input.adam, primary, arms, labels)
    assert counts.excluded_reasons == (("Not met: MELD between 10 and 17 inclusive", 19),)
    assert consort_figure(counts).startswith("data:image/png;base64,")


def test_results_table_names_measures_methods_and_populations(
    report_input: ReportInput,
) -> None:
    arms = {"macrophage": "Macrophage", "standard-care": "Standard care"}
    visits = {"d90": "Day 90", "d180": "Day 180", "d360": "Day 360"}
    table = report_tables.results_table(report_input.results, arms, visits)
    rows = table.set_index(["Endpoint", "Analysis"])
    sae = rows.loc[("Serious adverse events (event counts)", "Secondary: Exact Poisson test")]
    assert (sae["Measure"], sae["Population"]) == ("Rate ratio", "Safety (treated)")
    assert sae["By arm or visit"].startswith("Macrophage: 1 event / ")
    stiffness = rows.loc[("Liver stiffness (kPa) at days 90, 180 and 360", "Secondary: MMRM")]
    assert stiffness["Measure"] == "Difference in change at Day 360"
    assert stiffness["n"] == "51" and not stiffness["Estimate (95% CI)"].startswith("Not run")
    assert "Day 90: " in stiffness["By arm or visit"]
    assert set(table["Population"]) == {"ITT", "Safety (treated)"}
