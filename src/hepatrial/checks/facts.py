"""Edit checks of screening facts against the protocol's declared facts.

Hard rules: an unknown fact (``fact.unknown``), an answer of the wrong kind (``fact.kind``: a
yes/no fact needs true or false, a number fact a finite number and never a boolean), a category
outside its levels (``fact.level``) and a number outside the fact's ``allowed_range``
(``fact.out_of_range``: transient elastography reads 1.5-75 kPa, so 750 kPa is a typing error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hepatrial.exceptions import Problem
from hepatrial.protocol.models import Fact


def _one(fact: Fact, value: object) -> list[Problem]:
    def problem(rule: str, message: str, fix: str) -> list[Problem]:
        return [Problem(fact.name, value, rule, message, fix, unit=fact.unit)]

    if fact.kind == "yes_no" and not isinstance(value, bool):
        return problem("fact.kind", f"{fact.label}: a yes/no answer is needed", "use true or false")
    if fact.kind == "category" and value not in (fact.levels or ()):
        levels = ", ".join(fact.levels or ())
        return problem("fact.level", f"{value!r} is not a level of {fact.name}", f"use {levels}")
    if fact.kind != "number":
        return []
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return problem(
            "fact.kind",
            f"{fact.label}: a finite number in {fact.unit or 'its unit'} is needed",
            "enter the measured number",
        )
    if fact.allowed_range is not None:
        low, high = fact.allowed_range
        if not low <= float(value) <= high:
            unit = f" {fact.unit}" if fact.unit else ""
            return problem(
                "fact.out_of_range",
                f"{fact.label} is measured within {low:g}-{high:g}{unit}; "
                f"{value:g}{unit} cannot be a reading",
                "check the value and its unit",
            )
    return []


def fact_problems(declared: tuple[Fact, ...], given: Mapping[str, object]) -> list[Problem]:
    """Every problem of the screening ``given`` facts against the protocol's ``declared`` ones."""
    by_name = {fact.name: fact for fact in declared}
    problems: list[Problem] = []
    for name, value in given.items():
        fact = by_name.get(str(name))
        if fact is None:
            asked = ", ".join(by_name) or "no facts"
            problems.append(
                Problem(
                    str(name),
                    value,
                    "fact.unknown",
                    f"{name!r} is not a fact this protocol asks about",
                    f"the protocol asks about: {asked}",
                )
            )
            continue
        problems += _one(fact, value)
    return problems
