"""Quality-of-life instruments as data: their items, the answers allowed, and the derived scores.

Owns what the edit checks validate questionnaire answers against (the store keeps one
``(instrument, item, value)`` row per answered item): :class:`Item`, :class:`Instrument`, the
registry :data:`INSTRUMENTS` with :func:`get_instrument`, the EQ-5D-5L index
(:func:`eq5d5l_index` over :data:`VALUE_SETS`) and the CLDQ scores (:func:`cldq_scores`).
Imports only :mod:`hepatrial.exceptions`. Every refusal is an
:class:`~hepatrial.exceptions.InvalidRecordError` whose ``problems`` name the field, the value
given and what is allowed.

Hand-written because no Python dependency of hepatrial implements these instruments. The EQ-5D-5L
coefficients are transcribed from the value-set table of the R package eq5d, the reference
implementation (Morton & Nijjar, GitHub fragla/eq5d, ``data-raw/VT.csv``, version 0.16.3.9000);
the China table also agrees state by state with EuroQol's eq5dsuite (GitHub
MathsinHealth/eq5dsuite-value-sets, ``EQ-5D-5L/CN.csv``). The CLDQ item-to-domain assignment is
that of Younossi et al. (Gut 1999;45:295-300) as tabulated in BMC Res Notes 2012;5:446, Table 2.

Examples
--------
>>> problems = get_instrument("eq5d5l").check({"mobility": 9, "vas": 80})
>>> problems[0].rule, problems[0].field
('qol.out_of_range', 'mobility')
>>> problems[0].message
'EQ-5D-5L mobility is a level 1-5; got 9'
>>> eq5d5l_index(2, 3, 2, 4, 5)
0.247
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from hepatrial.exceptions import InvalidRecordError, Problem, ProtocolError

ValueSetName = Literal["England", "China"]
Scorer = Callable[[Mapping[str, float], ValueSetName], dict[str, float]]


@dataclass(frozen=True)
class Item:
    """One answerable item: either discrete ``levels`` or an inclusive range ``low``-``high``.

    ``integer`` (ranges only) refuses fractions such as 50.5; levels are whole numbers anyway.
    """

    id: str
    label: str
    levels: tuple[int, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        ranged = self.low is not None and self.high is not None
        if bool(self.levels) == ranged or self._low > self._high:
            raise ProtocolError(
                f"item {self.id!r}: give either levels or a range low <= high; "
                f"got levels={self.levels!r}, low={self.low!r}, high={self.high!r}"
            )

    @property
    def _low(self) -> float:
        return -math.inf if self.low is None else self.low

    @property
    def _high(self) -> float:
        return math.inf if self.high is None else self.high

    def allowed(self) -> str:
        """Describe the allowed answers: ``"a level 1-5"`` or ``"an integer 0-100"``."""
        if self.levels:
            first, last = self.levels[0], self.levels[-1]
            if self.levels == tuple(range(first, last + 1)):
                return f"a level {first}-{last}"
            return "one of the levels " + ", ".join(map(str, self.levels))
        kind = "an integer" if self.integer else "a number"
        return f"{kind} {self._low:g}-{self._high:g}"

    def problem(self, instrument: str, value: object) -> Problem | None:
        """Return the problem with one answer, or None when ``value`` is allowed."""
        number = _finite_number(value)
        if number is None:
            rule = "qol.not_a_number"
            message = (
                f"{instrument} {self.id} is {self.allowed()}; got {value!r}, "
                "which is not a finite real number"
            )
        elif number in self.levels or (
            not self.levels
            and self._low <= number <= self._high
            and (number.is_integer() or not self.integer)
        ):
            return None
        else:
            rule = "qol.out_of_range"
            message = f"{instrument} {self.id} is {self.allowed()}; got {value!r}"
        if self.levels:
            fix = "enter one of " + ", ".join(map(str, self.levels))
        else:
            whole = "a whole number" if self.integer else "a number"
            fix = f"enter {whole} from {self._low:g} to {self._high:g}"
        return _problem(self.id, value, rule, message, fix)


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its answerable ``items`` and the ``derived`` item ids computed from them.

    ``reference`` cites the instrument; ``scorer`` computes the derived values from answers that
    passed :meth:`check` (see :meth:`derived_values`).
    """

    id: str
    name: str
    reference: str
    items: tuple[Item, ...]
    derived: tuple[str, ...] = ()
    scorer: Scorer | None = field(default=None, repr=False, compare=False)

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The ids of the items a person answers, in questionnaire order."""
        return tuple(item.id for item in self.items)

    def check(self, answers: Mapping[str, object]) -> list[Problem]:
        """Return every problem with one set of answers (an empty list when all are allowed).

        Never raises for bad answers: unknown items (``qol.unknown_item``), derived items entered
        by hand (``qol.derived_item``), values that are not finite real numbers
        (``qol.not_a_number``), values outside the levels or range (``qol.out_of_range``) and an
        empty answer set (``qol.empty``) are all reported at once. Answering only some items is
        allowed; a score that needs every item checks that itself.
        """
        known = ", ".join(self.item_ids)
        if not answers:
            message = f"no {self.id} answers were given"
            fix = f"give at least one of: {known}"
            return [_problem("answers", dict(answers), "qol.empty", message, fix)]
        items = {item.id: item for item in self.items}
        problems: list[Problem] = []
        for key, value in answers.items():
            if key in items:
                found = items[key].problem(self.id, value)
                problems.extend([found] if found is not None else [])
            elif key in self.derived:
                message = f"{self.id} {key} is computed from the answers, never entered by hand"
                fix = f"leave {key} out and enter the items ({known})"
                problems.append(_problem(key, value, "qol.derived_item", message, fix))
            else:
                message = f"{self.id} has no item {key!r}"
                fix = f"use one of: {known}"
                problems.append(_problem(str(key), value, "qol.unknown_item", message, fix))
        return problems

    def derived_values(
        self, answers: Mapping[str, object], value_set: ValueSetName = "England"
    ) -> dict[str, float]:
        """Compute the derived values that the answers allow (``{}`` when none can be).

        EQ-5D-5L gives ``{"index": ...}`` once all five dimensions are answered (``value_set``
        chooses the tariff); the CLDQ gives each domain whose items are all answered and
        ``overall`` once all 29 are. Raises :class:`~hepatrial.exceptions.InvalidRecordError`
        listing every problem when :meth:`check` finds any.
        """
        problems = self.check(answers)
        if problems:
            raise InvalidRecordError(problems=problems)
        numbers_ = {key: _finite_number(value) or 0.0 for key, value in answers.items()}
        return {} if self.scorer is None else self.scorer(numbers_, value_set)


# --- EQ-5D-5L --------------------------------------------------------------------------------

EQ5D_DIMENSIONS = (
    "mobility",
    "self_care",
    "usual_activities",
    "pain_discomfort",
    "anxiety_depression",
)
"""The five EQ-5D dimensions, in the order of the five-digit health state (MO SC UA PD AD)."""


@dataclass(frozen=True)
class ValueSet:
    """An EQ-5D-5L value set: index = 1 - the sum of each dimension's decrement at its level.

    ``decrements[d]`` holds dimension ``d``'s decrements (order of :data:`EQ5D_DIMENSIONS`) at
    levels 2, 3, 4 and 5; level 1 loses nothing. Neither value set here has a constant (R eq5d's
    ``Intercept`` row is NA for both), so 11111 scores exactly 1.
    """

    name: str
    reference: str
    decrements: tuple[tuple[float, float, float, float], ...]


VALUE_SETS: Mapping[str, ValueSet] = MappingProxyType(
    {
        "England": ValueSet(
            name="England",
            reference="Devlin NJ, Shah KK, Feng Y, Mulhern B, van Hout B. Valuing health-related "
            "quality of life: an EQ-5D-5L value set for England. Health Econ 2018;27(1):7-22. "
            "doi:10.1002/hec.3564",
            # R eq5d data-raw/VT.csv, column England (stored there as negative coefficients).
            decrements=(
                (0.058, 0.076, 0.207, 0.274),  # mobility, levels 2-5
                (0.050, 0.080, 0.164, 0.203),  # self-care
                (0.050, 0.063, 0.162, 0.184),  # usual activities
                (0.063, 0.084, 0.276, 0.335),  # pain/discomfort
                (0.078, 0.104, 0.285, 0.289),  # anxiety/depression
            ),
        ),
        "China": ValueSet(
            name="China",
            reference="Luo N, Liu G, Li M, Guan H, Jin X, Rand-Hendriksen K. Estimating an "
            "EQ-5D-5L value set for China. Value Health 2017;20(4):662-669. "
            "doi:10.1016/j.jval.2016.11.016",
            # R eq5d data-raw/VT.csv, column China (stored there as negative coefficients).
            decrements=(
                (0.066, 0.158, 0.287, 0.345),  # mobility, levels 2-5
                (0.048, 0.116, 0.210, 0.253),  # self-care
                (0.045, 0.107, 0.194, 0.233),  # usual activities
                (0.058, 0.138, 0.252, 0.302),  # pain/discomfort
                (0.049, 0.118, 0.215, 0.258),  # anxiety/depression
            ),
        ),
    }
)
"""EQ-5D-5L value sets by name; the worst state 55555 scores -0.285 (England), -0.391 (China)."""


def eq5d5l_index(
    mobility: int,
    self_care: int,
    usual_activities: int,
    pain_discomfort: int,
    anxiety_depression: int,
    value_set: ValueSetName = "England",
) -> float:
    """EQ-5D-5L index of one health state (a level 1-5 per dimension) from a published value set.

    index = 1 - sum over the five dimensions of the decrement at the dimension's level (none at
    level 1), with the coefficients of :data:`VALUE_SETS` (England: Devlin et al., Health Econ
    2018;27:7-22; China: Luo et al., Value Health 2017;20:662-669). Rounded to 12 decimals only
    to drop binary noise; R's ``eq5d::eq5d5l`` rounds to 3, which changes nothing here since
    every coefficient has 3 decimals.

    Raises :class:`~hepatrial.exceptions.InvalidRecordError` naming every dimension that is not
    a level 1-5, and the value set when it is unknown.

    Examples
    --------
    >>> eq5d5l_index(1, 1, 1, 1, 1)
    1.0
    >>> eq5d5l_index(5, 5, 5, 5, 5, value_set="China")
    -0.391
    """
    levels = (mobility, self_care, usual_activities, pain_discomfort, anxiety_depression)
    problems = EQ5D5L.check(dict(zip(EQ5D_DIMENSIONS, levels, strict=True)))
    table = VALUE_SETS.get(value_set)
    if table is None:
        message = f"there is no EQ-5D-5L value set {value_set!r}"
        fix = "use one of: " + ", ".join(VALUE_SETS)
        problems.append(_problem("value_set", value_set, "qol.unknown_value_set", message, fix))
    if problems or table is None:
        raise InvalidRecordError(problems=problems)
    pairs = zip(table.decrements, levels, strict=True)
    lost = math.fsum(row[int(level) - 2] for row, level in pairs if level > 1)
    return round(1.0 - lost, 12)


def _eq5d_scorer(answers: Mapping[str, float], value_set: ValueSetName) -> dict[str, float]:
    if not all(dimension in answers for dimension in EQ5D_DIMENSIONS):
        return {}
    mo, sc, ua, pd, ad = (int(answers[dimension]) for dimension in EQ5D_DIMENSIONS)
    return {"index": eq5d5l_index(mo, sc, ua, pd, ad, value_set=value_set)}


_LEVELS_1_TO_5 = (1, 2, 3, 4, 5)
EQ5D5L = Instrument(
    id="EQ-5D-5L",
    name="EuroQol five-dimension five-level questionnaire",
    reference="Herdman M, Gudex C, Lloyd A, et al. Development and preliminary testing of the new "
    "five-level version of EQ-5D (EQ-5D-5L). Qual Life Res 2011;20(10):1727-1736. "
    "doi:10.1007/s11136-011-9903-x",
    items=(
        Item("mobility", "Mobility", levels=_LEVELS_1_TO_5),
        Item("self_care", "Self-care", levels=_LEVELS_1_TO_5),
        Item("usual_activities", "Usual activities", levels=_LEVELS_1_TO_5),
        Item("pain_discomfort", "Pain/discomfort", levels=_LEVELS_1_TO_5),
        Item("anxiety_depression", "Anxiety/depression", levels=_LEVELS_1_TO_5),
        Item("vas", "EQ VAS: 0 worst, 100 best imaginable health", low=0, high=100, integer=True),
    ),
    derived=("index",),
    scorer=_eq5d_scorer,
)


# --- CLDQ ------------------------------------------------------------------------------------

CLDQ_DOMAINS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "abdominal_symptoms": (1, 5, 17),
        "fatigue": (2, 4, 8, 11, 13),
        "systemic_symptoms": (3, 6, 21, 23, 27),
        "activity": (7, 9, 14),
        "emotional_function": (10, 12, 15, 16, 19, 20, 24, 26),
        "worry": (18, 22, 25, 28, 29),
    }
)
"""CLDQ item numbers of each domain (Younossi et al. 1999; BMC Res Notes 2012;5:446, Table 2)."""

_CLDQ_ITEMS = tuple(f"q{n}" for n in range(1, 30))


def _cldq_means(answers: Mapping[str, float]) -> dict[str, float]:
    groups = {d: [f"q{n}" for n in numbers_] for d, numbers_ in CLDQ_DOMAINS.items()}
    groups["overall"] = list(_CLDQ_ITEMS)
    return {
        name: math.fsum(answers[key] for key in keys) / len(keys)
        for name, keys in groups.items()
        if all(key in answers for key in keys)
    }


def cldq_scores(answers: Mapping[str, object]) -> dict[str, float]:
    """CLDQ domain scores and overall score, each the mean of its items (1 worst, 7 best).

    Domains (:data:`CLDQ_DOMAINS`): abdominal symptoms, fatigue, systemic symptoms, activity,
    emotional function and worry; ``overall`` is the mean of all 29 items. (Some users instead
    average the six domain means; the two differ because the domains have 3 to 8 items.)

    Raises :class:`~hepatrial.exceptions.InvalidRecordError` listing every problem from
    :meth:`Instrument.check` and, when items are missing, one ``qol.incomplete`` problem naming
    them: no score is computed from a partial questionnaire.

    Examples
    --------
    >>> scores = cldq_scores({f"q{n}": 7 if n == 1 else 4 for n in range(1, 30)})
    >>> scores["abdominal_symptoms"], scores["fatigue"]
    (5.0, 4.0)
    """
    problems = CLDQ.check(answers)
    missing = [key for key in _CLDQ_ITEMS if key not in answers]
    if missing and answers:
        message = f"CLDQ scores need all 29 items; missing {', '.join(missing)}"
        fix = "enter the missing items, or leave the questionnaire unscored"
        problems.append(_problem("answers", missing, "qol.incomplete", message, fix))
    if problems:
        raise InvalidRecordError(problems=problems)
    return _cldq_means({key: _finite_number(value) or 0.0 for key, value in answers.items()})


_CLDQ_DOMAIN_OF = {n: domain for domain, numbers_ in CLDQ_DOMAINS.items() for n in numbers_}
CLDQ = Instrument(
    id="CLDQ",
    name="Chronic Liver Disease Questionnaire",
    reference="Younossi ZM, Guyatt G, Kiwi M, Boparai N, King D. Development of a disease "
    "specific questionnaire to measure health related quality of life in patients with chronic "
    "liver disease. Gut 1999;45(2):295-300. doi:10.1136/gut.45.2.295",
    items=tuple(
        Item(
            f"q{n}",
            f"CLDQ item {n} ({_CLDQ_DOMAIN_OF[n].replace('_', ' ')})",
            levels=(*range(1, 8),),
        )
        for n in range(1, 30)
    ),
    derived=(*CLDQ_DOMAINS, "overall"),
    scorer=lambda answers, _value_set: _cldq_means(answers),
)


# --- Registry --------------------------------------------------------------------------------

INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({EQ5D5L.id: EQ5D5L, CLDQ.id: CLDQ})
"""The known instruments by id."""


def get_instrument(name: str) -> Instrument:
    """Return the instrument called ``name``, ignoring case, spaces, hyphens and underscores.

    ``"eq-5d-5l"`` and ``"EQ5D5L"`` both give EQ-5D-5L; anything else raises
    :class:`~hepatrial.exceptions.InvalidRecordError` (rule ``qol.unknown_instrument``).

    Examples
    --------
    >>> get_instrument("eq-5d-5l").id
    'EQ-5D-5L'
    """
    wanted = _squash(name) if isinstance(name, str) else None
    for instrument in INSTRUMENTS.values():
        if _squash(instrument.id) == wanted:
            return instrument
    message = f"{name!r} is not a known quality-of-life instrument"
    fix = "use one of: " + ", ".join(INSTRUMENTS)
    problem = _problem("instrument", name, "qol.unknown_instrument", message, fix)
    raise InvalidRecordError(problems=[problem])


def _problem(field: str, value: object, rule: str, message: str, fix: str) -> Problem:
    return Problem(field=field, value=value, rule=rule, message=message, fix=fix)


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def _finite_number(value: object) -> float | None:
    """Return ``value`` as a float if it is a finite real number (bool is not), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
