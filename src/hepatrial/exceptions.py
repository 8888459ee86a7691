"""Domain errors and warnings of hepatrial.

Every error subclasses a built-in exception so that callers can catch either the precise
domain error or the familiar built-in (``UnitError`` is a ``ValueError``). Messages name the
argument, the offending value and unit, what is allowed, and a likely fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["hard", "soft"]
"""A hard problem refuses the record; a soft one refuses it unless confirmed with a reason."""


@dataclass(frozen=True)
class Problem:
    """One problem an edit check found in a record: what, with which value and unit, and why.

    ``rule`` is the edit check's name (``"date.after_death"``, ``"lab.unit_mix_up"``, ...);
    ``fix`` says what to do; ``record`` names the stored record concerned, where there is one
    (``"adverse event 12"``); ``participant`` the participant code.
    """

    field: str
    value: object
    rule: str
    message: str
    fix: str = ""
    unit: str | None = None
    severity: Severity = "hard"
    record: str | None = None
    participant: str | None = None

    def __str__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        named = self.message.startswith(f"{self.field}=")
        text = self.message if named else f"{self.field}={self.value!r}{unit}: {self.message}"
        return f"{text}; {self.fix}" if self.fix else text


class HepatrialError(Exception):
    """Base class of every error raised deliberately by hepatrial."""


class UnitError(HepatrialError, ValueError):
    """A laboratory value is implausible in its unit, or the unit is unknown for the analyte."""


class ProtocolError(HepatrialError, ValueError):
    """A protocol file or option is invalid (unknown key, bad expression, inconsistent design)."""


class EligibilityError(HepatrialError, ValueError):
    """A participant cannot be screened or randomized because of the eligibility rules."""


class AllocationError(HepatrialError, RuntimeError):
    """A randomization request cannot be honoured (already randomized, closed stratum, ...)."""


class RecordError(HepatrialError, ValueError):
    """A trial record (visit, dose, adverse event, outcome) was refused; nothing was written.

    The subclasses say the kind of refusal, which front ends map to exit codes and HTTP
    statuses: :class:`InvalidRecordError` (the input itself is wrong), :class:`ConflictError`
    (it contradicts stored data), :class:`NotFoundError` and :class:`NotAllowedError`.
    ``problems`` lists every problem found, each with field, value, unit, rule and fix.
    """

    def __init__(self, message: str | None = None, problems: Sequence[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if message is None:
            message = "; ".join(str(p) for p in self.problems) or "refused"
        super().__init__(message)


class InvalidRecordError(RecordError):
    """The input cannot be true: a wrong type, an impossible value or date, an unknown item."""


class LabValueError(InvalidRecordError, UnitError):
    """A laboratory value was refused: not a number, an unknown unit, or implausible."""


class ConfirmationNeededError(InvalidRecordError):
    """Only soft problems were found: the record is stored once confirmed with a reason."""


class ConflictError(RecordError):
    """The record contradicts stored data (a duplicate, a death dated before existing records)."""


class NotFoundError(RecordError):
    """What the record refers to does not exist, or not for this user (another site's data)."""


class NotAllowedError(RecordError):
    """The acting user may not do this (role, deactivated account)."""


class SealingKeyError(HepatrialError, RuntimeError):
    """The key that seals the allocation seed is unusable (too open, malformed, or not this
    store's key)."""


class AuditError(HepatrialError, RuntimeError):
    """The hash-chained audit trail does not verify."""


class ConvergenceError(HepatrialError, RuntimeError):
    """An iterative estimator did not converge (for example separation in a Cox model)."""


class DataCheckError(HepatrialError, ValueError):
    """Analysis input failed its data checks; the message lists every problem found."""


class NotEstimableError(HepatrialError, ValueError):
    """The data do not allow the estimate asked for, although every value in them is valid.

    Too few records or events (no event at all for a Cox model, fewer complete rows than
    coefficients), a single level where two are compared, collinear columns, no event in either
    group of a rate ratio. The analysis plan reports such an analysis as "not run" with the
    message; an invalid argument or value is a plain ``ValueError`` and stops it.
    """


class MissingExtraError(HepatrialError, ImportError):
    """An optional capability was asked for whose extra is not installed (``hepatrial[dask]``)."""


class HepatrialWarning(UserWarning):
    """Base class of hepatrial's warnings, so users can filter them in one place."""


class ExclusionWarning(HepatrialWarning):
    """Records were excluded from an analysis; the result reports how many and why."""
