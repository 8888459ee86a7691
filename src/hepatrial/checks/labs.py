"""Edit checks of laboratory values: type, unit, plausibility, likely unit mix-ups, the cohort.

Hard rules (the value cannot be true as entered):

* ``lab.not_a_number``: a boolean, text, a missing or an infinite value;
* ``lab.unknown_analyte`` and ``lab.unit``: an analyte or unit hepatrial does not know;
* ``lab.implausible``: outside the analyte's plausible range in its unit
  (:func:`hepatrial.units.check_plausible`), with the likely unit mix-up named;
* ``lab.conflicting_values``: one sample (analyte and date) given two different values.

Soft rules (possible, but unusual enough to need a confirmation with a reason):

* ``lab.unit_mix_up``: the value is plausible in its unit but outside the *usual* range of
  patients with liver disease, while the same number in the analyte's other unit would be usual
  (bilirubin 1.8 µmol/L is 0.11 mg/dL; 1.8 mg/dL is the usual reading). The usual ranges below
  are deliberately wide judgements, not reference intervals: they exist to catch a unit typed
  wrongly, and a confirmed value is stored as entered.
* ``lab.beyond_cohort``: with at least :data:`COHORT_MINIMUM` values of other participants in the
  trial, a value beyond the empirical 0.1th or 99.9th percentile of those values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hepatrial.exceptions import Problem, UnitError
from hepatrial.units import (
    ANALYTES,
    accepted_units,
    conventional_unit,
    convert,
    display_unit,
    implausible_message,
    plausible_range,
    to_conventional,
)

USUAL_RANGES: dict[str, tuple[float, float]] = {
    "bilirubin": (0.2, 50.0),
    "creatinine": (0.3, 15.0),
    "albumin": (1.0, 6.0),
    "urea": (2.0, 200.0),
    "lactate": (0.3, 20.0),
}
"""Usual (low, high) in liver-disease patients, conventional units (mg/dL, g/dL, mmol/L)."""

COHORT_MINIMUM = 1000
"""Values of other participants needed to estimate the 0.1th and 99.9th percentiles."""


@dataclass(frozen=True)
class LabEntry:
    """One laboratory value as entered: analyte, value, unit and collection date (ISO text)."""

    analyte: str
    value: object
    unit: str
    collected_on: str = ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _problem(entry: LabEntry, rule: str, message: str, fix: str, **extra: object) -> Problem:
    return Problem(
        field=entry.analyte,
        value=entry.value,
        unit=display_unit(entry.unit) if isinstance(entry.unit, str) and entry.unit else None,
        rule=rule,
        message=message,
        fix=fix,
        **extra,  # type: ignore[arg-type]
    )


def _known(entry: LabEntry) -> Problem | None:
    if entry.analyte not in ANALYTES:
        return _problem(
            entry,
            "lab.unknown_analyte",
            f"{entry.analyte!r} is not an analyte hepatrial knows",
            f"use one of {', '.join(ANALYTES)}",
        )
    try:
        convert(1.0, entry.analyte, entry.unit, conventional_unit(entry.analyte))
    except (UnitError, AttributeError, TypeError):
        allowed = ", ".join(display_unit(u) for u in accepted_units(entry.analyte))
        return _problem(
            entry,
            "lab.unit",
            f"{entry.unit!r} is not a unit of {entry.analyte}",
            f"use one of {allowed}",
        )
    return None


def conventional_value(entry: LabEntry) -> float:
    """The entered value in the analyte's conventional unit (call after :func:`value_problems`)."""
    return float(to_conventional(float(entry.value), entry.analyte, entry.unit)[0])  # type: ignore[arg-type]


def _conv(entry: LabEntry) -> str:
    return conventional_unit(entry.analyte)


def value_problems(entry: LabEntry) -> list[Problem]:
    """Hard problems of one value on its own: type, analyte, unit and plausibility."""
    number = _number(entry.value)
    if number is None:
        return [
            _problem(
                entry,
                "lab.not_a_number",
                f"{entry.analyte}={entry.value!r} is not a finite number",
                "enter the number as reported by the laboratory",
            )
        ]
    unknown = _known(entry)
    if unknown is not None:
        return [unknown]
    low, high = plausible_range(entry.analyte, entry.unit)
    if not low <= number <= high:
        message = implausible_message(number, entry.analyte, entry.unit, entry.analyte)
        return [_problem(entry, "lab.implausible", message, "")]
    return []


def mix_up_problems(entry: LabEntry) -> list[Problem]:
    """The soft ``lab.unit_mix_up`` problem of a plausible value, if any."""
    usual = USUAL_RANGES.get(entry.analyte)
    if usual is None:
        return []
    value = conventional_value(entry)
    if usual[0] <= value <= usual[1]:
        return []
    number = float(entry.value)  # type: ignore[arg-type]
    for other in accepted_units(entry.analyte):
        as_other = float(to_conventional(number, entry.analyte, other)[0])
        if other != entry.unit and usual[0] <= as_other <= usual[1]:
            side = "below" if value < usual[0] else "above"
            limit = usual[0] if value < usual[0] else usual[1]
            unit = display_unit(_conv(entry))
            return [
                _problem(
                    entry,
                    "lab.unit_mix_up",
                    f"{number:g} {display_unit(entry.unit)} is {value:.3g} {unit}, {side} the "
                    f"usual {limit:g} {unit} in liver disease; {number:g} "
                    f"{display_unit(other)} would be usual",
                    "check the unit on the laboratory report; confirm with a reason if the "
                    "value is right",
                    severity="soft",
                )
            ]
    return []


def cohort_problems(entry: LabEntry, cohort: Sequence[float]) -> list[Problem]:
    """The soft ``lab.beyond_cohort`` problem, comparing with other participants' values.

    ``cohort`` holds conventional-unit values of the same analyte from *other* participants of
    the trial. The 0.1th and 99.9th percentiles are the empirical ones (no distribution is
    assumed: a trial's values are truncated by its eligibility criteria, and improve or worsen
    in follow-up), so they are estimated only from at least :data:`COHORT_MINIMUM` values.
    """
    if len(cohort) < COHORT_MINIMUM:
        return []
    low, high = (float(q) for q in np.quantile(np.asarray(cohort, dtype=float), [0.001, 0.999]))
    value = conventional_value(entry)
    if low <= value <= high:
        return []
    unit = display_unit(_conv(entry))
    return [
        _problem(
            entry,
            "lab.beyond_cohort",
            f"{value:.3g} {unit} lies outside the 0.1th-99.9th percentiles of this trial's "
            f"{len(cohort)} values from other participants ({low:.3g}-{high:.3g} {unit})",
            "check the value; confirm with a reason if it is right",
            severity="soft",
        )
    ]


def conflicting_problems(entries: Sequence[LabEntry]) -> list[Problem]:
    """Hard ``lab.conflicting_values``: one analyte given two different values on one date."""
    seen: dict[tuple[str, str], LabEntry] = {}
    problems = []
    for entry in entries:
        key = (entry.analyte, entry.collected_on)
        first = seen.setdefault(key, entry)
        if first is entry or _number(entry.value) is None or _number(first.value) is None:
            continue
        if not math.isclose(conventional_value(first), conventional_value(entry)):
            problems.append(
                _problem(
                    entry,
                    "lab.conflicting_values",
                    f"{entry.analyte} on {entry.collected_on or 'one date'} is given twice: "
                    f"{first.value!r} {display_unit(first.unit)} and {entry.value!r} "
                    f"{display_unit(entry.unit)}",
                    "keep the one value the laboratory reported for that sample",
                )
            )
    return problems


def lab_problems(
    entries: Sequence[LabEntry], cohort: Mapping[str, Sequence[float]] | None = None
) -> list[Problem]:
    """Every hard and soft problem of the values of one entry (a sample or a screening).

    Soft rules run only on values without a hard problem; ``cohort`` maps an analyte to the
    other participants' conventional values (see :func:`cohort_problems`).
    """
    problems: list[Problem] = []
    for entry in entries:
        hard = value_problems(entry)
        problems += hard
        if not hard:
            problems += mix_up_problems(entry)
            problems += cohort_problems(entry, (cohort or {}).get(entry.analyte, ()))
    unique = [e for e in entries if not value_problems(e)]
    return problems + conflicting_problems(unique)
