"""Dose planning from body weight and randomization date, and dose checks against the protocol.

Public API
----------
``plan_doses(protocol, *, weight_kg, randomization_date, arm) -> DosePlan``: every planned
administration of every intervention of ``arm`` (empty for a control arm), with target date and
window, and the total amount: for a per-kg dose ``total = amount per kg x weight`` (for example
5 x 10^5 cells/kg x 70 kg = 3.5 x 10^7 cells), for a fixed dose the amount itself.

``check_dose(protocol, *, intervention, dose_number, amount, unit, weight_kg, given_on=None,
randomization_date=None) -> DoseCheck``: refuses (:class:`~hepatrial.exceptions.InvalidRecordError`)
a dose outside the protocol's bounds, in a unit that is not the product's, a dose number
beyond the planned count or a date before randomization; a date outside the window is returned as a
deviation, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from hepatrial.exceptions import InvalidRecordError
from hepatrial.protocol.models import Intervention, Protocol

WEIGHT_RANGE_KG = (25.0, 300.0)
"""Plausible adult body weight; outside it a per-kg dose is refused as a likely entry error."""


@dataclass(frozen=True)
class PlannedDose:
    """One planned administration.

    ``amount_per_kg`` is None for fixed doses. ``total``, ``minimum_total`` and ``maximum_total``
    are in ``unit`` (cells, µg, mg) for this participant's weight.
    """

    intervention: str
    product: str
    dose_number: int
    day: int
    target_date: date
    window_start: date
    window_end: date
    unit: str
    amount_per_kg: float | None
    total: float
    minimum_total: float
    maximum_total: float


@dataclass(frozen=True)
class DosePlan:
    """All planned doses of one participant."""

    arm: str
    weight_kg: float
    randomization_date: date
    doses: tuple[PlannedDose, ...]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per planned dose."""
        columns = [
            "intervention",
            "dose_number",
            "day",
            "target_date",
            "window_start",
            "window_end",
            "unit",
            "amount_per_kg",
            "total",
            "minimum_total",
            "maximum_total",
        ]
        return pd.DataFrame(
            [{c: getattr(d, c) for c in columns} for d in self.doses], columns=columns
        )


@dataclass(frozen=True)
class DoseCheck:
    """A given dose that is within the protocol's bounds, and its timing."""

    intervention: str
    dose_number: int
    total: float
    amount_per_kg: float | None
    unit: str
    within_window: bool | None
    deviation: str | None


def _check_weight(weight_kg: float) -> float:
    low, high = WEIGHT_RANGE_KG
    if not low <= weight_kg <= high:
        raise InvalidRecordError(
            f"weight_kg={weight_kg:g} kg is outside the plausible {low:g}-{high:g} kg; "
            "was it entered in pounds or grams?"
        )
    return float(weight_kg)


def _intervention(protocol: Protocol, intervention_id: str) -> Intervention:
    for intervention in protocol.interventions:
        if intervention.id == intervention_id:
            return intervention
    known = ", ".join(i.id for i in protocol.interventions) or "none"
    raise InvalidRecordError(
        f"intervention={intervention_id!r} is not in {protocol.id}; known: {known}"
    )


def _planned(
    intervention: Intervention, number: int, weight_kg: float, randomization_date: date
) -> PlannedDose:
    dose = intervention.dose
    day = intervention.first_day + (number - 1) * intervention.interval_days
    target = randomization_date + timedelta(days=day)
    scale = weight_kg if dose.per_kg else 1.0
    return PlannedDose(
        intervention=intervention.id,
        product=intervention.product,
        dose_number=number,
        day=day,
        target_date=target,
        window_start=max(randomization_date, target - timedelta(days=intervention.window.before)),
        window_end=target + timedelta(days=intervention.window.after),
        unit=dose.unit,
        amount_per_kg=dose.target if dose.per_kg else None,
        total=dose.target * scale,
        minimum_total=dose.minimum * scale,
        maximum_total=dose.maximum * scale,
    )


def plan_doses(
    protocol: Protocol, *, weight_kg: float, randomization_date: date, arm: str
) -> DosePlan:
    """Planned doses of ``arm``; see the module docstring.

    Examples
    --------
    >>> from hepatrial.protocol import load_protocol
    >>> plan = plan_doses(load_protocol("msc-aclf"), weight_kg=70,
    ...                   randomization_date=date(2026, 1, 5), arm="msc")
    >>> [(d.dose_number, d.target_date.isoformat(), d.total) for d in plan.doses][:2]
    [(1, '2026-01-05', 35000000.0), (2, '2026-01-12', 35000000.0)]
    """
    interventions = protocol.interventions_for(arm)
    weight = _check_weight(weight_kg)
    doses = tuple(
        _planned(intervention, number, weight, randomization_date)
        for intervention in interventions
        for number in range(1, intervention.count + 1)
    )
    ordered = tuple(sorted(doses, key=lambda d: (d.target_date, d.intervention)))
    return DosePlan(arm=arm, weight_kg=weight, randomization_date=randomization_date, doses=ordered)


def _bounds_message(intervention: Intervention, amount: float, unit: str, weight: float) -> str:
    dose = intervention.dose
    allowed = f"{dose.minimum:.3g}-{dose.maximum:.3g} {dose.unit_label}"
    if dose.per_kg:
        low, high = dose.minimum * weight, dose.maximum * weight
        allowed += f" ({low:.3g}-{high:.3g} {dose.unit} at {weight:g} kg)"
    return (
        f"{intervention.id} dose {amount:.3g} {unit} is outside the protocol's bounds; "
        f"allowed: {allowed}"
    )


def check_dose(
    protocol: Protocol,
    *,
    intervention: str,
    dose_number: int,
    amount: float,
    unit: str,
    weight_kg: float,
    given_on: date | None = None,
    randomization_date: date | None = None,
) -> DoseCheck:
    """Check a dose given (or about to be given); see the module docstring.

    ``unit`` is the product's unit, total (``"cells"``) or per kilogram (``"cells/kg"``).
    """
    spec = _intervention(protocol, intervention)
    weight = _check_weight(weight_kg)
    dose = spec.dose
    if unit not in (dose.unit, f"{dose.unit}/kg"):
        raise InvalidRecordError(
            f"{intervention} dose unit {unit!r} is not allowed; give {dose.unit!r} (total) or "
            f"'{dose.unit}/kg'"
        )
    if not 1 <= dose_number <= spec.count:
        raise InvalidRecordError(
            f"{intervention} dose_number={dose_number} is outside 1-{spec.count} planned doses"
        )
    if amount <= 0:
        raise InvalidRecordError(f"{intervention} dose {amount:g} {unit} must be positive")
    total = amount * weight if unit.endswith("/kg") else amount
    per_kg = total / weight
    compared = per_kg if dose.per_kg else total
    if not dose.minimum * (1 - 1e-12) <= compared <= dose.maximum * (1 + 1e-12):
        raise InvalidRecordError(_bounds_message(spec, amount, unit, weight))
    within, deviation = _timing(spec, dose_number, weight, given_on, randomization_date)
    return DoseCheck(
        intervention=intervention,
        dose_number=dose_number,
        total=total,
        amount_per_kg=per_kg if dose.per_kg else None,
        unit=dose.unit,
        within_window=within,
        deviation=deviation,
    )


def _timing(
    spec: Intervention,
    dose_number: int,
    weight: float,
    given_on: date | None,
    randomization_date: date | None,
) -> tuple[bool | None, str | None]:
    if given_on is None or randomization_date is None:
        return None, None
    if given_on < randomization_date:
        raise InvalidRecordError(
            f"{spec.id} dose {dose_number} given on {given_on}, before the randomization date "
            f"{randomization_date}"
        )
    planned = _planned(spec, dose_number, weight, randomization_date)
    if planned.window_start <= given_on <= planned.window_end:
        return True, None
    return False, (
        f"{spec.id} dose {dose_number} given on {given_on}, outside its window "
        f"{planned.window_start} to {planned.window_end} (target {planned.target_date})"
    )
