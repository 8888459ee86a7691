"""What a site enters at screening: pseudonymous patient items, dated labs with units, facts.

No names, dates of birth or contact data: age in years, sex (for MELD 3.0) and a pseudonymous
participant id at most. Unknown keys are refused, like every hepatrial input model.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StringConstraints

FactValue = bool | int | float | str


class LabResult(BaseModel):
    """One laboratory result: analyte, value, the unit it was reported in, collection date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analyte: str
    value: StrictFloat  # a number: never a boolean or text that happens to parse as one
    unit: str
    collected_on: date


class ClinicalItems(BaseModel):
    """Clinical items that scores need (MELD dialysis rule, Child-Pugh, CLIF-C OF, AARC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dialysis: bool = False
    ascites: Literal["none", "mild", "moderate_severe"] | None = None
    encephalopathy_grade: int | None = Field(default=None, ge=0, le=4)
    vasopressors: bool = False
    mean_arterial_pressure: float | None = Field(default=None, gt=0)
    pao2_fio2: float | None = Field(default=None, gt=0)
    spo2_fio2: float | None = Field(default=None, gt=0)


class Patient(BaseModel):
    """A patient at screening.

    Attributes
    ----------
    participant_id : str, optional
        Pseudonymous screening id (letters, digits, ``-`` and ``_``).
    age : float
        Age in completed years.
    sex : {"female", "male"}, optional
        Needed only for MELD 3.0.
    labs : tuple of LabResult
        Dated results with units; the latest of each analyte on or before the screening date is
        used, if it is within the protocol's ``lab_max_age_days``.
    clinical : ClinicalItems
        Items scores need.
    facts : mapping
        Answers to the protocol's ``eligibility.facts`` (yes/no, category or number).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    participant_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,40}$")] | None = (
        None
    )
    age: Annotated[StrictFloat, Field(ge=0, le=120)]
    sex: Literal["female", "male"] | None = None
    labs: tuple[LabResult, ...] = ()
    clinical: ClinicalItems = ClinicalItems()
    facts: dict[str, FactValue] = Field(default_factory=dict)
