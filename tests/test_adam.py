"""ADaM derivations on a small hand-built trial (store-layout source tables).

Every expected value is derived by hand in the comments: study days count from randomization
(day 0), the MATCH protocol's windows are d0 [0, 0], d90 [83, 97], d180 [166, 194] and
d360 [332, 388], and MELD is the continuous UNOS MELD
10 * (0.957 ln Cr' + 0.378 ln Bili' + 1.120 ln INR' + 0.643) with floors at 1.0.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from hepatrial.analysis.adam import derive_adam
from hepatrial.analysis.sources import read_source_directory, write_source_directory
from hepatrial.exceptions import DataCheckError
from hepatrial.protocol import load_protocol

D0 = dt.date(2024, 1, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def meld(bili: float, inr: float, creat: float) -> float:
    return 10 * (
        0.957 * math.log(max(creat, 1))
        + 0.378 * math.log(max(bili, 1))
        + 1.12 * math.log(max(inr, 1))
        + 0.643
    )


def _labs(pid: str, on: int, bili: float, inr: float, creat: float) -> list[dict[str, object]]:
    return [
        {
            "participant_id": pid,
            "analyte": a,
            "value_standard": v,
            "unit_standard": u,
            "collected_on": day(on),
        }
        for a, v, u in (
            ("bilirubin", bili, "mg/dL"),
            ("inr", inr, "ratio"),
            ("creatinine", creat, "mg/dL"),
        )
    ]


def hand_built_tables() -> dict[str, pd.DataFrame]:
    """Four randomized participants and one screen failure (see the module docstring)."""
    participants = pd.DataFrame(
        {
            "id": ["P1", "P2", "P3", "P4", "S1"],
            "site_code": "S01",
            "sex": ["F", "M", "M", "F", "M"],
            "age_years": [50, 60, 55, 45, 70],
        }
    )
    screenings = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "participant_id": ["P1", "P2", "P3", "P4", "S1"],
            "screened_on": [day(-10)] * 5,
            "eligible": [True, True, True, True, False],
            "criteria": [[], [], [], [], [{"name": "meld_range", "passed": False}]],
        }
    )
    randomizations = pd.DataFrame(
        {
            "participant_id": ["P1", "P2", "P3", "P4"],
            "screening_id": [1, 2, 3, 4],
            "sequence_number": [1, 2, 3, 4],
            "arm": ["macrophage", "standard-care", "standard-care", "macrophage"],
            "stratum": "aetiology=alcohol",
            "factors": [{"aetiology": "alcohol"}] * 4,
            "randomized_on": [day(0)] * 4,
        }
    )
    doses = pd.DataFrame(
        {
            "participant_id": ["P1", "P4"],
            "dose_number": [1, 1],
            "planned_date": [day(7)] * 2,
            "status": ["given", "missed"],
            "given_on": [day(7), None],
            "deviation": [None, None],
        }
    )
    labs = (
        _labs("P1", -10, 3.0, 1.3, 1.0)
        + _labs("P1", 0, 2.0, 1.2, 1.0)
        + _labs("P1", 60, 1.8, 1.2, 1.0)
        + _labs("P1", 86, 1.9, 1.2, 1.0)
        + _labs("P1", 92, 1.5, 1.1, 1.0)
        + _labs("P2", -3, 2.5, 1.4, 1.2)
        + _labs("P3", 0, 1.2, 1.3, 0.8)
        + _labs("P3", 92, 1.4, 1.3, 0.9)
        + _labs("P4", 0, 2.2, 1.25, 1.1)
    )
    adverse_events = pd.DataFrame(
        {
            "participant_id": ["P1", "P2"],
            "term": ["Ascites", "Fatigue"],
            "system_organ_class": ["Gastrointestinal disorders", "General disorders"],
            "grade": [3, 1],
            "serious": [True, False],
            "related": [False, False],
            "liver_related": [True, False],
            "outcome": ["recovered", "recovered"],
            "start_date": [day(10), day(-2)],
        }
    )
    outcomes = pd.DataFrame(
        {
            "participant_id": ["P2", "P3", "P4", "P4"],
            "kind": ["death", "decompensation", "transplant", "death"],
            "occurred_on": [day(50), day(30), day(200), day(250)],
            "cause": ["Multi-organ failure", None, None, "Graft failure"],
            "detail": ["liver-related", "ascites", None, "not liver-related"],
            "severe": [None] * 4,
        }
    )
    withdrawals = pd.DataFrame(
        {"participant_id": ["P3"], "withdrawn_on": [day(120)], "reason": ["withdrawal by subject"]}
    )
    qol = pd.DataFrame(columns=["participant_id", "instrument", "item", "value", "answered_on"])
    return {
        "participants": participants,
        "screenings": screenings,
        "randomizations": randomizations,
        "doses": doses,
        "lab_results": pd.DataFrame(labs),
        "qol_answers": qol,
        "adverse_events": adverse_events,
        "outcomes": outcomes,
        "withdrawals": withdrawals,
    }


@pytest.fixture(scope="module")
def adam():  # type: ignore[no-untyped-def]
    return derive_adam(hand_built_tables(), load_protocol("match"))


def test_adsl_population_flags_and_disposition(adam) -> None:  # type: ignore[no-untyped-def]
    adsl = adam.adsl.set_index("USUBJID")
    assert list(adsl.index) == ["P1", "P2", "P3", "P4"]
    # P1 given its one planned dose; P4 (macrophage) missed it; control arm plans no dose.
    assert adsl["SAFFL"].to_dict() == {"P1": "Y", "P2": "Y", "P3": "Y", "P4": "N"}
    assert adsl["PPROTFL"].to_dict() == {"P1": "Y", "P2": "Y", "P3": "Y", "P4": "N"}
    assert adsl.loc["P2", "DTHFL"] == "Y" and adsl.loc["P2", "DTHLIVFL"] == "Y"
    assert adsl.loc["P4", "DTHLIVFL"] == "N"
    assert adsl.loc["P3", "WDFL"] == "Y" and adsl.loc["P3", "LSTCNDT"] == pd.Timestamp(day(120))
    assert adsl.loc["P1", "STRAT_AETIOLOGY"] == "alcohol"
    reasons = dict(zip(adam.exclusion_table["reason"], adam.exclusion_table["count"], strict=True))
    assert reasons["screened but not randomized (CONSORT only)"] == 1


def test_baseline_is_last_value_on_or_before_day_0(adam) -> None:  # type: ignore[no-untyped-def]
    lb = adam.adlb[adam.adlb["PARAMCD"] == "MELD"].set_index(["USUBJID", "ADY"])
    # P1: the day -10 screening value is superseded by day 0.
    assert lb.loc[("P1", 0), "ABLFL"] == "Y" and lb.loc[("P1", -10), "ABLFL"] == ""
    assert lb.loc[("P1", 92), "BASE"] == pytest.approx(meld(2.0, 1.2, 1.0), abs=1e-12)
    # P2 has no day-0 sample: its day -3 value is the baseline.
    assert lb.loc[("P2", -3), "ABLFL"] == "Y"
    assert adam.adsl.set_index("USUBJID").loc["P2", "BMELD"] == pytest.approx(
        meld(2.5, 1.4, 1.2), abs=1e-12
    )


def test_visit_windows_and_analysis_flag(adam) -> None:  # type: ignore[no-untyped-def]
    lb = adam.adlb[(adam.adlb["PARAMCD"] == "MELD") & (adam.adlb["USUBJID"] == "P1")].set_index(
        "ADY"
    )
    # Day 60 lies in no window (d28 ends at 31, d90 starts at 83).
    assert lb.loc[60, "AVISIT"] == "Unscheduled" and lb.loc[60, "ANL01FL"] == ""
    # Days 86 and 92 are both in d90 [83, 97]; 92 is nearer the target (2 < 4 days).
    assert lb.loc[86, "AVISIT"] == "d90" and lb.loc[86, "ANL01FL"] == ""
    assert lb.loc[92, "AVISIT"] == "d90" and lb.loc[92, "ANL01FL"] == "Y"


def test_change_from_baseline(adam) -> None:  # type: ignore[no-untyped-def]
    lb = adam.adlb[(adam.adlb["PARAMCD"] == "MELD") & (adam.adlb["ANL01FL"] == "Y")]
    p1 = lb[(lb["USUBJID"] == "P1") & (lb["AVISIT"] == "d90")].iloc[0]
    expected = meld(1.5, 1.1, 1.0) - meld(2.0, 1.2, 1.0)
    assert p1["CHG"] == pytest.approx(expected, abs=1e-12)
    assert p1["PCHG"] == pytest.approx(100 * expected / meld(2.0, 1.2, 1.0), abs=1e-10)
    bili = adam.adlb[(adam.adlb["PARAMCD"] == "BILI") & (adam.adlb["USUBJID"] == "P3")].set_index(
        "ADY"
    )
    # Bilirubin is reported in µmol/L: 1.4 mg/dL x 17.1 = 23.94, change (1.4 - 1.2) x 17.1 = 3.42.
    assert bili.loc[92, "AVAL"] == pytest.approx(23.94, abs=1e-9)
    assert bili.loc[92, "CHG"] == pytest.approx(3.42, abs=1e-9)


def _tte(adam, paramcd: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return adam.adtte[adam.adtte["PARAMCD"] == paramcd].set_index("USUBJID")


def test_cnsr_coding_death_and_censoring(adam) -> None:  # type: ignore[no-untyped-def]
    os_ = _tte(adam, "OS")
    assert (os_.loc["P2", "CNSR"], os_.loc["P2", "AVAL"], os_.loc["P2", "EVNTDESC"]) == (
        0,
        50.0,
        "DEATH",
    )
    # P3 withdrew on day 120: censored there.
    assert (os_.loc["P3", "CNSR"], os_.loc["P3", "AVAL"]) == (1, 120.0)
    assert os_.loc["P3", "CNSDTDSC"] == "WITHDRAWAL FROM STUDY"
    # P1: last contact is the day-92 sample.
    assert (os_.loc["P1", "CNSR"], os_.loc["P1", "AVAL"]) == (1, 92.0)
    assert os_.loc["P1", "CNSDTDSC"] == "LAST KNOWN ALIVE"


def test_competing_event_record(adam) -> None:  # type: ignore[no-untyped-def]
    os_ = _tte(adam, "OS")
    # P4: transplant on day 200 precedes death on day 250: death is not observed for OS.
    assert (os_.loc["P4", "CNSR"], os_.loc["P4", "CRSTAT"], os_.loc["P4", "AVAL"]) == (1, 2, 200.0)
    assert os_.loc["P4", "CMPEVT"] == "TRANSPLANT"
    tfs = _tte(adam, "TFS")
    assert (tfs.loc["P4", "CNSR"], tfs.loc["P4", "AVAL"]) == (0, 200.0)
    decomp = _tte(adam, "DECOMP")
    assert (decomp.loc["P3", "CNSR"], decomp.loc["P3", "AVAL"]) == (0, 30.0)
    # P2 died (day 50) without decompensation: competing event for DECOMP.
    assert (decomp.loc["P2", "CRSTAT"], decomp.loc["P2", "CMPEVT"]) == (2, "DEATH")
    mof = _tte(adam, "DTHMOF")
    assert mof.loc["P2", "CNSR"] == 0 and mof.loc["P4", "CRSTAT"] == 2


def test_decompensation_with_death_and_transplant_competing() -> None:
    """DECOMP, the MATCH time-to-first-decompensation endpoint, on a variant of the trial:

    P1 encephalopathy day 40 then ascites day 70 -> event at the first, day 40;
    P2 dies day 50 before any decompensation -> competing event DEATH at day 50;
    P3 jaundice day 30 (and withdraws day 120) -> event at day 30;
    P4 transplant day 200, variceal bleeding day 220, death day 250 -> the transplant precedes
    the decompensation: competing event TRANSPLANT at day 200, the bleeding is not counted.
    """
    tables = hand_built_tables()
    tables["outcomes"] = pd.DataFrame(
        {
            "participant_id": ["P1", "P1", "P2", "P3", "P4", "P4", "P4"],
            "kind": [
                "decompensation",
                "decompensation",
                "death",
                "decompensation",
                "transplant",
                "decompensation",
                "death",
            ],
            "occurred_on": [day(70), day(40), day(50), day(30), day(200), day(220), day(250)],
            "cause": [None, None, "Liver failure", None, None, None, "Graft failure"],
            "detail": [
                "ascites",
                "encephalopathy",
                "liver-related",
                "jaundice",
                None,
                "variceal bleeding",
                "not liver-related",
            ],
            "severe": [None] * 7,
        }
    )
    decomp = _tte(derive_adam(tables, load_protocol("match")), "DECOMP")
    columns = ["AVAL", "CNSR", "CRSTAT", "EVNTDESC", "CNSDTDSC", "CMPEVT"]
    got = {pid: tuple(decomp.loc[pid, columns]) for pid in ("P1", "P2", "P3", "P4")}
    assert got == {
        "P1": (40.0, 0, 1, "DECOMPENSATION", "", ""),
        "P2": (50.0, 1, 2, "", "COMPETING EVENT: DEATH", "DEATH"),
        "P3": (30.0, 0, 1, "DECOMPENSATION", "", ""),
        "P4": (200.0, 1, 2, "", "COMPETING EVENT: TRANSPLANT", "TRANSPLANT"),
    }
    assert set(decomp["PARAM"]) == {"Time to first decompensation (days)"}
    assert (decomp["ADT"] - decomp["STARTDT"]).dt.days.tolist() == decomp["AVAL"].tolist()


def test_horizon_censors_later_events() -> None:
    adam = derive_adam(hand_built_tables(), load_protocol("match"), horizon_days=100)
    os_ = _tte(adam, "OS")
    assert (os_.loc["P4", "CNSR"], os_.loc["P4", "CRSTAT"], os_.loc["P4", "AVAL"]) == (1, 0, 100.0)
    assert os_.loc["P4", "CNSDTDSC"] == "END OF FOLLOW-UP (DAY 100)"
    reasons = adam.exclusion_table.set_index("reason")["count"]
    assert reasons["outcome events after day 100 (censored at the horizon)"] == 2


def test_adae_treatment_emergent_flags(adam) -> None:  # type: ignore[no-untyped-def]
    ae = adam.adae.set_index("USUBJID")
    assert (ae.loc["P1", "TRTEMFL"], ae.loc["P1", "AESER"], ae.loc["P1", "AELIVER"]) == (
        "Y",
        "Y",
        "Y",
    )
    assert ae.loc["P2", "TRTEMFL"] == "N"
    reasons = adam.exclusion_table.set_index("reason")["count"]
    assert reasons["events starting before randomization (not treatment-emergent)"] == 1


def test_content_hash_ignores_order_and_tracks_content(adam, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tables = hand_built_tables()
    shuffled = {k: v.sample(frac=1.0, random_state=3) for k, v in tables.items()}
    protocol = load_protocol("match")
    assert derive_adam(shuffled, protocol).content_hash == adam.content_hash
    tables["lab_results"].loc[0, "value_standard"] = 3.1
    assert derive_adam(tables, protocol).content_hash != adam.content_hash
    # A CSV round trip keeps the content, hence the hash.
    write_source_directory(hand_built_tables(), tmp_path)
    assert derive_adam(read_source_directory(tmp_path), protocol).content_hash == adam.content_hash


def test_missing_table_and_columns_are_all_reported() -> None:
    tables = hand_built_tables()
    del tables["withdrawals"]
    tables["outcomes"] = tables["outcomes"].drop(columns=["cause", "severe"])
    with pytest.raises(DataCheckError) as info:
        derive_adam(tables, load_protocol("match"))
    message = str(info.value)
    assert "'withdrawals' is missing" in message and "cause, severe" in message


def test_no_randomized_participant_gives_empty_datasets_and_counts_the_screened() -> None:
    # early in a trial the report still renders: empty ADaM datasets, screened counted
    tables = hand_built_tables()
    tables["randomizations"] = tables["randomizations"].iloc[0:0]
    adam = derive_adam(tables, load_protocol("match"))
    assert adam.adsl.empty and adam.adlb.empty and adam.adtte.empty and adam.adae.empty
    screened = [e for d, e in adam.exclusions if d == "ADSL"]
    assert [(e.reason, e.count) for e in screened] == [
        ("screened but not randomized (CONSORT only)", len(tables["participants"]))
    ]


def test_unknown_arm_is_refused() -> None:
    tables = hand_built_tables()
    tables["randomizations"].loc[0, "arm"] = "placebo"
    with pytest.raises(DataCheckError, match="placebo"):
        derive_adam(tables, load_protocol("match"))


def test_screening_scores_reach_adsl() -> None:
    tables = hand_built_tables()
    tables["screenings"]["scores"] = [
        {"meld": 12.5, "liver_stiffness_kpa": 18.0},
        {"meld": 14.0},
        {},
        {},
        {},
    ]
    adsl = derive_adam(tables, load_protocol("match")).adsl.set_index("USUBJID")
    assert adsl.loc["P1", "SCR_MELD"] == 12.5 and adsl.loc["P2", "SCR_MELD"] == 14.0
    assert adsl.loc["P1", "SCR_LIVER_STIFFNESS_KPA"] == 18.0
    assert math.isnan(adsl.loc["P3", "SCR_MELD"])
