"""Quality-of-life instruments: edit-check rules, EQ-5D-5L index values and CLDQ scores.

Sources of the expected numbers, cited at each test:

* Devlin et al., Health Econ 2018;27:7-22 (England value set), abstract: values range from
  -0.285 (55555) to 0.950 for the best states short of 11111; 5.1% of states worse than dead.
* R package eq5d (GitHub fragla/eq5d, version 0.16.3.9000), ``tests/testthat/test-eq5d5l.R``,
  blocks "EQ-5D-5L England gives correct answer" and "EQ-5D-5L China gives correct answer".
  R rounds to 3 decimals; every coefficient has 3 decimals, so the values are exact.
* EuroQol's eq5dsuite value-set tables (GitHub MathsinHealth/eq5dsuite-value-sets,
  ``EQ-5D-5L/CN.csv`` at commit 3604fbbe78c1765a302deedba06bed41adcde86f), for China states
  that the R tests do not cover.
* CLDQ: a hand-derived example written out item by item below.
"""

from __future__ import annotations

import dataclasses
import doctest
import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hepatrial.exceptions import InvalidRecordError, Problem, ProtocolError
from hepatrial.protocol import instruments
from hepatrial.protocol.instruments import (
    CLDQ,
    CLDQ_DOMAINS,
    EQ5D5L,
    EQ5D_DIMENSIONS,
    INSTRUMENTS,
    VALUE_SETS,
    Item,
    cldq_scores,
    eq5d5l_index,
    get_instrument,
)

TOLERANCE = 1e-9


def _state(digits: str) -> tuple[int, int, int, int, int]:
    mo, sc, ua, pd, ad = (int(d) for d in digits)
    return mo, sc, ua, pd, ad


# --- EQ-5D-5L index: England ---------------------------------------------------------------


def test_england_full_health_and_worst_state_from_the_paper() -> None:
    # Devlin et al. 2018, abstract: "Values range from -0.285 (extreme problems on all
    # dimensions)"; full health 11111 is 1 by construction (no constant in the model).
    assert eq5d5l_index(1, 1, 1, 1, 1) == 1.0
    assert eq5d5l_index(5, 5, 5, 5, 5) == -0.285


def test_england_range_and_share_worse_than_dead_from_the_paper() -> None:
    # Devlin et al. 2018, abstract: best state short of full health 0.950; 5.1% of the 3,125
    # states are worse than dead. (The abstract names 11211 and "21111"; by the coefficients in
    # R eq5d's VT.csv, and its tests, 0.950 belongs to 11211 and 12111, and 21111 is 0.942.)
    states = itertools.product(range(1, 6), repeat=5)
    values = [eq5d5l_index(mo, sc, ua, pd, ad) for mo, sc, ua, pd, ad in states]
    below_full = sorted(set(values))[-2]
    assert below_full == pytest.approx(0.950, abs=TOLERANCE)
    assert round(sum(v < 0 for v in values) / len(values), 3) == 0.051
    assert min(values) == -0.285


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # R eq5d tests/testthat/test-eq5d5l.R, "EQ-5D-5L England gives correct answer".
        ("23245", 0.247),
        ("11111", 1.0),
        ("11112", 0.922),
        ("11121", 0.937),
        ("11211", 0.950),
        ("12111", 0.950),
        ("21111", 0.942),
        ("55555", -0.285),
    ],
)
def test_england_matches_r_eq5d(state: str, expected: float) -> None:
    assert eq5d5l_index(*_state(state)) == pytest.approx(expected, abs=TOLERANCE)
    assert eq5d5l_index(*_state(state), value_set="England") == eq5d5l_index(*_state(state))


# --- EQ-5D-5L index: China -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # R eq5d tests/testthat/test-eq5d5l.R, "EQ-5D-5L China gives correct answer".
        ("11111", 1.0),
        ("11211", 0.955),
        ("21111", 0.934),
        ("55555", -0.391),
        # eq5dsuite-value-sets EQ-5D-5L/CN.csv (commit 3604fbbe), rows 12345, 34243, 43434.
        ("12345", 0.335),
        ("34243", 0.217),
        ("43434", 0.050),
    ],
)
def test_china_matches_published_implementations(state: str, expected: float) -> None:
    got = eq5d5l_index(*_state(state), value_set="China")
    assert got == pytest.approx(expected, abs=TOLERANCE)


def test_value_sets_lose_more_at_every_worse_level() -> None:
    for table in VALUE_SETS.values():
        assert "doi:" in table.reference
        assert len(table.decrements) == len(EQ5D_DIMENSIONS)
        for row in table.decrements:
            assert all(0 < a < b for a, b in itertools.pairwise(row)), (table.name, row)


@pytest.mark.parametrize(
    ("levels", "value_set", "fields"),
    [
        ((6, 1, 1, 1, 1), "England", ["mobility"]),
        ((1, 0, 1, 1, 2.5), "England", ["self_care", "anxiety_depression"]),
        ((True, 1, 1, 1, 1), "China", ["mobility"]),
        ((1, 1, 1, 1, 1), "Wales", ["value_set"]),
    ],
)
def test_index_refuses_bad_levels_and_unknown_value_sets(
    levels: tuple[int, int, int, int, int], value_set: str, fields: list[str]
) -> None:
    with pytest.raises(InvalidRecordError) as caught:
        eq5d5l_index(*levels, value_set=value_set)  # type: ignore[arg-type]
    assert [p.field for p in caught.value.problems] == fields
    assert isinstance(caught.value, ValueError)


def test_unknown_value_set_names_the_known_ones() -> None:
    with pytest.raises(InvalidRecordError) as caught:
        eq5d5l_index(1, 1, 1, 1, 1, value_set="UK")  # type: ignore[arg-type]
    (problem,) = caught.value.problems
    assert problem.rule == "qol.unknown_value_set"
    assert "England" in problem.fix and "China" in problem.fix


# --- Registry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EQ-5D-5L", "EQ-5D-5L"),
        ("eq-5d-5l", "EQ-5D-5L"),
        ("EQ5D5L", "EQ-5D-5L"),
        (" eq 5d 5l ", "EQ-5D-5L"),
        ("CLDQ", "CLDQ"),
        ("cldq", "CLDQ"),
    ],
)
def test_get_instrument_accepts_spelling_variants(name: str, expected: str) -> None:
    assert get_instrument(name) is INSTRUMENTS[expected]


@pytest.mark.parametrize("name", ["EQ-5D-3L", "SF-36", "", 5])
def test_get_instrument_refuses_unknown_names(name: object) -> None:
    with pytest.raises(InvalidRecordError) as caught:
        get_instrument(name)  # type: ignore[arg-type]
    (problem,) = caught.value.problems
    assert (problem.field, problem.value, problem.rule) == (
        "instrument",
        name,
        "qol.unknown_instrument",
    )
    assert "EQ-5D-5L" in problem.fix and "CLDQ" in problem.fix


def test_definitions_are_frozen_and_reject_ambiguous_items() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        EQ5D5L.id = "other"  # type: ignore[misc]
    with pytest.raises(ProtocolError, match="either levels or a range"):
        Item("x", "both", levels=(1, 2), low=0, high=1)
    with pytest.raises(ProtocolError, match="low <= high"):
        Item("x", "reversed", low=5, high=1)
    with pytest.raises(ProtocolError):
        Item("x", "neither")


def test_instrument_items_as_specified() -> None:
    assert EQ5D5L.item_ids == (*EQ5D_DIMENSIONS, "vas")
    assert EQ5D5L.derived == ("index",)
    assert CLDQ.item_ids == tuple(f"q{n}" for n in range(1, 30))
    assert set(CLDQ.derived) == {*CLDQ_DOMAINS, "overall"}
    assert all(item.levels == (1, 2, 3, 4, 5, 6, 7) for item in CLDQ.items)


# --- Edit-check rules ------------------------------------------------------------------------

CHECK_CASES = [
    # (answers, field, rule, where the allowed values are named, text that must be there)
    ({"mobility": 9}, "mobility", "qol.out_of_range", "message", "is a level 1-5; got 9"),
    ({"self_care": 0}, "self_care", "qol.out_of_range", "message", "a level 1-5"),
    ({"pain_discomfort": 2.5}, "pain_discomfort", "qol.out_of_range", "message", "a level 1-5"),
    ({"vas": 101}, "vas", "qol.out_of_range", "message", "an integer 0-100"),
    ({"vas": -1}, "vas", "qol.out_of_range", "message", "an integer 0-100"),
    ({"vas": 50.5}, "vas", "qol.out_of_range", "message", "an integer 0-100"),
    ({"mobility": True}, "mobility", "qol.not_a_number", "message", "a level 1-5"),
    ({"mobility": "3"}, "mobility", "qol.not_a_number", "message", "a level 1-5"),
    ({"usual_activities": None}, "usual_activities", "qol.not_a_number", "message", "1-5"),
    ({"vas": math.nan}, "vas", "qol.not_a_number", "message", "an integer 0-100"),
    ({"vas": math.inf}, "vas", "qol.not_a_number", "message", "an integer 0-100"),
    ({"anxiety_depression": -math.inf}, "anxiety_depression", "qol.not_a_number", "message", "1-5"),
    ({"mobilty": 1}, "mobilty", "qol.unknown_item", "fix", "mobility, self_care"),
    ({"index": 0.8}, "index", "qol.derived_item", "message", "computed"),
    ({}, "answers", "qol.empty", "fix", "mobility, self_care, usual_activities"),
]


@pytest.mark.parametrize(("answers", "field", "rule", "where", "text"), CHECK_CASES)
def test_eq5d_check_rules(
    answers: dict[str, object], field: str, rule: str, where: str, text: str
) -> None:
    (problem,) = EQ5D5L.check(answers)
    assert (problem.field, problem.rule, problem.severity) == (field, rule, "hard")
    assert text in getattr(problem, where)
    given_value = answers.get(field, answers)
    assert problem.value is given_value or problem.value == given_value
    assert problem.fix


@pytest.mark.parametrize(
    ("answers", "field", "rule", "text"),
    [
        ({"q3": 8}, "q3", "qol.out_of_range", "CLDQ q3 is a level 1-7; got 8"),
        ({"q29": 0.5}, "q29", "qol.out_of_range", "1-7"),
        ({"q30": 4}, "q30", "qol.unknown_item", "CLDQ has no item 'q30'"),
        ({"fatigue": 4.0}, "fatigue", "qol.derived_item", "computed"),
        ({"overall": 4.0}, "overall", "qol.derived_item", "computed"),
    ],
)
def test_cldq_check_rules(answers: dict[str, object], field: str, rule: str, text: str) -> None:
    (problem,) = CLDQ.check(answers)
    assert (problem.field, problem.rule) == (field, rule)
    assert text in problem.message


def test_check_reports_every_problem_at_once() -> None:
    answers = {"mobility": 9, "self_care": "2", "vas": 50.5, "index": 0.7, "walking": 1}
    problems = EQ5D5L.check(answers)
    assert [(p.field, p.rule) for p in problems] == [
        ("mobility", "qol.out_of_range"),
        ("self_care", "qol.not_a_number"),
        ("vas", "qol.out_of_range"),
        ("index", "qol.derived_item"),
        ("walking", "qol.unknown_item"),
    ]
    assert all(isinstance(p, Problem) for p in problems)


def test_stored_floats_are_accepted_as_levels() -> None:
    # The store keeps every answer as a float, so 2.0 read back must check as level 2.
    assert EQ5D5L.check({"mobility": 2.0, "vas": 80.0}) == []


# --- Derived values --------------------------------------------------------------------------


def test_derived_values_for_eq5d() -> None:
    full = dict(zip(EQ5D_DIMENSIONS, _state("23245"), strict=True)) | {"vas": 60}
    assert EQ5D5L.derived_values(full) == {"index": pytest.approx(0.247, abs=TOLERANCE)}
    china = EQ5D5L.derived_values(full | {"mobility": 1, "self_care": 1}, value_set="China")
    assert china == {"index": eq5d5l_index(1, 1, 2, 4, 5, value_set="China")}
    assert EQ5D5L.derived_values({"mobility": 1, "vas": 90}) == {}


def test_derived_values_refuse_bad_answers() -> None:
    with pytest.raises(InvalidRecordError) as caught:
        EQ5D5L.derived_values({"mobility": 9, "index": 1.0})
    assert [p.field for p in caught.value.problems] == ["mobility", "index"]


def test_derived_values_for_a_partial_cldq_give_only_complete_domains() -> None:
    answers = {"q1": 2, "q5": 3, "q17": 7, "q2": 5}
    assert CLDQ.derived_values(answers) == {"abdominal_symptoms": 4.0}


# --- CLDQ ------------------------------------------------------------------------------------


def test_cldq_domains_partition_the_29_items() -> None:
    # Younossi et al. 1999 as tabulated in BMC Res Notes 2012;5:446, Table 2.
    numbers = sorted(n for items in CLDQ_DOMAINS.values() for n in items)
    assert numbers == list(range(1, 30))
    assert {d: len(items) for d, items in CLDQ_DOMAINS.items()} == {
        "abdominal_symptoms": 3,
        "fatigue": 5,
        "systemic_symptoms": 5,
        "activity": 3,
        "emotional_function": 8,
        "worry": 5,
    }


def test_cldq_scores_hand_derived() -> None:
    # Item n answered ((n - 1) mod 7) + 1: q1..q7 = 1..7, q8..q14 = 1..7, ..., q29 = 1.
    answers = {f"q{n}": (n - 1) % 7 + 1 for n in range(1, 30)}
    scores = cldq_scores(answers)
    expected = {
        "abdominal_symptoms": (1 + 5 + 3) / 3,  # q1, q5, q17
        "fatigue": (2 + 4 + 1 + 4 + 6) / 5,  # q2, q4, q8, q11, q13
        "systemic_symptoms": (3 + 6 + 7 + 2 + 6) / 5,  # q3, q6, q21, q23, q27
        "activity": (7 + 2 + 7) / 3,  # q7, q9, q14
        "emotional_function": (3 + 5 + 1 + 2 + 5 + 6 + 3 + 5)
        / 8,  # q10 q12 q15 q16 q19 q20 q24 q26
        "worry": (4 + 1 + 4 + 7 + 1) / 5,  # q18, q22, q25, q28, q29
        "overall": (4 * 28 + 1) / 29,  # four runs of 1..7, then q29 = 1
    }
    assert scores == pytest.approx(expected, abs=1e-12)
    assert scores["abdominal_symptoms"] == 3.0 and scores["worry"] == 3.4
    # The overall score is the item mean (3.897), not the mean of domain means (3.947).
    assert scores["overall"] != pytest.approx(sum(list(expected.values())[:6]) / 6, abs=1e-3)
    assert CLDQ.derived_values(answers) == scores


def test_cldq_scores_refuse_incomplete_answers() -> None:
    answers = {f"q{n}": 4 for n in range(1, 30) if n not in (3, 17)}
    with pytest.raises(InvalidRecordError) as caught:
        cldq_scores(answers)
    (problem,) = caught.value.problems
    assert (problem.field, problem.rule, problem.value) == (
        "answers",
        "qol.incomplete",
        ["q3", "q17"],
    )
    assert "q3, q17" in problem.message


def test_cldq_scores_report_every_problem() -> None:
    answers = {f"q{n}": 4 for n in range(1, 29)} | {"q1": 9, "worry": 5.0}
    with pytest.raises(InvalidRecordError) as caught:
        cldq_scores(answers)
    assert [(p.field, p.rule) for p in caught.value.problems] == [
        ("q1", "qol.out_of_range"),
        ("worry", "qol.derived_item"),
        ("answers", "qol.incomplete"),
    ]
    with pytest.raises(InvalidRecordError) as empty:
        cldq_scores({})
    assert [p.rule for p in empty.value.problems] == ["qol.empty"]


# --- Properties ------------------------------------------------------------------------------

LEVEL = st.one_of(st.integers(1, 5), st.integers(1, 5).map(float))
VALID_EQ5D = st.fixed_dictionaries(
    {d: LEVEL for d in EQ5D_DIMENSIONS}, optional={"vas": st.integers(0, 100)}
)
ITEM_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_- 0123456789", min_size=1, max_size=20)
WRONG_TYPES = st.sampled_from([True, False, "3", None, math.nan, math.inf, -math.inf, [1], b"2"])


@given(VALID_EQ5D)
def test_valid_eq5d_answers_pass_and_index_lies_in_the_england_range(
    answers: dict[str, float],
) -> None:
    assert EQ5D5L.check(answers) == []
    index = EQ5D5L.derived_values(answers)["index"]
    assert -0.285 <= index <= 1.0


def _out_of_range(item: str) -> st.SearchStrategy[object]:
    if item == "vas":
        fraction = st.floats(0, 100).filter(lambda x: not x.is_integer())
        return st.one_of(st.integers(max_value=-1), st.integers(min_value=101), fraction)
    fraction = st.floats(1, 5).filter(lambda x: not x.is_integer())
    return st.one_of(st.integers(max_value=0), st.integers(min_value=6), fraction)


@given(answers=VALID_EQ5D.map(lambda a: a | {"vas": 70}), data=st.data())
def test_one_corrupted_item_gives_a_problem_naming_exactly_that_item(
    answers: dict[str, object], data: st.DataObject
) -> None:
    item = data.draw(st.sampled_from(EQ5D5L.item_ids), label="item")
    kind = data.draw(st.sampled_from(["out_of_range", "not_a_number", "unknown_item"]))
    corrupted = dict(answers)
    if kind == "unknown_item":
        known = {*EQ5D5L.item_ids, *EQ5D5L.derived}
        name = data.draw(ITEM_NAMES.filter(lambda s: s not in known), label="name")
        corrupted[name] = corrupted.pop(item)
    else:
        name = item
        bad = _out_of_range(item) if kind == "out_of_range" else WRONG_TYPES
        corrupted[item] = data.draw(bad, label="value")
    problems = EQ5D5L.check(corrupted)
    assert [(p.field, p.rule) for p in problems] == [(name, f"qol.{kind}")]


@given(st.fixed_dictionaries({f"q{n}": st.integers(1, 7) for n in range(1, 30)}))
def test_cldq_scores_lie_between_1_and_7(answers: dict[str, int]) -> None:
    scores = cldq_scores(answers)
    assert set(scores) == {*CLDQ_DOMAINS, "overall"}
    assert all(1.0 <= s <= 7.0 for s in scores.values())


def test_docstring_examples() -> None:
    failures, tried = doctest.testmod(instruments, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
