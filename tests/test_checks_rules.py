"""The edit-check rules on their own (no store): labs, life-cycle dates and screening facts.

Property tests: random valid records give no problem; a random corruption of one field gives a
problem naming exactly that field. Worked cases name the arithmetic behind each number.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hepatrial.checks.dates import DatedRecord, History, date_problems, ending_problems
from hepatrial.checks.facts import fact_problems
from hepatrial.checks.labs import (
    COHORT_MINIMUM,
    USUAL_RANGES,
    LabEntry,
    cohort_problems,
    lab_problems,
)
from hepatrial.protocol.loader import load_protocol
from hepatrial.units import accepted_units, plausible_range, to_conventional

TODAY = dt.date(2026, 12, 7)
MATCH_FACTS = load_protocol("match").eligibility.facts


@st.composite
def usual_lab(draw: st.DrawFn) -> LabEntry:
    """A value inside the usual range of its analyte, written in one of its accepted units."""
    analyte = draw(st.sampled_from(sorted(USUAL_RANGES)))
    low, high = USUAL_RANGES[analyte]
    conventional = draw(st.floats(low, high))
    unit = draw(st.sampled_from(accepted_units(analyte)))
    per_unit = float(to_conventional(1.0, analyte, unit)[0])
    value = conventional / per_unit
    # stay strictly inside after the round trip through the unit
    if not low <= float(to_conventional(value, analyte, unit)[0]) <= high:
        value = (low + high) / 2 / per_unit
    return LabEntry(analyte, value, unit, "2026-01-05")


@given(usual_lab())
def test_usual_values_in_any_unit_give_no_problem(entry: LabEntry) -> None:
    assert lab_problems([entry]) == []


CORRUPTIONS = {
    "boolean": lambda v: True,
    "text": lambda v: "1.2",
    "missing": lambda v: None,
    "not a number": lambda v: math.nan,
    "infinite": lambda v: math.inf,
    "a million times": lambda v: v * 1e6,
}


@given(usual_lab(), st.sampled_from(sorted(CORRUPTIONS)))
def test_a_corrupted_value_is_refused_naming_its_analyte(entry: LabEntry, how: str) -> None:
    bad = LabEntry(entry.analyte, CORRUPTIONS[how](entry.value), entry.unit, entry.collected_on)
    problems = lab_problems([bad])
    assert [(p.field, p.severity) for p in problems] == [(entry.analyte, "hard")]
    assert problems[0].rule in ("lab.not_a_number", "lab.implausible")


def test_bilirubin_typed_in_the_wrong_unit_is_a_soft_problem() -> None:
    """1.8 µmol/L = 1.8 / 17.1 = 0.105 mg/dL, below the usual 0.2 mg/dL; 1.8 mg/dL is usual."""
    (problem,) = lab_problems([LabEntry("bilirubin", 1.8, "umol/L")])
    assert (problem.rule, problem.severity, problem.unit) == ("lab.unit_mix_up", "soft", "µmol/L")
    assert "0.105 mg/dL" in problem.message and "1.8 mg/dL would be usual" in problem.message


def test_plausible_range_bounds_are_accepted() -> None:
    """Creatinine 0.1 and 25 mg/dL (the plausible bounds of units.py) are outside the usual
    0.3-15 mg/dL, but neither number is usual in µmol/L either (0.1 / 88.4 = 0.0011 and
    25 / 88.4 = 0.283 mg/dL), so there is no unit mix-up to question."""
    low, high = plausible_range("creatinine", "mg/dL")
    assert (low, high) == (0.1, 25.0)
    assert lab_problems([LabEntry("creatinine", low, "mg/dL")]) == []
    assert lab_problems([LabEntry("creatinine", high, "mg/dL")]) == []
    (above,) = lab_problems([LabEntry("creatinine", 25.1, "mg/dL")])
    assert above.rule == "lab.implausible"


def test_cohort_percentiles_need_enough_values() -> None:
    """The 0.1th and 99.9th percentiles of 0.5, 1.0, ..., 1000 * 0.5 (numpy's linear rule)."""
    values = [0.5 * k for k in range(1, COHORT_MINIMUM + 1)]
    assert cohort_problems(LabEntry("inr", 600.0, "1"), values[:-1]) == []  # too few values
    (problem,) = cohort_problems(LabEntry("inr", 600.0, "1"), values)
    assert problem.rule == "lab.beyond_cohort" and problem.severity == "soft"
    assert cohort_problems(LabEntry("inr", 250.0, "1"), values) == []


@st.composite
def course(draw: st.DrawFn) -> tuple[History, dt.date]:
    """A participant randomized, then possibly dead or withdrawn, and a date inside follow-up."""
    randomized = dt.date(2026, 1, 10) + dt.timedelta(days=draw(st.integers(0, 200)))
    ending = randomized + dt.timedelta(days=draw(st.integers(0, 100)))
    kind = draw(st.sampled_from(["alive", "death", "withdrawal"]))
    history = History(
        "P001",
        first_screening=randomized - dt.timedelta(days=3),
        randomized_on=randomized,
        death=ending if kind == "death" else None,
        withdrawn=ending if kind == "withdrawal" else None,
    )
    on = randomized + dt.timedelta(days=draw(st.integers(0, (ending - randomized).days)))
    return history, on


@given(course(), st.sampled_from(["visit", "lab", "qol", "adverse_event", "outcome", "dose"]))
def test_dates_inside_follow_up_give_no_problem(case: tuple[History, dt.date], kind: str) -> None:
    history, on = case
    assert date_problems(kind, "on", on, history, today=TODAY) == []  # type: ignore[arg-type]


@given(course(), st.integers(1, 400))
def test_a_date_moved_past_the_end_is_refused_naming_the_field(
    case: tuple[History, dt.date], shift: int
) -> None:
    history, _ = case
    end = history.death or history.withdrawn
    if end is None:
        later, rule = TODAY + dt.timedelta(days=shift), "date.future"
    else:
        later = end + dt.timedelta(days=shift)
        rule = "date.after_death" if history.death else "date.after_withdrawal"
        if later > TODAY:
            rule = "date.future"
    (problem,) = date_problems("visit", "visit_date", later, history, today=TODAY)
    assert (problem.field, problem.rule) == ("visit_date", rule)


def test_discontinuation_stops_doses_only() -> None:
    history = History(
        "P001", dt.date(2026, 1, 1), dt.date(2026, 1, 2), discontinued=dt.date(2026, 1, 20)
    )
    after = dt.date(2026, 2, 1)
    (dose,) = date_problems("dose", "given_on", after, history, today=TODAY)
    assert dose.rule == "date.after_discontinuation"
    for kind in ("visit", "lab", "qol", "adverse_event", "outcome"):
        assert date_problems(kind, "on", after, history, today=TODAY) == []  # type: ignore[arg-type]


def test_a_death_before_existing_records_lists_them_in_date_order() -> None:
    history = History(
        "P001",
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 2),
        records=(
            DatedRecord("lab", "inr sample", dt.date(2026, 3, 1)),
            DatedRecord("visit", "visit d28", dt.date(2026, 2, 1)),
            DatedRecord("visit", "visit d7", dt.date(2026, 1, 9)),
        ),
    )
    (problem,) = ending_problems("death", "occurred_on", dt.date(2026, 1, 20), history)
    assert problem.rule == "date.records_after_death"
    assert "2 existing record(s): visit d28 on 2026-02-01; inr sample on 2026-03-01" in (
        problem.message
    )
    assert ending_problems("discontinuation", "on", dt.date(2026, 1, 20), history) == []


@st.composite
def match_facts(draw: st.DrawFn) -> dict[str, object]:
    facts: dict[str, object] = {}
    for fact in MATCH_FACTS:
        if fact.kind == "yes_no":
            facts[fact.name] = draw(st.booleans())
        elif fact.kind == "category":
            facts[fact.name] = draw(st.sampled_from(fact.levels or ()))
        else:
            low, high = fact.allowed_range or (0.0, 100.0)
            facts[fact.name] = draw(st.floats(low, high))
    return facts


@given(match_facts())
def test_valid_facts_give_no_problem(facts: dict[str, object]) -> None:
    assert fact_problems(MATCH_FACTS, facts) == []


@given(match_facts(), st.data())
def test_a_corrupted_fact_is_refused_naming_it(
    facts: dict[str, object], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(facts)))
    fact = next(f for f in MATCH_FACTS if f.name == name)
    wrong = {"yes_no": "yes", "category": "unknown-level", "number": 750.0}[fact.kind]
    problems = fact_problems(MATCH_FACTS, {**facts, name: wrong})
    assert [p.field for p in problems] == [name]


def test_an_unknown_fact_names_what_the_protocol_asks() -> None:
    (problem,) = fact_problems(MATCH_FACTS, {"smoker": True})
    assert (problem.field, problem.rule) == ("smoker", "fact.unknown")
    assert "liver_stiffness_kpa" in problem.fix


@pytest.mark.parametrize("value", [True, "22", math.nan])
def test_a_number_fact_must_be_a_finite_number(value: object) -> None:
    (problem,) = fact_problems(MATCH_FACTS, {"liver_stiffness_kpa": value})
    assert (problem.field, problem.rule) == ("liver_stiffness_kpa", "fact.kind")
