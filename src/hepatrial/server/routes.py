"""The routes of ``/api/v1``: thin functions over the service, each behind one policy action.

Every route authenticates (bearer token), asks :mod:`hepatrial.service.policy` for its action,
and reads only the caller's sites: a participant of another site answers 404 exactly like a code
that does not exist. Writes run the same edit checks as the command line.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status

from hepatrial import service
from hepatrial.server import schemas
from hepatrial.server.deps import Session, allowed_to
from hepatrial.service import participants as people
from hepatrial.service import policy
from hepatrial.service.idempotency import replayed_or_run
from hepatrial.store import User, verify_audit

router = APIRouter()

ONE = "/participants/{code}"
CREATED = status.HTTP_201_CREATED
RECORDS: list[str | Enum] = ["records"]
PEOPLE: list[str | Enum] = ["participants"]

Reader = Annotated[User, Depends(allowed_to("participant.read"))]
Recorder = Annotated[User, Depends(allowed_to("record.write"))]


@router.get("/health", tags=["server"])
def health() -> dict[str, str]:
    """Liveness: the process answers (no authentication)."""
    return {"status": "ok"}


@router.get("/trial", tags=["trial"])
def trial(
    session: Session, user: Annotated[User, Depends(allowed_to("trial.read"))]
) -> schemas.TrialPublic:
    """The protocol in force and the published seed commitment."""
    info = service.trial_info(session)
    return schemas.TrialPublic(
        protocol_name=info.protocol_name,
        protocol_version=info.protocol_version,
        protocol_sha256=info.protocol_sha256,
        seed_commitment=info.seed_commitment,
    )


def _public(summary: people.ParticipantSummary) -> schemas.ParticipantPublic:
    return schemas.ParticipantPublic(**summary.__dict__)


@router.get("/participants", tags=PEOPLE)
def list_participants(
    session: Session,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> schemas.Page[schemas.ParticipantPublic]:
    """The participants of the caller's sites, by code."""
    total, rows = people.list_participants(
        session,
        sites=policy.visible_sites(user),
        with_arm=policy.sees_allocation(user),
        limit=limit,
        offset=offset,
    )
    return schemas.Page(total=total, limit=limit, offset=offset, items=[_public(r) for r in rows])


@router.get("/participants/{code}", tags=PEOPLE)
def get_participant(session: Session, user: Reader, code: str) -> schemas.ParticipantPublic:
    """One participant of the caller's sites (404 for any other code)."""
    return _public(
        people.participant_summary(
            session, code, sites=policy.visible_sites(user), with_arm=policy.sees_allocation(user)
        )
    )


@router.post("/participants/{code}/screenings", status_code=CREATED, tags=["participants"])
def screen(
    session: Session,
    user: Annotated[User, Depends(allowed_to("participant.screen"))],
    code: str,
    body: schemas.ScreeningCreate,
) -> schemas.ScreeningPublic:
    """Screen a participant against the protocol and store the decision."""
    record = body.model_dump(mode="json", exclude={"site", "on", "confirm"})
    stored = service.screen_participant(
        session,
        participant_id=code,
        site=body.site,
        patient=record,
        user=user.id,
        on=body.on,
        confirm=body.confirm,
    )
    return schemas.ScreeningPublic(
        screening_id=stored.screening_id,
        participant=code,
        status=stored.result.status,
        eligible=stored.eligible,
        criteria=[
            schemas.CriterionPublic(id=c.id, kind=c.kind, passed=c.passed, reason=c.reason)
            for c in stored.result.criteria
        ],
    )


@router.post("/participants/{code}/randomization", status_code=CREATED, tags=["participants"])
def randomize(
    session: Session,
    user: Annotated[User, Depends(allowed_to("participant.randomize"))],
    code: str,
    body: schemas.RandomizationCreate,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> schemas.RandomizationPublic:
    """Randomize (concealed) and plan the doses; a retry with the same ``Idempotency-Key``
    returns the first result instead of failing."""

    def run() -> schemas.RandomizationPublic:
        result = service.randomize(
            session,
            participant_id=code,
            user=user.id,
            randomized_on=body.on,
            weight_kg=body.weight_kg,
        )
        return schemas.RandomizationPublic(
            participant=code,
            sequence_number=result.sequence_number,
            arm=result.arm,
            stratum=result.stratum,
            method=result.method,
            randomized_on=result.randomized_on,
            planned_doses=[
                schemas.PlannedDosePublic(intervention=i, dose_number=n, planned_date=d)
                for i, n, d in result.planned_doses
            ],
        )

    return replayed_or_run(
        session,
        idempotency_key,
        user.id,
        f"randomization {code} {body.model_dump_json()}",
        run,
        schemas.RandomizationPublic,
    )


@router.post(ONE + "/labs", status_code=CREATED, tags=RECORDS)
def record_labs(
    session: Session, user: Recorder, code: str, body: schemas.LabsCreate
) -> schemas.Created:
    """Record the values of one sample (every edit check; soft ones need ``confirm``)."""
    ids = service.record_labs(
        session,
        participant_id=code,
        values=[(v.analyte, v.value, v.unit) for v in body.values],
        collected_on=body.collected_on,
        user=user.id,
        visit=body.visit,
        confirm=body.confirm,
    )
    return schemas.Created(ids=ids)


@router.post(ONE + "/visits", status_code=CREATED, tags=RECORDS)
def record_visit(
    session: Session, user: Recorder, code: str, body: schemas.VisitCreate
) -> schemas.Created:
    """Record a protocol visit."""
    row = service.record_visit(session, participant_id=code, user=user.id, **body.model_dump())
    return schemas.Created(ids=[row])


@router.post("/participants/{code}/adverse-events", status_code=CREATED, tags=RECORDS)
def record_adverse_event(
    session: Session, user: Recorder, code: str, body: schemas.AdverseEventCreate
) -> schemas.Created:
    """Record an adverse event (CTCAE grade 1-5)."""
    event = service.AdverseEventFields(**body.model_dump())
    row = service.record_adverse_event(session, participant_id=code, event=event, user=user.id)
    return schemas.Created(ids=[row])


@router.post(ONE + "/outcomes", status_code=CREATED, tags=RECORDS)
def record_outcome(
    session: Session, user: Recorder, code: str, body: schemas.OutcomeCreate
) -> schemas.Created:
    """Record an outcome: death, transplant, decompensation or infection."""
    row = service.record_outcome(session, participant_id=code, user=user.id, **body.model_dump())
    return schemas.Created(ids=[row])


@router.post("/participants/{code}/withdrawals", status_code=CREATED, tags=RECORDS)
def record_withdrawal(
    session: Session, user: Recorder, code: str, body: schemas.WithdrawalCreate
) -> schemas.Created:
    """Record a withdrawal from the study (nothing is recorded after it)."""
    row = service.record_withdrawal(session, participant_id=code, user=user.id, **body.model_dump())
    return schemas.Created(ids=[row])


@router.post("/participants/{code}/discontinuations", status_code=CREATED, tags=RECORDS)
def record_discontinuation(
    session: Session, user: Recorder, code: str, body: schemas.DiscontinuationCreate
) -> schemas.Created:
    """Record that treatment was discontinued (follow-up goes on)."""
    row = service.record_discontinuation(
        session, participant_id=code, user=user.id, **body.model_dump()
    )
    return schemas.Created(ids=[row])


@router.post(ONE + "/doses", status_code=CREATED, tags=RECORDS)
def record_dose(
    session: Session, user: Recorder, code: str, body: schemas.DoseCreate
) -> schemas.Created:
    """Record a planned dose as given."""
    row = service.record_dose(session, participant_id=code, user=user.id, **body.model_dump())
    return schemas.Created(ids=[row])


@router.post("/participants/{code}/questionnaires", status_code=CREATED, tags=RECORDS)
def record_questionnaire(
    session: Session, user: Recorder, code: str, body: schemas.QuestionnaireCreate
) -> dict[str, int]:
    """Record a questionnaire's answers (derived scores such as the EQ-5D-5L index are added)."""
    count = service.record_qol(
        session,
        participant_id=code,
        instrument=body.instrument,
        answers=body.answers,
        answered_on=body.answered_on,
        user=user.id,
        visit=body.visit,
    )
    return {"items": count}


@router.get("/schedule", tags=PEOPLE)
def schedule(
    session: Session,
    user: Annotated[User, Depends(allowed_to("schedule.read"))],
    on: dt.date | None = None,
    horizon_days: Annotated[int, Query(ge=0, le=365)] = 7,
) -> list[schemas.DueItemPublic]:
    """Visits and doses of the caller's sites that are overdue, due, or opening soon."""
    due = service.due_schedule(session, on=on or dt.date.today(), horizon_days=horizon_days)
    sites = policy.visible_sites(user)
    return [
        schemas.DueItemPublic(
            participant=i.participant_id,
            site=i.site,
            kind=i.kind,
            label=i.label,
            target_date=i.target_date,
            window_start=i.window_start,
            window_end=i.window_end,
            status=i.status,
        )
        for i in due.items
        if sites is None or i.site in sites
    ]


@router.get("/audit/verification", tags=["audit"])
def audit_verification(
    session: Session, user: Annotated[User, Depends(allowed_to("audit.verify"))]
) -> schemas.AuditVerificationPublic:
    """Recompute the hash-chained audit trail and compare it with the tables."""
    report = verify_audit(session)
    first = report.first_problem
    return schemas.AuditVerificationPublic(
        ok=report.ok,
        entries=report.n_entries,
        head_hash=report.head_hash,
        first_problem=None if first is None else str(first),
    )
