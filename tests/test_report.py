"""The HTML report: self-contained, every section present, numbers match the plan results."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest

from hepatrial.analysis.adam import derive_adam
from hepatrial.analysis.plan import run_plan
from hepatrial.demo import match
from hepatrial.demo.tables import source_tables
from hepatrial.protocol import load_protocol
from hepatrial.report import tables as report_tables
from hepatrial.report.consort import consort_counts
from hepatrial.report.html import ReportInput, render_report
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
        "Cumulative incidence with competing events",
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
    assert set(rows["subgroup"]) >= {"Sex", "Age", "Aetiology"}
    assert "MELD" in label


def test_results_json_round_trips(report_input: ReportInput) -> None:
    payload = json.loads(report_input.results.to_json())
    frame = pd.DataFrame(payload["results"])
    assert set(frame["endpoint_id"]) == {e.id for e in report_input.protocol.endpoints}


def test_number_formatting() -> None:
    assert report_tables.fmt_p(0.0004) == "<0.001"
    assert report_tables.fmt_p(None) == "–"
    assert report_tables.fmt_num(-1.2345, 2) == "−1.23"
    assert report_tables.risk_times(168) == [0.0, 28.0, 56.0, 84.0, 112.0, 140.0, 168.0]
