"""Record one reconstructed participant's follow-up through the operations API, in date order.

Visits are recorded where measurements were taken, each measurement day mapped to the protocol
visit whose window holds it (the nearest target day); days outside every window are recorded
without a visit. Death and withdrawal come last on their day, since the service refuses
records after either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from hepatrial import service
from hepatrial.demo.records import Participant
from hepatrial.protocol import Protocol
from hepatrial.protocol.instruments import EQ5D_DIMENSIONS

_DECOMPENSATION = (
    ("varice", "variceal bleeding"),
    ("encephalopathy", "encephalopathy"),
    ("ascites", "ascites"),
)


def visit_for_day(protocol: Protocol, day: int) -> str | None:
    """The protocol visit whose window holds study ``day`` (nearest target), or None."""
    inside = [
        v for v in protocol.visits if v.day - v.window.before <= day <= v.day + v.window.after
    ]
    return min(inside, key=lambda v: abs(v.day - day)).id if inside else None


def _decompensation_detail(term: str) -> str:
    lowered = term.lower()
    return next((detail for key, detail in _DECOMPENSATION if key in lowered), "jaundice")


Step = tuple[int, int, Callable[[], Any]]


def _measurement_steps(session: Any, protocol: Protocol, p: Participant, user: str) -> list[Step]:
    pid = p.subject_id

    def on(day: int) -> dt.date:
        return p.randomization_date + dt.timedelta(days=day)

    steps: list[Step] = []
    visits: dict[str, int] = {}
    for day in sorted({r.day for r in p.labs} | {q.day for q in p.qol}):
        visit = visit_for_day(protocol, day)
        if visit is not None and visit not in visits:
            visits[visit] = day
            steps.append(
                (
                    day,
                    0,
                    partial(
                        service.record_visit,
                        session,
                        participant_id=pid,
                        visit=visit,
                        visit_date=on(day),
                        user=user,
                    ),
                )
            )

    def visit_of(day: int) -> str | None:
        visit = visit_for_day(protocol, day)
        return visit if visit is not None and visits.get(visit) == day else None

    # one sample per day: its values are recorded together, in one audited transaction
    samples: dict[int, list[tuple[str, float, str]]] = {}
    for r in p.labs:
        samples.setdefault(r.day, []).append((r.test, r.value, r.unit))
    for day, values in samples.items():
        steps.append(
            (
                day,
                1,
                partial(
                    service.record_labs,
                    session,
                    participant_id=pid,
                    values=values,
                    collected_on=on(day),
                    user=user,
                    visit=visit_of(day),
                ),
            )
        )
    for q in p.qol:
        steps.append(
            (
                q.day,
                1,
                partial(
                    service.record_qol,
                    session,
                    participant_id=pid,
                    instrument=q.instrument,
                    answers=dict(zip(EQ5D_DIMENSIONS, q.levels, strict=True)),
                    answered_on=on(q.day),
                    user=user,
                    visit=visit_of(q.day),
                ),
            )
        )
    return steps


def _event_steps(session: Any, p: Participant, user: str) -> list[Step]:
    pid = p.subject_id

    def on(day: int) -> dt.date:
        return p.randomization_date + dt.timedelta(days=day)

    steps: list[Step] = []
    for k, d in enumerate(p.doses):
        steps.append(
            (
                d.day,
                1,
                partial(
                    service.record_dose,
                    session,
                    participant_id=pid,
                    dose_number=k + 1,
                    given_on=on(d.day),
                    amount=d.dose,
                    unit=d.unit,
                    user=user,
                ),
            )
        )
    if p.not_treated_reason:
        steps.append(
            (
                0,
                1,
                lambda: service.record_missed_dose(
                    session,
                    participant_id=pid,
                    dose_number=1,
                    reason=str(p.not_treated_reason),
                    user=user,
                ),
            )
        )
    for ae in p.adverse_events:
        steps.append(
            (
                ae.day,
                2,
                partial(
                    service.record_adverse_event,
                    session,
                    participant_id=pid,
                    event=service.AdverseEventFields(
                        term=ae.term,
                        system_organ_class=ae.body_system,
                        grade=3 if ae.serious else 1,
                        serious=ae.serious,
                        related=False,
                        liver_related=ae.liver_related,
                        outcome="recovered",
                        start_date=on(ae.day),
                    ),
                    user=user,
                ),
            )
        )
    for e in p.events:
        kind = "infection" if e.kind == "severe infection" else e.kind
        detail = _decompensation_detail(e.term) if kind == "decompensation" else e.term
        steps.append(
            (
                e.day,
                3,
                partial(
                    service.record_outcome,
                    session,
                    participant_id=pid,
                    kind=kind,
                    occurred_on=on(e.day),
                    user=user,
                    detail=detail,
                    severe=True if kind == "infection" else None,
                ),
            )
        )
    if p.death is not None:
        death = p.death
        steps.append(
            (
                death.day,
                9,
                lambda: service.record_outcome(
                    session,
                    participant_id=pid,
                    kind="death",
                    occurred_on=on(death.day),
                    user=user,
                    cause=death.cause,
                    detail="liver-related" if death.liver_related else "not liver-related",
                ),
            )
        )
    if p.withdrawal is not None:
        w = p.withdrawal
        steps.append(
            (
                w.day,
                9,
                lambda: service.record_withdrawal(
                    session,
                    participant_id=pid,
                    withdrawn_on=on(w.day),
                    reason="withdrawal by subject",
                    detail=w.reason,
                    user=user,
                ),
            )
        )
    return steps


def record_participant(session: Any, protocol: Protocol, p: Participant, user: str) -> int:
    """Record everything that happened to ``p`` after randomization; return the call count."""
    steps = _measurement_steps(session, protocol, p, user) + _event_steps(session, p, user)
    for _, _, call in sorted(steps, key=lambda s: (s[0], s[1])):
        call()
    return len(steps)
