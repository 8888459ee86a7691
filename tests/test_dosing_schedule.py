"""Dose planning by weight and date, dose checks, visit schedules and visit-date checks."""

from __future__ import annotations

from datetime import date

import pytest

from hepatrial.exceptions import RecordError
from hepatrial.protocol import check_dose, check_visit, load_protocol, plan_doses, visit_schedule

RANDOMIZED = date(2026, 3, 2)


def test_msc_plan_weekly_by_weight() -> None:
    """70 kg x 5 x 10^5 cells/kg = 3.5 x 10^7 cells per dose; bounds 1-10 x 10^5 cells/kg give
    7 x 10^6 to 7 x 10^7 cells. Weekly from day 0: 2 Mar, 9 Mar, 16 Mar, 23 Mar; window -1/+2."""
    plan = plan_doses(
        load_protocol("msc-aclf"), weight_kg=70, randomization_date=RANDOMIZED, arm="msc"
    )
    assert [d.dose_number for d in plan.doses] == [1, 2, 3, 4]
    assert [d.target_date for d in plan.doses] == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
    ]
    first, second = plan.doses[0], plan.doses[1]
    assert first.total == pytest.approx(3.5e7)
    assert (first.minimum_total, first.maximum_total) == (pytest.approx(7e6), pytest.approx(7e7))
    assert first.amount_per_kg == 5e5 and first.unit == "cells"
    assert first.window_start == RANDOMIZED  # never before randomization
    assert (second.window_start, second.window_end) == (date(2026, 3, 8), date(2026, 3, 11))
    assert len(plan.summary) == 4


def test_control_arm_has_no_doses() -> None:
    plan = plan_doses(
        load_protocol("msc-aclf"),
        weight_kg=70,
        randomization_date=RANDOMIZED,
        arm="standard-medical-therapy",
    )
    assert plan.doses == ()
    with pytest.raises(ValueError, match="arm='placebo' is not an arm"):
        plan_doses(
            load_protocol("msc-aclf"), weight_kg=70, randomization_date=RANDOMIZED, arm="placebo"
        )


def test_match_fixed_dose_does_not_scale_with_weight() -> None:
    protocol = load_protocol("match")
    light = plan_doses(protocol, weight_kg=50, randomization_date=RANDOMIZED, arm="macrophage")
    heavy = plan_doses(protocol, weight_kg=110, randomization_date=RANDOMIZED, arm="macrophage")
    assert light.doses[0].total == heavy.doses[0].total == 1e9
    assert light.doses[0].amount_per_kg is None
    assert light.doses[0].target_date == date(2026, 3, 9)  # day 7


def test_realistic_plan_orders_both_products_by_date() -> None:
    """G-CSF daily days 1-5 (15 µg/kg x 80 kg = 1200 µg); CD133+ days 7, 37, 67
    (0.2 x 10^6 cells/kg x 80 kg = 1.6 x 10^7 cells)."""
    plan = plan_doses(
        load_protocol("realistic"), weight_kg=80, randomization_date=RANDOMIZED, arm="gcsf-cd133"
    )
    assert [(d.intervention, d.day) for d in plan.doses] == [
        ("gcsf-with-cells", 1),
        ("gcsf-with-cells", 2),
        ("gcsf-with-cells", 3),
        ("gcsf-with-cells", 4),
        ("gcsf-with-cells", 5),
        ("cd133-cells", 7),
        ("cd133-cells", 37),
        ("cd133-cells", 67),
    ]
    assert plan.doses[0].total == pytest.approx(1200.0) and plan.doses[0].unit == "µg"
    assert plan.doses[-1].total == pytest.approx(1.6e7)


def test_implausible_weight_is_refused() -> None:
    with pytest.raises(RecordError, match="weight_kg=700 kg is outside the plausible 25-300 kg"):
        plan_doses(
            load_protocol("msc-aclf"), weight_kg=700, randomization_date=RANDOMIZED, arm="msc"
        )


def test_dose_within_bounds_total_or_per_kg() -> None:
    protocol = load_protocol("msc-aclf")
    by_total = check_dose(
        protocol, intervention="msc", dose_number=1, amount=5e7, unit="cells", weight_kg=70
    )
    assert by_total.amount_per_kg == pytest.approx(5e7 / 70)
    by_kg = check_dose(
        protocol, intervention="msc", dose_number=1, amount=1e6, unit="cells/kg", weight_kg=70
    )
    assert by_kg.total == pytest.approx(7e7)  # the upper bound itself is allowed


def test_dose_above_bounds_is_refused_with_allowed_range() -> None:
    """8 x 10^7 cells at 70 kg = 1.14 x 10^6 cells/kg > 1.0 x 10^6."""
    with pytest.raises(RecordError) as error:
        check_dose(
            load_protocol("msc-aclf"),
            intervention="msc",
            dose_number=2,
            amount=8e7,
            unit="cells",
            weight_kg=70,
        )
    assert str(error.value) == (
        "msc dose 8e+07 cells is outside the protocol's bounds; allowed: 1e+05-1e+06 cells/kg "
        "(7e+06-7e+07 cells at 70 kg)"
    )


def test_fixed_dose_above_maximum_is_refused() -> None:
    with pytest.raises(RecordError, match=r"allowed: 1e\+08-1e\+09 cells"):
        check_dose(
            load_protocol("match"),
            intervention="macrophages",
            dose_number=1,
            amount=1.5e9,
            unit="cells",
            weight_kg=70,
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit": "µg"}, "unit 'µg' is not allowed"),
        ({"dose_number": 5}, "dose_number=5 is outside 1-4"),
        ({"intervention": "mscs"}, "intervention='mscs' is not in msc-aclf"),
        ({"amount": -1.0}, "must be positive"),
    ],
)
def test_bad_dose_records_are_refused(changes: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "intervention": "msc",
        "dose_number": 1,
        "amount": 5e7,
        "unit": "cells",
        "weight_kg": 70.0,
    }
    arguments.update(changes)
    with pytest.raises(RecordError, match=message):
        check_dose(load_protocol("msc-aclf"), **arguments)  # type: ignore[arg-type]


def test_dose_timing_deviation_and_refusal() -> None:
    protocol = load_protocol("msc-aclf")
    common = {"intervention": "msc", "amount": 5e7, "unit": "cells", "weight_kg": 70.0}
    on_time = check_dose(
        protocol,
        dose_number=2,
        given_on=date(2026, 3, 10),
        randomization_date=RANDOMIZED,
        **common,  # type: ignore[arg-type]
    )
    assert on_time.within_window and on_time.deviation is None
    late = check_dose(
        protocol,
        dose_number=2,
        given_on=date(2026, 3, 13),
        randomization_date=RANDOMIZED,
        **common,  # type: ignore[arg-type]
    )
    assert late.within_window is False
    assert late.deviation == (
        "msc dose 2 given on 2026-03-13, outside its window 2026-03-08 to 2026-03-11 "
        "(target 2026-03-09)"
    )
    with pytest.raises(RecordError, match="before the randomization date"):
        check_dose(
            protocol,
            dose_number=1,
            given_on=date(2026, 3, 1),
            randomization_date=RANDOMIZED,
            **common,  # type: ignore[arg-type]
        )


def test_match_visit_schedule() -> None:
    schedule = visit_schedule(load_protocol("match"), RANDOMIZED)
    assert [v.day for v in schedule.visits] == [0, 7, 14, 21, 28, 90, 180, 360]
    d90 = schedule.visit("d90")
    # 2 March 2026 + 90 days = 31 May 2026; window +/- 7 days
    assert (d90.target_date, d90.window_start, d90.window_end) == (
        date(2026, 5, 31),
        date(2026, 5, 24),
        date(2026, 6, 7),
    )
    assert schedule.visit("d0").window_start == schedule.visit("d0").window_end == RANDOMIZED
    assert [v.visit_id for v in schedule.open_on(date(2026, 5, 25))] == ["d90"]
    assert [v.visit_id for v in schedule.due_between(date(2026, 3, 7), date(2026, 3, 14))] == [
        "d7",
        "d14",
    ]
    with pytest.raises(RecordError, match="visit_id='d91' is not in the schedule"):
        schedule.visit("d91")


def test_msc_visit_weeks() -> None:
    schedule = visit_schedule(load_protocol("msc-aclf"), RANDOMIZED)
    assert [v.visit_id for v in schedule.visits] == [
        "d0",
        "w1",
        "w2",
        "w3",
        "w4",
        "w8",
        "w12",
        "w24",
    ]
    assert schedule.visit("w24").target_date == date(2026, 8, 17)  # 2 Mar + 168 days


def test_visit_date_checks() -> None:
    protocol = load_protocol("match")
    inside = check_visit(
        protocol, visit_id="d90", visit_date=date(2026, 6, 2), randomization_date=RANDOMIZED
    )
    assert inside.within_window and inside.days_from_target == 2 and inside.deviation is None
    early = check_visit(
        protocol, visit_id="d90", visit_date=date(2026, 5, 20), randomization_date=RANDOMIZED
    )
    assert (early.within_window, early.deviation_days) == (False, -4)
    assert early.deviation == "visit d90 on 2026-05-20 is 4 day(s) before the window opens"
    with pytest.raises(RecordError, match="before the randomization date 2026-03-02"):
        check_visit(
            protocol, visit_id="d7", visit_date=date(2026, 3, 1), randomization_date=RANDOMIZED
        )
