"""Personal data kept out of codes, free text and field names (hepatrial.checks.personal)."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hepatrial.checks import personal
from hepatrial.checks.personal import code_problems, field_name_problems, text_problems
from hepatrial.exceptions import Problem, ProtocolError


def _rules(problems: list[Problem]) -> list[str]:
    return [problem.rule for problem in problems]


# --- codes -------------------------------------------------------------------------------------

CODE_POSITIVES = [
    # code.format: not a string, bad characters, too long, empty, a leading separator
    (42, "code.format"),
    (None, "code.format"),
    ("", "code.format"),
    ("S01 0042", "code.format"),
    ("S01/0042", "code.format"),
    ("-S01", "code.format"),
    ("S" * 41, "code.format"),
    # code.date: every common written form of a real date
    ("2026-01-05", "code.date"),
    ("05/01/1960", "code.date"),
    ("05.01.1960", "code.date"),
    ("1/5/60", "code.date"),
    ("19600105", "code.date"),
    ("05011960", "code.date"),
    ("050160", "code.date"),
    ("P-050160", "code.date"),
    ("5Jan1960", "code.date"),
    ("05-Jan-1960", "code.date"),
    ("5-january-60", "code.date"),
    ("Jan-05-1960", "code.date"),
    # code.phone: 7+ digits once separators are ignored, or a leading +
    ("07700 900123", "code.phone"),
    ("0131-555-1234", "code.phone"),
    ("(0131)5551234", "code.phone"),
    ("0044.131.555", "code.phone"),
    ("+4413", "code.phone"),
    ("S555-1234", "code.phone"),
    # code.national_id: NHS (any spacing), US SSN, Chinese resident ID, 9+ digits
    ("943 476 5919", "code.national_id"),
    ("943-476-5919", "code.national_id"),
    ("123-45-6789", "code.national_id"),
    ("11010519491231002X", "code.national_id"),
    ("123456789", "code.national_id"),
    ("MRN123456789", "code.national_id"),
    # code.email
    ("john.smith@nhs.net", "code.email"),
    ("jsmith@example.org", "code.email"),
    # code.name: capitalised words, or an initial and a surname
    ("John-Smith", "code.name"),
    ("Mary_Jones", "code.name"),
    ("Wang.Wei", "code.name"),
    ("Anne Marie Dupont", "code.name"),
    ("Li-Na", "code.name"),
    ("j.smith", "code.name"),
    ("J.Smith", "code.name"),
    ("j-smith", "code.name"),
]


@pytest.mark.parametrize(("value", "rule"), CODE_POSITIVES)
def test_code_problem_names_field_rule_and_value(value: object, rule: str) -> None:
    problems = code_problems("participant", value)
    assert rule in _rules(problems)
    problem = next(p for p in problems if p.rule == rule)
    assert problem.field == "participant"
    assert problem.value == value
    assert repr(value) in problem.message
    assert "S01-0042" in problem.fix
    assert problem.severity == "hard"


CODE_NEGATIVES = [
    # codes in use in this project and its tests
    "P001",
    "K001",
    "S01",
    "inv-7",
    "adm",
    "S01-0007",
    "MSC-017",
    "site-A",
    "ED-01",
    # more study-code shapes
    "S01-0042",
    "EDI-0042",
    "BJ-302",
    "SITE01",
    "S01.P0042",
    "HK-12",
    "inv_7",
    "coord-2",
    "admin",
    "ARM-B",
    "Arm-B",
    "CTRL",
    "Site-Beijing",
    "Control-Arm",
    "Placebo_Group",
    "MSC-High",
    "Dose-Low",
    "v2.1",
    "0042",
    "001234",
    "123456",
    "2026",
    "W12",
    "D90",
    "AB",
    "x1",
    "john-smith",
]


@pytest.mark.parametrize("value", CODE_NEGATIVES)
def test_study_codes_pass(value: str) -> None:
    assert code_problems("participant", value) == []


@pytest.mark.parametrize(
    ("value", "rules"),
    [
        ("05/01/1960", ["code.format", "code.date"]),
        ("john.smith@nhs.net", ["code.format", "code.email"]),
        ("943 476 5919", ["code.format", "code.phone", "code.national_id"]),
        ("123-45-6789", ["code.phone", "code.national_id"]),
    ],
)
def test_every_problem_is_returned_once(value: str, rules: list[str]) -> None:
    assert sorted(_rules(code_problems("user", value))) == sorted(rules)


def test_a_date_is_not_also_a_phone_number() -> None:
    assert _rules(code_problems("site", "19600105")) == ["code.date"]


def test_code_pattern_names_the_pattern_and_the_example() -> None:
    problems = code_problems("participant", "P001", pattern=r"S\d{2}-\d{4}", example="S01-0042")
    assert _rules(problems) == ["code.pattern"]
    problem = problems[0]
    assert problem.field == "participant"
    assert "'P001'" in problem.message
    assert r"S\d{2}-\d{4}" in problem.fix
    assert "'S01-0042'" in problem.fix


def test_code_pattern_without_example() -> None:
    (problem,) = code_problems("site", "Edinburgh", pattern=r"[A-Z]{2,3}")
    assert problem.rule == "code.pattern"
    assert "such as" not in problem.fix


def test_code_matching_pattern_passes_and_other_rules_still_apply() -> None:
    assert code_problems("participant", "S01-0042", pattern=r"S\d{2}-\d{4}") == []
    problems = code_problems("participant", "John-Smith", pattern=r"S\d{2}-\d{4}")
    assert sorted(_rules(problems)) == ["code.name", "code.pattern"]


def test_example_replaces_the_default_in_every_fix() -> None:
    (problem,) = code_problems("participant", "John-Smith", pattern="[A-Za-z-]+", example="Ab-c")
    assert problem.rule == "code.name"
    assert "'Ab-c'" in problem.fix


@pytest.mark.parametrize(
    ("pattern", "example", "named"),
    [("S(", None, "pattern='S('"), ("S[0-9]{2}", "P01", "example='P01'")],
)
def test_bad_pattern_is_a_protocol_error(pattern: str, example: str | None, named: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(named)):
        code_problems("participant", "S01", pattern=pattern, example=example)


# Study codes as this project issues them. [0-9], not \d: Hypothesis would draw any Unicode digit.
STUDY_CODES = st.one_of(
    st.from_regex(r"[A-Z]{1,3}[0-9]{2}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"[A-Z][0-9]{3}", fullmatch=True),
)


@given(STUDY_CODES)
def test_generated_study_codes_have_no_problem(code: str) -> None:
    assert code_problems("participant", code) == []


@given(st.text(max_size=60))
def test_any_text_gives_problems_never_an_exception(text: str) -> None:
    for problem in [*code_problems("participant", text), *text_problems("term", text)]:
        assert problem.value == text


def test_unicode_case_folding_does_not_break_month_names() -> None:
    assert text_problems("term", "5 \u017fep 1960 DOB") == []
    assert code_problems("participant", "5\u017fep1960") != []  # refused as a format problem


# --- checksums -----------------------------------------------------------------------------------

# NHS number: weights 10..2 on the first nine digits; check digit = 11 - (sum mod 11), where 11
# means 0 and 10 means the nine digits have no valid number.
NHS_VALID = [
    # 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 9x3 + 1x2 = 299 = 27x11 + 2; 11 - 2 = 9
    "943 476 5919",
    # 4x10 + 0x9 + 1x8 + 0x7 + 2x6 + 3x5 + 2x4 + 1x3 + 3x2 = 92 = 8x11 + 4; 11 - 4 = 7
    "401-023-2137",
    # 3x10 + 7x2 = 44 = 4x11 + 0; 11 - 0 = 11, written 0
    "300 000 0070",
]
NHS_INVALID = [
    "943 476 5918",  # check digit 8, should be 9 (above)
    "401 023 2130",  # check digit 0, should be 7 (above)
    # 1x10 + 2x9 + 3x8 + 4x7 + 5x6 + 6x5 + 7x4 + 8x3 + 9x2 = 210 = 19x11 + 1; 11 - 1 = 10: none
    "123 456 7890",
]


@pytest.mark.parametrize("number", NHS_VALID)
def test_valid_nhs_number_is_refused_in_any_spacing(number: str) -> None:
    problems = text_problems("details", f"NHS no {number} checked")
    (problem,) = [p for p in problems if p.rule == "text.national_id"]
    assert f"an NHS number ({number!r})" in problem.message
    (code_problem,) = [p for p in code_problems("participant", number) if p.rule.endswith("_id")]
    assert "NHS number" in code_problem.message


@pytest.mark.parametrize("number", NHS_INVALID)
def test_ten_digits_failing_the_nhs_check_are_not_an_nhs_number(number: str) -> None:
    assert "text.national_id" not in _rules(text_problems("details", f"ref {number}"))


# Chinese resident identity number (GB 11643-1999), ISO 7064 MOD 11-2: weights 2^(17-i) mod 11
# = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; check character '10X98765432'[sum mod 11].
CHINESE_VALID = [
    # 1x7+1x9+0x10+1x5+0x8+5x4+1x2+9x1+4x6+9x3+1x7+2x9+3x10+1x5+0x8+0x4+2x2
    # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167 = 15x11 + 2 -> 'X'
    "11010519491231002X",
    "11010519491231002x",
    # 4x7+4x9+0x10+5x5+2x8+4x4+1x2+8x1+8x6+0x3+0x7+1x9+0x10+1x5+0x8+0x4+1x2
    # = 28+36+0+25+16+16+2+8+48+0+0+9+0+5+0+0+2 = 195 = 17x11 + 8 -> '4'
    "440524188001010014",
]
CHINESE_INVALID = ["110105194912310021", "440524188001010015"]


@pytest.mark.parametrize("number", CHINESE_VALID)
def test_valid_chinese_resident_id_is_named(number: str) -> None:
    (problem,) = [p for p in text_problems("details", f"ID {number}") if p.rule.endswith("_id")]
    assert "Chinese resident identity number" in problem.message


@pytest.mark.parametrize("number", CHINESE_INVALID)
def test_invalid_chinese_id_is_still_refused_as_a_digit_run(number: str) -> None:
    (problem,) = [p for p in text_problems("details", f"ID {number}") if p.rule.endswith("_id")]
    assert "Chinese" not in problem.message
    assert "18 digits" in problem.message


# --- free text -----------------------------------------------------------------------------------

TEXT_POSITIVES = [
    # (text, rule, the fragment the message names)
    ("contact j.smith@nhs.net", "text.email", "j.smith@nhs.net"),
    ("family: wang.wei@163.com", "text.email", "wang.wei@163.com"),
    ("call 07700 900123", "text.phone", "07700 900123"),
    ("tel +44 131 555 1234", "text.phone", "+44 131 555 1234"),
    ("tel 0044 131 555 1234", "text.phone", "0044 131 555 1234"),
    ("ring (0131) 555 1234", "text.phone", "(0131) 555 1234"),
    ("mobile 07700900123", "text.phone", "07700900123"),
    ("ward 555-123-4567", "text.phone", "555-123-4567"),
    ("Beijing 302 Hospital, tel 010 6693 3114", "text.phone", "010 6693 3114"),
    ("NHS 943 476 5919", "text.national_id", "943 476 5919"),
    ("SSN 123-45-6789", "text.national_id", "123-45-6789"),
    ("ID 11010519491231002X", "text.national_id", "11010519491231002X"),
    ("MRN 123456789", "text.national_id", "123456789"),
    ("born 05/01/1960", "text.date_of_birth", "05/01/1960"),
    ("DOB: 1960-01-05", "text.date_of_birth", "1960-01-05"),
    ("d.o.b. 5 Jan 1960", "text.date_of_birth", "5 Jan 1960"),
    ("date of birth January 5, 1960", "text.date_of_birth", "January 5, 1960"),
    ("05.01.60 (birth date)", "text.date_of_birth", "05.01.60"),
    ("DOB 050160", "text.date_of_birth", "050160"),
    ("Mr Smith fell at home", "text.name", "Mr Smith"),
    ("Mrs Brown", "text.name", "Mrs Brown"),
    ("Ms Lee withdrew", "text.name", "Ms Lee"),
    ("Miss Jones", "text.name", "Miss Jones"),
    ("seen by Dr Patel", "text.name", "Dr Patel"),
    ("seen by Dr. Lee", "text.name", "Dr. Lee"),
    ("Dr Smith's decision to stop", "text.name", "Dr Smith"),
    ("Mr O'Brien", "text.name", "Mr O'Brien"),
    ("Prof Wang", "text.name", "Prof Wang"),
    ("patient John died", "text.name", "patient John"),
    ("Patient Mary Jones", "text.name", "Patient Mary"),
    ("name: Wang", "text.name", "name: Wang"),
    ("Name = Ahmed", "text.name", "Name = Ahmed"),
    ("a neighbour called Alice", "text.name", "called Alice"),
]


@pytest.mark.parametrize(("text", "rule", "fragment"), TEXT_POSITIVES)
def test_text_problem_names_field_rule_and_fragment(text: str, rule: str, fragment: str) -> None:
    problems = text_problems("term", text)
    assert rule in _rules(problems)
    problem = next(p for p in problems if p.rule == rule)
    assert problem.field == "term"
    assert problem.value == text
    assert repr(fragment) in problem.message
    assert "pseudonymous" in problem.message
    assert problem.fix


TEXT_NEGATIVES = [
    # medical free text
    "Variceal bleeding",
    "multi-organ failure",
    "Spontaneous bacterial peritonitis",
    "Grade 3 hepatic encephalopathy",
    "Dr's decision to stop",  # a title with no name after it: a role, not a person
    "Sepsis (E. coli)",
    "INR 2.3 on day 14",
    "Child-Pugh C",
    "CTCAE v5.0 grade 2",
    "Edinburgh Royal Infirmary",
    "Hepatology Unit, Beijing 302 Hospital",
    "ALT 1200 U/L",
    "10^9/L",
    "day 90",
    "2026-01-05",  # a date without a birth cue
    "admitted 2026-01-05, died 2026-02-01",
    "died 14.02.2026",
    "Bilirubin 350 umol/L on 05/01/2026",
    "Platelets 45 x10^9/L",
    "HBV DNA 1 200 000 IU/mL",
    "HBV DNA 12 000 000 IU/mL",
    "HBV DNA 1200000 IU/mL",
    "ALT 1200-1500 U/L",
    "Creatinine 1.8 mg/dL (159 µmol/L)",
    "Dose 1.0 x 10^6 cells/kg",
    "1.5 x 10^9 cells",
    "BP 120/80 mmHg, HR 110",
    "Time 14:30",
    "protocol v1.2.3",
    "Score 12.5 13.4 11.2 10.9",
    "CLIF-C ACLF 52 at day 7",
    "MELD 32",
    "Hospital 302, room 12 bed 4",
    "Birth weight 3.2 kg",
    "born in 1960",  # a year of birth is not a date of birth
    "born at 36 weeks",
    "MR elastography",  # titles are case-sensitive
    "MS relapse",
    "Missed dose",
    "Drug name: Tacrolimus",
    "Site name: Edinburgh Royal Infirmary",
    "Patient Global Impression of Change",
    "patient declined",
    "Informed consent 2025-12-01 by Investigator",
    "Acute-on-chronic liver failure, APASL-AARC grade II",
]


@pytest.mark.parametrize("text", TEXT_NEGATIVES)
def test_medical_free_text_passes(text: str) -> None:
    assert text_problems("term", text) == []


@pytest.mark.parametrize("value", [None, 5, "", "   ", "\n\t"])
def test_empty_or_not_text_is_the_only_problem(value: object) -> None:
    (problem,) = text_problems("cause_of_death", value)
    assert problem.rule == "text.empty"
    assert problem.field == "cause_of_death"
    assert repr(value) in problem.message


def test_too_long_text_names_its_length_and_other_problems_still_reported() -> None:
    text = "Variceal bleeding " * 12 + "j@example.org"
    problems = text_problems("details", text)
    assert _rules(problems) == ["text.too_long", "text.email"]
    assert f"{len(text)} characters" in problems[0].message
    assert repr(text[:30]) in problems[0].message
    assert text_problems("details", "Variceal bleeding", max_length=17) == []
    assert _rules(text_problems("details", "Variceal bleeding", max_length=16)) == ["text.too_long"]


def test_each_text_rule_is_reported_once() -> None:
    text = "Mr Smith, DOB 05/01/1960, call 07700 900123 or 0131 555 1234, a@b.org, c@d.org"
    rules = _rules(text_problems("details", text))
    assert sorted(rules) == ["text.date_of_birth", "text.email", "text.name", "text.phone"]


# --- field names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "word"),
    [
        ("patient_name", "name"),
        ("Initials", "initials"),
        ("e-mail", "e_mail"),
        ("Phone number", "phone"),
        ("mobile", "mobile"),
        ("home address", "address"),
        ("postcode", "postcode"),
        ("zip", "zip"),
        ("date of birth", "birth"),
        ("DOB", "dob"),
        ("nhs_number", "nhs"),
        ("MRN", "mrn"),
        ("medical-record", "medical_record"),
        ("hospital number", "hospital_number"),
        ("SSN", "ssn"),
        ("passport", "passport"),
        ("national id", "national_id"),
        ("insurance_id", "insurance"),
    ],
)
def test_identifying_field_name(field: str, word: str) -> None:
    (problem,) = field_name_problems(["term", field, "grade"], where="adverse event")
    assert problem.rule == "field.identifying"
    assert problem.field == field
    assert repr(field) in problem.message
    assert repr(word) in problem.message
    assert "adverse event" in problem.message


def test_ordinary_field_names_pass() -> None:
    fields = ["term", "grade", "onset", "serious", "bilirubin", "site_code", "age_years", "visit"]
    assert field_name_problems(fields, where="adverse event") == []


def test_every_identifying_field_is_reported() -> None:
    problems = field_name_problems(["name", "term", "dob"], where="visit")
    assert [p.field for p in problems] == ["name", "dob"]


# --- the module's examples -----------------------------------------------------------------------


def test_docstring_examples() -> None:
    failures, tried = doctest.testmod(personal, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
