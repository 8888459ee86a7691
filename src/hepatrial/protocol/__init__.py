"""Trial protocols as validated data: arms, eligibility, allocation, dosing, visits and endpoints.

Owns the protocol models (:mod:`.models`), the loader of built-in and YAML protocols
(:mod:`.loader`), the safe criterion-expression evaluator (:mod:`.expressions`), screening
(:mod:`.eligibility`), dose planning (:mod:`.dosing`) and the visit schedule (:mod:`.schedule`).
May import :mod:`hepatrial.exceptions`, :mod:`hepatrial.scores` and :mod:`hepatrial.units`; never
the store, the service or a front end.
"""

from hepatrial.protocol.dosing import DoseCheck, DosePlan, PlannedDose, check_dose, plan_doses
from hepatrial.protocol.eligibility import CriterionResult, LabUsed, ScreeningResult, screen
from hepatrial.protocol.expressions import Expression, parse_expression
from hepatrial.protocol.loader import BUILTIN_PROTOCOLS, load_protocol, protocol_from_dict
from hepatrial.protocol.models import (
    Allocation,
    Arm,
    Assumption,
    Criterion,
    Dose,
    Eligibility,
    Endpoint,
    Factor,
    Intervention,
    Protocol,
    Visit,
)
from hepatrial.protocol.patient import ClinicalItems, LabResult, Patient
from hepatrial.protocol.schedule import (
    ScheduledVisit,
    VisitSchedule,
    VisitTiming,
    check_visit,
    visit_schedule,
)

__all__ = [
    "BUILTIN_PROTOCOLS",
    "Allocation",
    "Arm",
    "Assumption",
    "ClinicalItems",
    "Criterion",
    "CriterionResult",
    "Dose",
    "DoseCheck",
    "DosePlan",
    "Eligibility",
    "Endpoint",
    "Expression",
    "Factor",
    "Intervention",
    "LabResult",
    "LabUsed",
    "Patient",
    "PlannedDose",
    "Protocol",
    "ScheduledVisit",
    "ScreeningResult",
    "Visit",
    "VisitSchedule",
    "VisitTiming",
    "check_dose",
    "check_visit",
    "load_protocol",
    "parse_expression",
    "plan_doses",
    "protocol_from_dict",
    "screen",
    "visit_schedule",
]
