"""The trial protocol as typed, validated data (pydantic v2; unknown keys are refused).

A :class:`Protocol` holds the arms and allocation ratio, the eligibility criteria as expressions,
the allocation method and its factors, the interventions and their dosing, the visit schedule with
windows, and the endpoints with their analysis plan. Every model forbids unknown keys, so a typo
in a YAML file fails loudly. Fields resting on uncertain facts carry an ``assumptions`` entry
(which field, how sure, why); :meth:`Protocol.all_assumptions` lists them all.

This module may import only :mod:`hepatrial.exceptions` and the sibling protocol modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hepatrial.protocol.expressions import Expression, parse_expression
from hepatrial.protocol.variables import (
    LAB_VARIABLES,
    PATIENT_VARIABLES,
    RESERVED_NAMES,
    SCORE_VARIABLES,
)

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]
"""Lower-case identifier: letters, digits, ``_`` and ``-``, starting with a letter."""

Estimator = Literal[
    "ancova",
    "t-test",
    "welch",
    "kaplan_meier",
    "logrank",
    "cox",
    "cumulative_incidence",
    "gray",
    "fine_gray",
    "chisq",
    "chisq-yates",
    "fisher",
    "mmrm",
    "poisson",
]
EndpointKind = Literal[
    "change_from_baseline", "time_to_event", "binary", "count", "repeated_measures"
]
Population = Literal["itt", "treated", "per_protocol"]
CIMethod = Literal["t", "normal", "wald", "plain", "log", "log-log", "wilson", "exact"]
MeldVariant = Literal["unos_unrounded", "unos", "meld_na", "meld_3"]

_ESTIMATORS_BY_KIND: dict[str, frozenset[str]] = {
    "change_from_baseline": frozenset({"ancova", "t-test", "welch"}),
    "time_to_event": frozenset(
        {"kaplan_meier", "logrank", "cox", "cumulative_incidence", "fine_gray"}
    ),
    "binary": frozenset({"chisq", "chisq-yates", "fisher"}),
    "count": frozenset({"poisson", "chisq", "chisq-yates", "fisher"}),
    "repeated_measures": frozenset({"mmrm"}),
}
_TESTS = frozenset({"t-test", "welch", "logrank", "gray", "chisq", "chisq-yates", "fisher"})
_TESTS_BY_KIND: dict[str, frozenset[str]] = {
    **_ESTIMATORS_BY_KIND,
    "time_to_event": _ESTIMATORS_BY_KIND["time_to_event"] | {"gray"},
}


class Assumption(BaseModel):
    """A field whose value rests on an uncertain fact.

    ``grade`` follows the research notes: ``secondary`` (conference abstract, news, a table in a
    meta-analysis), ``inferred`` (by arithmetic from published numbers) or ``unverified`` (a
    plausible choice that no source confirmed).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    grade: Literal["secondary", "inferred", "unverified"]
    reason: str = Field(min_length=10)


class StrictModel(BaseModel):
    """Base of every protocol model: unknown keys refused, values frozen, assumptions allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assumptions: tuple[Assumption, ...] = ()

    @model_validator(mode="after")
    def _assumptions_name_fields(self) -> Self:
        own = set(type(self).model_fields) - {"assumptions"}
        for assumption in self.assumptions:
            if assumption.field not in own:
                raise ValueError(
                    f"assumption names field {assumption.field!r}, which this section does not "
                    f"have; fields here: {', '.join(sorted(own))}"
                )
        return self


class Arm(StrictModel):
    """A treatment arm; ``ratio`` is its integer share of the allocation ratio (2:1 -> 2 and 1)."""

    id: Identifier
    label: str
    ratio: int = Field(default=1, ge=1, le=10)


class Fact(StrictModel):
    """A clinical item the protocol asks about at screening (yes/no, category or number)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    kind: Literal["yes_no", "category", "number"]
    levels: tuple[str, ...] | None = None
    unit: str | None = None
    allowed_range: tuple[float, float] | None = None
    """For a number: the inclusive (low, high) the measurement can take (a device's range)."""

    @model_validator(mode="after")
    def _levels_match_kind(self) -> Self:
        if self.name in RESERVED_NAMES:
            raise ValueError(f"fact name {self.name!r} is computed at screening; choose another")
        if (self.kind == "category") != (self.levels is not None):
            raise ValueError("levels are required for a category fact and only for one")
        if self.kind != "number" and (self.unit is not None or self.allowed_range is not None):
            raise ValueError("a unit and an allowed_range make sense only for a number fact")
        if self.allowed_range is not None and not self.allowed_range[0] < self.allowed_range[1]:
            raise ValueError(f"allowed_range {self.allowed_range} must be (low, high), low < high")
        return self


class Criterion(StrictModel):
    """An inclusion or exclusion criterion: an expression over patient values.

    An inclusion criterion is met when its expression is true; an exclusion criterion excludes
    the patient when its expression is true.
    """

    id: Identifier
    label: str
    expression: str

    @model_validator(mode="after")
    def _expression_parses(self) -> Self:
        parse_expression(self.expression)
        return self

    @property
    def parsed(self) -> Expression:
        """The parsed expression."""
        return parse_expression(self.expression)


class Eligibility(StrictModel):
    """Eligibility criteria, the facts they read, and the age limit of screening labs."""

    lab_max_age_days: int = Field(ge=0, le=365)
    meld_variant: MeldVariant = "unos_unrounded"
    facts: tuple[Fact, ...] = ()
    inclusion: tuple[Criterion, ...]
    exclusion: tuple[Criterion, ...] = ()

    @model_validator(mode="after")
    def _names_are_known(self) -> Self:
        _unique("eligibility fact", [f.name for f in self.facts])
        _unique("criterion id", [c.id for c in (*self.inclusion, *self.exclusion)])
        known = RESERVED_NAMES | {f.name for f in self.facts}
        for criterion in (*self.inclusion, *self.exclusion):
            unknown = sorted(criterion.parsed.names - known)
            if unknown:
                raise ValueError(
                    f"criterion {criterion.id!r} reads {', '.join(unknown)}, which is neither a "
                    "declared fact nor a known variable; declare it under eligibility.facts or use "
                    f"one of: {', '.join(sorted(PATIENT_VARIABLES))}, "
                    f"{', '.join(sorted(LAB_VARIABLES))}, {', '.join(sorted(SCORE_VARIABLES))}"
                )
        return self

    def names_used(self) -> frozenset[str]:
        """Every variable read by any criterion."""
        names: set[str] = set()
        for criterion in (*self.inclusion, *self.exclusion):
            names |= criterion.parsed.names
        return frozenset(names)


class Factor(StrictModel):
    """A stratification or minimisation factor.

    Either a category given at randomization (``levels`` listed, or ``None`` for open-ended
    factors such as ``site``), or a band of a numeric screening variable: ``band_of`` names the
    variable, ``cutpoints`` the increasing cut-points (a value equal to a cut-point falls in the
    upper band) and ``levels`` the ``len(cutpoints) + 1`` band labels.
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    levels: tuple[str, ...] | None = None
    weight: float = Field(default=1.0, gt=0)
    band_of: str | None = None
    cutpoints: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _bands_consistent(self) -> Self:
        if (self.band_of is None) != (self.cutpoints is None):
            raise ValueError("band_of and cutpoints go together")
        if self.levels is not None:
            _unique(f"level of factor {self.name!r}", list(self.levels))
        if self.cutpoints is not None:
            if list(self.cutpoints) != sorted(set(self.cutpoints)):
                raise ValueError(f"cutpoints must increase strictly; got {list(self.cutpoints)}")
            if self.levels is None or len(self.levels) != len(self.cutpoints) + 1:
                raise ValueError(
                    f"{len(self.cutpoints)} cutpoints need {len(self.cutpoints) + 1} levels"
                )
        return self


class Allocation(StrictModel):
    """How participants are allocated to arms.

    * ``simple``: independent draws with probabilities proportional to the arms' ratios;
    * ``permuted_blocks``: within each stratum (the combination of ``factors``) blocks whose size is
      drawn at random from ``block_sizes`` (each a multiple of the ratio total);
    * ``minimisation``: Pocock-Simon over ``factors`` with ``imbalance`` ``range`` or ``variance``;
      the arm(s) minimising the weighted imbalance receive probability ``p_best``.
    """

    method: Literal["simple", "permuted_blocks", "minimisation"]
    factors: tuple[Factor, ...] = ()
    block_sizes: tuple[int, ...] | None = None
    p_best: float | None = Field(default=None, gt=0, le=1)
    imbalance: Literal["range", "variance"] | None = None

    @model_validator(mode="after")
    def _options_match_method(self) -> Self:
        _unique("factor", [f.name for f in self.factors])
        blocks, minimisation = self.method == "permuted_blocks", self.method == "minimisation"
        if blocks != (self.block_sizes is not None):
            raise ValueError("block_sizes are required for permuted_blocks and only for it")
        if minimisation != (self.p_best is not None) or minimisation != (
            self.imbalance is not None
        ):
            raise ValueError("p_best and imbalance are required for minimisation and only for it")
        if minimisation and not self.factors:
            raise ValueError("minimisation needs at least one factor")
        if self.method == "simple" and self.factors:
            raise ValueError("simple randomization takes no factors")
        return self


class Window(StrictModel):
    """Days allowed before and after a target date."""

    before: int = Field(ge=0)
    after: int = Field(ge=0)


class Dose(StrictModel):
    """The amount given at each administration.

    ``per_kg`` true means ``target``, ``minimum`` and ``maximum`` are per kilogram of body weight
    (for example cells/kg) and the total is that amount times the weight; otherwise they are fixed
    totals. ``unit`` names the counted quantity (``cells``, ``µg``).
    """

    unit: Literal["cells", "µg", "mg"]
    per_kg: bool
    target: float = Field(gt=0)
    minimum: float = Field(gt=0)
    maximum: float = Field(gt=0)

    @model_validator(mode="after")
    def _bounds_order(self) -> Self:
        if not self.minimum <= self.target <= self.maximum:
            raise ValueError(
                f"need minimum <= target <= maximum; got {self.minimum:g} <= {self.target:g} "
                f"<= {self.maximum:g}"
            )
        return self

    @property
    def unit_label(self) -> str:
        """The unit as written in messages (``cells/kg`` or ``cells``)."""
        return f"{self.unit}/kg" if self.per_kg else self.unit


class Intervention(StrictModel):
    """A product given to one arm: dose, number of administrations, spacing and window."""

    id: Identifier
    arm: Identifier
    product: str
    route: str
    dose: Dose
    count: int = Field(ge=1, le=100)
    first_day: int = Field(ge=0, description="day of the first dose; randomization is day 0")
    interval_days: int = Field(ge=0)
    window: Window

    @model_validator(mode="after")
    def _interval_for_repeats(self) -> Self:
        if self.count > 1 and self.interval_days < 1:
            raise ValueError("repeated doses need interval_days >= 1")
        if self.count > 1 and self.window.before + self.window.after >= self.interval_days:
            raise ValueError(
                f"dose windows ({self.window.before}+{self.window.after} days) must be shorter "
                f"than the interval ({self.interval_days} days) so that doses cannot swap"
            )
        return self


class Visit(StrictModel):
    """A scheduled visit at ``day`` after randomization (day 0), with its window."""

    id: Identifier
    label: str
    day: int = Field(ge=0)
    window: Window


class ConfidenceInterval(StrictModel):
    """How an interval is computed: its method and its level (0.95 for 95%)."""

    method: CIMethod
    level: float = Field(default=0.95, gt=0.5, lt=1)


class Analysis(StrictModel):
    """An additional (sensitivity or supportive) analysis of an endpoint."""

    role: Literal["sensitivity", "supportive"]
    estimator: Estimator
    population: Population
    ci: ConfidenceInterval | None = None
    covariates: tuple[str, ...] = ()
    description: str = ""


class Endpoint(StrictModel):
    """An endpoint and its main analysis.

    ``variable`` names the measurement or event (``meld``, ``death``, ``sae``); ``visits`` the visit
    ids at which it is measured; ``baseline_visit`` the baseline for change endpoints;
    ``time_horizon_days`` the end of follow-up for time-to-event and event-count endpoints;
    ``competing_events`` events that preclude the event of interest (``transplant`` for death);
    ``intercurrent_death`` how deaths before the visit are handled for change or repeated-measures
    endpoints; ``tabulation`` whether events are counted per participant or per event.
    """

    id: Identifier
    label: str
    kind: EndpointKind
    variable: str
    primary: bool = False
    estimator: Estimator
    test: Estimator | None = None
    population: Population
    ci: ConfidenceInterval
    covariates: tuple[str, ...] = ()
    baseline_visit: Identifier | None = None
    visits: tuple[Identifier, ...] = ()
    time_horizon_days: int | None = Field(default=None, ge=1)
    competing_events: tuple[str, ...] = ()
    intercurrent_death: Literal["exclude_and_count", "worst_value", "composite"] | None = None
    tabulation: Literal["participants", "events"] | None = None
    additional: tuple[Analysis, ...] = ()

    @model_validator(mode="after")
    def _estimators_fit_kind(self) -> Self:
        allowed = _ESTIMATORS_BY_KIND[self.kind]
        used = [self.estimator, *(a.estimator for a in self.additional)]
        wrong = [e for e in used if e not in allowed]
        if wrong:
            raise ValueError(
                f"estimator {wrong[0]!r} does not fit a {self.kind} endpoint; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        if self.test is not None and (
            self.test not in _TESTS or self.test not in _TESTS_BY_KIND[self.kind]
        ):
            raise ValueError(f"test {self.test!r} does not fit a {self.kind} endpoint")
        if (
            "ancova" in used
            and not self.covariates
            and not any(a.covariates for a in self.additional)
        ):
            raise ValueError("an ANCOVA needs covariates (for example baseline_meld)")
        _KIND_CHECKS[self.kind](self)
        return self


def _check_change(endpoint: Endpoint) -> None:
    if endpoint.baseline_visit is None or len(endpoint.visits) != 1:
        raise ValueError(
            "a change_from_baseline endpoint needs baseline_visit and exactly one visit"
        )
    if endpoint.intercurrent_death is None:
        raise ValueError("state intercurrent_death: how deaths before the visit are handled")


def _check_repeated(endpoint: Endpoint) -> None:
    if endpoint.baseline_visit is None or not endpoint.visits:
        raise ValueError("a repeated_measures endpoint needs baseline_visit and visits")
    if endpoint.intercurrent_death is None:
        raise ValueError("state intercurrent_death: how deaths before the visits are handled")


def _check_time_to_event(endpoint: Endpoint) -> None:
    if endpoint.time_horizon_days is None:
        raise ValueError("a time_to_event endpoint needs time_horizon_days")
    used = {endpoint.estimator, *(a.estimator for a in endpoint.additional)}
    needing = sorted(used & {"cumulative_incidence", "fine_gray"})
    if needing and not endpoint.competing_events:
        raise ValueError(f"{needing[0]} needs competing_events (for example [death, transplant])")
    if endpoint.test == "gray" and endpoint.estimator != "cumulative_incidence":
        raise ValueError(
            "Gray's test (test: gray) compares cumulative incidences: use it with "
            "estimator: cumulative_incidence"
        )


def _check_events(endpoint: Endpoint) -> None:
    if endpoint.time_horizon_days is None or endpoint.tabulation is None:
        raise ValueError(f"a {endpoint.kind} endpoint needs time_horizon_days and tabulation")


_KIND_CHECKS = {
    "change_from_baseline": _check_change,
    "repeated_measures": _check_repeated,
    "time_to_event": _check_time_to_event,
    "binary": _check_events,
    "count": _check_events,
}


class ParticipantCodes(StrictModel):
    """The form every participant code of the trial follows (a regular expression, matched
    whole), with an example that follows it: ``{pattern: 'S\\d{2}-\\d{4}', example: S01-0007}``."""

    pattern: str
    example: str

    @model_validator(mode="after")
    def _example_follows_pattern(self) -> Self:
        try:
            compiled = re.compile(self.pattern)
        except re.error as error:
            raise ValueError(
                f"pattern {self.pattern!r} is not a regular expression: {error}"
            ) from None
        if not compiled.fullmatch(self.example):
            raise ValueError(f"example {self.example!r} does not follow pattern {self.pattern!r}")
        return self


class Protocol(StrictModel):
    """A complete trial protocol; see the module docstring and ``docs/operations.md``."""

    id: Identifier
    title: str
    version: str
    registration: str | None = None
    description: str = ""
    arms: tuple[Arm, ...] = Field(min_length=2)
    eligibility: Eligibility
    allocation: Allocation
    interventions: tuple[Intervention, ...] = ()
    visits: tuple[Visit, ...] = Field(min_length=1)
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    participant_codes: ParticipantCodes | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        arm_ids = [a.id for a in self.arms]
        _unique("arm id", arm_ids)
        _unique("intervention id", [i.id for i in self.interventions])
        _unique("endpoint id", [e.id for e in self.endpoints])
        visit_ids = [v.id for v in self.visits]
        _unique("visit id", visit_ids)
        if [v.day for v in self.visits] != sorted({v.day for v in self.visits}):
            raise ValueError("visits must be listed by strictly increasing day")
        for intervention in self.interventions:
            if intervention.arm not in arm_ids:
                raise ValueError(
                    f"intervention {intervention.id!r} names unknown arm {intervention.arm!r}"
                )
        for endpoint in self.endpoints:
            refs = [
                *endpoint.visits,
                *([endpoint.baseline_visit] if endpoint.baseline_visit else []),
            ]
            unknown = [v for v in refs if v not in visit_ids]
            if unknown:
                raise ValueError(f"endpoint {endpoint.id!r} names unknown visit {unknown[0]!r}")
        if sum(e.primary for e in self.endpoints) != 1:
            raise ValueError("exactly one endpoint must be marked primary")
        self._check_allocation()
        return self

    def _check_allocation(self) -> None:
        total = sum(self.ratio)
        bad = [b for b in self.allocation.block_sizes or () if b % total]
        if bad:
            raise ValueError(
                f"block size {bad[0]} is not a multiple of the ratio total {total} "
                f"({':'.join(map(str, self.ratio))}); use multiples such as {total} or {2 * total}"
            )
        numeric = set(LAB_VARIABLES) | (set(SCORE_VARIABLES) - {"child_pugh_class"}) | {"age"}
        numeric |= {f.name for f in self.eligibility.facts if f.kind == "number"}
        facts = {f.name: f for f in self.eligibility.facts}
        for factor in self.allocation.factors:
            if factor.band_of is not None and factor.band_of not in numeric:
                raise ValueError(
                    f"factor {factor.name!r} bands {factor.band_of!r}, which is not a numeric "
                    "screening variable"
                )
            fact = facts.get(factor.name)
            if factor.band_of is None and fact is not None and fact.levels != factor.levels:
                raise ValueError(
                    f"factor {factor.name!r} must have the levels of the screening fact of the "
                    f"same name: {list(fact.levels or ())}; got {list(factor.levels or ())}"
                )

    @property
    def arm_ids(self) -> tuple[str, ...]:
        """Arm identifiers in protocol order."""
        return tuple(a.id for a in self.arms)

    @property
    def ratio(self) -> tuple[int, ...]:
        """Allocation ratio in arm order."""
        return tuple(a.ratio for a in self.arms)

    @property
    def primary_endpoint(self) -> Endpoint:
        """The endpoint marked primary."""
        return next(e for e in self.endpoints if e.primary)

    def interventions_for(self, arm: str) -> tuple[Intervention, ...]:
        """The interventions given to ``arm`` (empty for a control arm)."""
        if arm not in self.arm_ids:
            raise ValueError(
                f"arm={arm!r} is not an arm of {self.id}; arms: {', '.join(self.arm_ids)}"
            )
        return tuple(i for i in self.interventions if i.arm == arm)

    def all_assumptions(self) -> list[tuple[str, Assumption]]:
        """Every assumption with the dotted path of the field it qualifies."""
        return list(_walk_assumptions(self, ""))


def _walk_assumptions(model: BaseModel, path: str) -> Iterator[tuple[str, Assumption]]:
    if isinstance(model, StrictModel):
        for assumption in model.assumptions:
            yield (f"{path}.{assumption.field}" if path else assumption.field), assumption
    for name in type(model).model_fields:
        value = getattr(model, name)
        where = f"{path}.{name}" if path else name
        if isinstance(value, BaseModel):
            yield from _walk_assumptions(value, where)
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                if isinstance(item, StrictModel):
                    label = getattr(item, "id", None) or getattr(item, "name", None) or index
                    yield from _walk_assumptions(item, f"{where}[{label}]")


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears twice")
        seen.add(value)
