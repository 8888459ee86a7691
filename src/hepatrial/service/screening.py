"""Screening a participant: run the protocol's eligibility rules and store the decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.allocation import factor_levels
from hepatrial.checks.dates import History, date_problems
from hepatrial.checks.facts import fact_problems
from hepatrial.checks.labs import LabEntry, lab_problems
from hepatrial.checks.personal import code_problems
from hepatrial.exceptions import (
    ConflictError,
    EligibilityError,
    InvalidRecordError,
    NotAllowedError,
    NotFoundError,
    Problem,
)
from hepatrial.protocol.eligibility import ScreeningResult, screen
from hepatrial.protocol.models import Protocol
from hepatrial.protocol.patient import Patient
from hepatrial.protocol.variables import SCORE_VARIABLES
from hepatrial.service._checks import enforce, store_confirmations, today
from hepatrial.service._common import (
    acting_user,
    check_code,
    get_trial,
    refuse_identifying,
    trial_protocol,
    write_operation,
)
from hepatrial.store import Participant, Randomization, Screening, Site

_SEX_CODES = {"female": "F", "male": "M"}


@dataclass(frozen=True)
class StoredScreening:
    """A stored screening: its id, the participant and the protocol's decision."""

    screening_id: int
    participant_id: str
    result: ScreeningResult

    @property
    def eligible(self) -> bool:
        """True when every criterion was evaluated and allows inclusion."""
        return self.result.eligible

    @property
    def summary(self) -> pd.DataFrame:
        """One row per criterion (see :class:`~hepatrial.protocol.eligibility.ScreeningResult`)."""
        return self.result.summary

    def __repr__(self) -> str:
        return f"StoredScreening(#{self.screening_id} {self.participant_id}: {self.result.status})"


def _validation_problems(error: ValidationError, participant_id: str) -> list[Problem]:
    """One problem per field the patient model refused (``labs[1].value``: not a number)."""
    problems = []
    for item in error.errors():
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        problems.append(
            Problem(
                field.lstrip(".") or "patient",
                item.get("input"),
                f"screening.{item['type']}",
                item["msg"][0].lower() + item["msg"][1:],
                "correct the screening record",
                participant=participant_id,
            )
        )
    return problems


def _as_patient(participant_id: str, patient: Patient | Mapping[str, Any]) -> Patient:
    if not isinstance(patient, Patient):
        refuse_identifying(patient, where="patient")
        for part in ("facts", "clinical"):
            nested = patient.get(part)
            if isinstance(nested, Mapping):
                refuse_identifying(nested, where=f"patient {part}")
        try:
            patient = Patient.model_validate(dict(patient))
        except ValidationError as error:
            raise InvalidRecordError(
                f"patient data for {participant_id!r} are invalid: "
                + "; ".join(str(p) for p in _validation_problems(error, participant_id)),
                problems=_validation_problems(error, participant_id),
            ) from None
    refuse_identifying(patient.facts, where="patient facts")
    if patient.participant_id not in (None, participant_id):
        raise EligibilityError(
            f"patient.participant_id={patient.participant_id!r} differs from "
            f"participant_id={participant_id!r}"
        )
    return patient


def _participant(session: Session, participant_id: str, site: str, patient: Patient) -> Participant:
    if session.get(Site, site) is None:
        raise NotFoundError(f"site={site!r} does not exist; sites are added by an admin")
    existing = session.get(Participant, participant_id)
    if existing is None:
        existing = Participant(
            id=participant_id,
            site_code=site,
            sex=_SEX_CODES.get(patient.sex or ""),
            age_years=float(patient.age),
        )
        session.add(existing)
        session.flush()  # the screening row refers to it (no ORM relationship orders them)
        return existing
    if existing.site_code != site:
        raise ConflictError(
            f"participant {participant_id!r} belongs to site {existing.site_code!r}, not {site!r}"
        )
    randomized = session.execute(
        select(Randomization.id).where(Randomization.participant_id == participant_id)
    ).first()
    if randomized is not None:
        raise ConflictError(
            f"participant {participant_id!r} is already randomized; no re-screening"
        )
    existing.age_years = float(patient.age)
    existing.sex = _SEX_CODES.get(patient.sex or "", existing.sex)
    return existing


def _factors(protocol: Protocol, result: ScreeningResult, site: str) -> dict[str, str]:
    if not result.eligible:
        return {}
    return factor_levels(protocol, {**result.values, "site": site})


def _screening_row(
    participant_id: str,
    protocol: Protocol,
    patient: Patient,
    result: ScreeningResult,
    factors: dict[str, str],
    user: str,
) -> Screening:
    labs = {
        lab.analyte: {
            "value": lab.value,
            "unit": lab.unit,
            "collected_on": lab.collected_on.isoformat(),
            "conventional_value": lab.conventional_value,
            "conventional_unit": lab.conventional_unit,
        }
        for lab in result.labs_used
    }
    scores = {k: v for k, v in result.values.items() if k in SCORE_VARIABLES}
    clinical = patient.clinical.model_dump(mode="json")
    return Screening(
        participant_id=participant_id,
        screened_on=result.screened_on,
        protocol_version=protocol.version,
        labs=labs,
        facts={**dict(patient.facts), **{f"clinical_{k}": v for k, v in clinical.items()}},
        scores=scores,
        factors=factors,
        eligible=result.eligible,
        status=result.status,
        criteria=[
            {
                "id": c.id,
                "label": c.label,
                "kind": c.kind,
                "outcome": c.outcome,
                "passed": c.passed,
                "reason": c.reason,
            }
            for c in result.criteria
        ],
        problems=list(result.problems),
        screened_by=user,
    )


def screen_participant(
    session: Session,
    *,
    participant_id: str,
    site: str,
    patient: Patient | Mapping[str, Any],
    user: str,
    on: dt.date | None = None,
    confirm: str | None = None,
) -> StoredScreening:
    """Screen a participant against the trial's protocol and store the decision.

    Parameters
    ----------
    session
        A session on the store.
    participant_id
        The pseudonymous study code (created at the first screening).
    site
        Code of the participant's site.
    patient
        A :class:`~hepatrial.protocol.patient.Patient` or a mapping with its keys (``age``,
        ``sex``, ``labs``, ``clinical``, ``facts``). Field names suggesting identifying data
        (name, e-mail, phone, address, date of birth, hospital number, ...) are refused.
    user
        Acting investigator or coordinator.
    on
        Screening date (default today).
    confirm
        The reason for storing values that the soft edit checks question (a likely unit
        mix-up); stored with the screening. Hard problems are refused whatever the reason.

    Returns
    -------
    StoredScreening
        The stored screening; an ineligible or incomplete screening is stored too (it is
        part of the CONSORT flow) and ``eligible`` is False.
    """
    check_code("participant_id", participant_id)
    patient = _as_patient(participant_id, patient)
    with write_operation(session, user):
        acting = acting_user(session, user, "participant.screen", "screening")
        if acting.site_code not in (None, site):
            raise NotAllowedError(f"user={user!r} works at site {acting.site_code!r}, not {site!r}")
        protocol = trial_protocol(get_trial(session))
        soft = enforce(screening_problems(protocol, participant_id, patient, on), confirm)
        result = screen(protocol, patient, on=on)
        _participant(session, participant_id, site, patient)
        row = _screening_row(
            participant_id, protocol, patient, result, _factors(protocol, result, site), user
        )
        session.add(row)
        session.flush()
        store_confirmations(
            session,
            soft,
            reason=confirm,
            user=user,
            table="screenings",
            record_id=row.id,
            participant_id=participant_id,
        )
    return StoredScreening(screening_id=row.id, participant_id=participant_id, result=result)


def screening_problems(
    protocol: Protocol, participant_id: str, patient: Patient, on: dt.date | None
) -> list[Problem]:
    """Every edit-check problem of a screening: code, date, facts and labs."""
    codes = protocol.participant_codes
    problems = code_problems(
        "participant_id",
        participant_id,
        pattern=codes.pattern if codes else None,
        example=codes.example if codes else None,
    )
    if on is not None:
        problems += date_problems("screening", "on", on, History(participant_id), today=today())
    problems += fact_problems(protocol.eligibility.facts, patient.facts)
    entries = [
        LabEntry(lab.analyte, lab.value, lab.unit, lab.collected_on.isoformat())
        for lab in patient.labs
    ]
    problems += lab_problems(entries)
    return [
        p if p.participant else Problem(**{**p.__dict__, "participant": participant_id})
        for p in problems
    ]
