"""Screening: evaluate a patient against a protocol's inclusion and exclusion criteria.

Public API
----------
``screen(protocol, patient, *, on=None) -> ScreeningResult``

``patient`` is a :class:`~hepatrial.protocol.patient.Patient` or a mapping with its keys (``age``,
``sex``, ``labs`` as ``{"analyte", "value", "unit", "collected_on"}``, ``clinical``, ``facts``).
``on`` is the screening date (default today). Steps:

1. every lab is checked for a known analyte and unit and a plausible value
   (:func:`hepatrial.units.check_plausible`; a wrong unit or an implausible value raises
   :class:`~hepatrial.exceptions.UnitError`), and refused if dated after ``on``;
2. the latest result of each analyte is used if it is at most ``eligibility.lab_max_age_days``
   old; an older one is refused and every criterion needing it is *not evaluable*, with the
   reason;
3. lab variables (``bilirubin_umol_l``, ...) and the scores the criteria read (``meld`` in the
   protocol's variant, ``child_pugh``, ``aclf_grade``, ...) are computed with
   :mod:`hepatrial.scores`;
4. each criterion is evaluated and explained. The patient is eligible when every inclusion
   criterion is met and no exclusion criterion is; a criterion that cannot be evaluated makes the
   screening ``incomplete`` (not eligible).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pandas as pd
from pydantic import ValidationError

from hepatrial.exceptions import EligibilityError
from hepatrial.protocol._scoring import lab_variables, score_variables
from hepatrial.protocol.expressions import Value
from hepatrial.protocol.models import Criterion, Fact, Protocol
from hepatrial.protocol.patient import LabResult, Patient
from hepatrial.protocol.variables import LAB_VARIABLES
from hepatrial.units import check_plausible, conventional_unit, display_unit

Outcome = Literal["met", "not_met", "not_evaluable"]


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's outcome.

    ``passed`` is True when the criterion allows inclusion (an inclusion criterion met, an
    exclusion criterion not met), False when it prevents it, None when it could not be evaluated.
    """

    id: str
    label: str
    kind: Literal["inclusion", "exclusion"]
    outcome: Outcome
    passed: bool | None
    reason: str


@dataclass(frozen=True)
class LabUsed:
    """A laboratory result used at screening, as reported and in the conventional unit."""

    analyte: str
    value: float
    unit: str
    conventional_value: float
    conventional_unit: str
    collected_on: date
    age_days: int


@dataclass(frozen=True)
class ScreeningResult:
    """The screening decision with every criterion's result and the values behind it.

    Attributes
    ----------
    status : {"eligible", "ineligible", "incomplete"}
        ``incomplete``: nothing failed but some criterion could not be evaluated.
    criteria : tuple of CriterionResult
        Inclusion criteria first, then exclusion criteria, in protocol order.
    values : mapping
        Every variable computed or given (age, sex, lab variables, scores, facts).
    labs_used : tuple of LabUsed
        The lab results the values came from.
    problems : tuple of str
        Labs refused (too old) and variables that could not be computed, with reasons.
    """

    protocol_id: str
    screened_on: date
    status: Literal["eligible", "ineligible", "incomplete"]
    criteria: tuple[CriterionResult, ...]
    values: Mapping[str, Value]
    labs_used: tuple[LabUsed, ...]
    problems: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        """True only when every criterion was evaluated and allows inclusion."""
        return self.status == "eligible"

    @property
    def reasons(self) -> list[str]:
        """Why the patient is not eligible (empty when eligible)."""
        return [f"{c.id}: {c.reason}" for c in self.criteria if c.passed is not True]

    def raise_if_not_eligible(self) -> None:
        """Raise :class:`EligibilityError` listing every failed or unevaluated criterion."""
        if not self.eligible:
            raise EligibilityError(
                f"patient is {self.status} for {self.protocol_id}: " + "; ".join(self.reasons)
            )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per criterion: id, kind, label, outcome, passed, reason."""
        return pd.DataFrame(
            {
                "id": [c.id for c in self.criteria],
                "kind": [c.kind for c in self.criteria],
                "label": [c.label for c in self.criteria],
                "outcome": [c.outcome for c in self.criteria],
                "passed": [c.passed for c in self.criteria],
                "reason": [c.reason for c in self.criteria],
            }
        )

    def __repr__(self) -> str:
        failed = sum(c.passed is False for c in self.criteria)
        return (
            f"ScreeningResult({self.protocol_id}: {self.status}, {len(self.criteria)} criteria, "
            f"{failed} failed)"
        )


def screen(
    protocol: Protocol, patient: Patient | Mapping[str, Any], *, on: date | None = None
) -> ScreeningResult:
    """Screen ``patient`` against ``protocol``; see the module docstring.

    Raises
    ------
    UnitError
        A lab in an unknown unit or with an implausible value.
    EligibilityError
        Malformed patient data: an unknown key or fact, a fact of the wrong kind, a lab dated
        after the screening date.
    """
    patient = _as_patient(patient)
    on = on or date.today()
    eligibility = protocol.eligibility
    labs, lab_problems = _usable_labs(patient.labs, on, eligibility.lab_max_age_days)
    conventional = {lab.analyte: lab.conventional_value for lab in labs}
    needed = eligibility.names_used() | {
        f.band_of for f in protocol.allocation.factors if f.band_of is not None
    }
    scores, unavailable = score_variables(
        needed, conventional, lab_problems, patient, eligibility.meld_variant
    )
    values: dict[str, Value] = {"age": patient.age, **lab_variables(conventional), **scores}
    if patient.sex is not None:
        values["sex"] = patient.sex
    values.update(_checked_facts(eligibility.facts, patient.facts))
    missing = {**_lab_variable_problems(lab_problems), **unavailable}
    criteria = tuple(
        _evaluate(c, "inclusion", values, missing) for c in eligibility.inclusion
    ) + tuple(_evaluate(c, "exclusion", values, missing) for c in eligibility.exclusion)
    return ScreeningResult(
        protocol_id=protocol.id,
        screened_on=on,
        status=_status(criteria),
        criteria=criteria,
        values=values,
        labs_used=tuple(labs),
        problems=tuple(sorted(set(lab_problems.values()) | set(unavailable.values()))),
    )


def _as_patient(patient: Patient | Mapping[str, Any]) -> Patient:
    if isinstance(patient, Patient):
        return patient
    try:
        return Patient.model_validate(dict(patient))
    except ValidationError as error:
        problems = [
            f"{'.'.join(map(str, e['loc'])) or 'patient'}: {e['msg']} (got {e.get('input')!r})"
            for e in error.errors(include_url=False)
        ]
        raise EligibilityError("patient data are invalid: " + "; ".join(problems)) from None


def _usable_labs(
    labs: tuple[LabResult, ...], on: date, max_age_days: int
) -> tuple[list[LabUsed], dict[str, str]]:
    latest: dict[str, LabUsed] = {}
    for index, lab in enumerate(labs):
        if lab.collected_on > on:
            raise EligibilityError(
                f"labs[{index}] {lab.analyte} was collected on {lab.collected_on}, after the "
                f"screening date {on}; screen on or after the collection date"
            )
        value = float(check_plausible(lab.value, lab.analyte, lab.unit, field=lab.analyte)[0])
        used = LabUsed(
            analyte=lab.analyte,
            value=lab.value,
            unit=display_unit(lab.unit),
            conventional_value=value,
            conventional_unit=conventional_unit(lab.analyte),
            collected_on=lab.collected_on,
            age_days=(on - lab.collected_on).days,
        )
        if lab.analyte not in latest or used.collected_on > latest[lab.analyte].collected_on:
            latest[lab.analyte] = used
    problems = {
        analyte: (
            f"{analyte} {used.value:g} {used.unit} of {used.collected_on} is {used.age_days} "
            f"days old (labs up to {max_age_days} days old are accepted)"
        )
        for analyte, used in latest.items()
        if used.age_days > max_age_days
    }
    return [u for a, u in latest.items() if a not in problems], problems


def _lab_variable_problems(lab_problems: Mapping[str, str]) -> dict[str, str]:
    return {
        name: lab_problems[variable.analyte]
        for name, variable in LAB_VARIABLES.items()
        if variable.analyte in lab_problems
    }


def _checked_facts(declared: tuple[Fact, ...], given: Mapping[str, Value]) -> dict[str, Value]:
    by_name = {fact.name: fact for fact in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise EligibilityError(
            f"unknown fact(s) {', '.join(unknown)}; this protocol asks about: "
            f"{', '.join(by_name) or 'no facts'}"
        )
    for name, value in given.items():
        _check_fact(by_name[name], value)
    return dict(given)


def _check_fact(fact: Fact, value: Value) -> None:
    if fact.kind == "yes_no" and not isinstance(value, bool):
        raise EligibilityError(
            f"fact {fact.name}={value!r}: a yes/no answer (true/false) is needed"
        )
    if fact.kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise EligibilityError(
            f"fact {fact.name}={value!r}: a number in {fact.unit or 'its unit'} is needed"
        )
    if fact.kind == "category" and value not in (fact.levels or ()):
        raise EligibilityError(
            f"fact {fact.name}={value!r} is not a level; levels: {', '.join(fact.levels or ())}"
        )


def _evaluate(
    criterion: Criterion,
    kind: Literal["inclusion", "exclusion"],
    values: Mapping[str, Value],
    missing: Mapping[str, str],
) -> CriterionResult:
    expression = criterion.parsed
    absent = sorted(expression.names - set(values))
    if absent:
        why = "; ".join(missing.get(name, f"{name} was not given") for name in absent)
        return CriterionResult(
            criterion.id, criterion.label, kind, "not_evaluable", None, f"cannot be assessed: {why}"
        )
    true = expression.evaluate(values)
    explained = expression.explain(values)
    if kind == "inclusion":
        reason = f"{'met' if true else 'not met'}: {explained}"
    else:
        reason = f"{'excluded' if true else 'not excluded'}: {explained}"
    passed = true if kind == "inclusion" else not true
    return CriterionResult(
        criterion.id, criterion.label, kind, "met" if true else "not_met", passed, reason
    )


def _status(
    criteria: tuple[CriterionResult, ...],
) -> Literal["eligible", "ineligible", "incomplete"]:
    if any(c.passed is False for c in criteria):
        return "ineligible"
    if any(c.passed is None for c in criteria):
        return "incomplete"
    return "eligible"
