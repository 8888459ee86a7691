"""Trial protocols as validated data: arms, eligibility, allocation, dosing, visits and endpoints.

Owns the protocol models (:mod:`.models`), the loader of built-in and YAML protocols
(:mod:`.loader`), the safe criterion-expression evaluator (:mod:`.expressions`), screening
(:mod:`.eligibility`), dose planning (:mod:`.dosing`) and the visit schedule (:mod:`.schedule`).
May import :mod:`hepatrial.exceptions`, :mod:`hepatrial.scores` and :mod:`hepatrial.units`; never
the store, the service or a front end.
"""

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

__all__ = [
    "BUILTIN_PROTOCOLS",
    "Allocation",
    "Arm",
    "Assumption",
    "Criterion",
    "Dose",
    "Eligibility",
    "Endpoint",
    "Expression",
    "Factor",
    "Intervention",
    "Protocol",
    "Visit",
    "load_protocol",
    "parse_expression",
    "protocol_from_dict",
]
