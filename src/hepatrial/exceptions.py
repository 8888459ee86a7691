"""Domain errors and warnings of hepatrial.

Every error subclasses a built-in exception so that callers can catch either the precise
domain error or the familiar built-in (``UnitError`` is a ``ValueError``). Messages name the
argument, the offending value and unit, what is allowed, and a likely fix.
"""

from __future__ import annotations


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
    """A trial record (visit, dose, adverse event, outcome) is inconsistent and was refused."""


class AuditError(HepatrialError, RuntimeError):
    """The hash-chained audit trail does not verify."""


class ConvergenceError(HepatrialError, RuntimeError):
    """An iterative estimator did not converge (for example separation in a Cox model)."""


class DataCheckError(HepatrialError, ValueError):
    """Analysis input failed its data checks; the message lists every problem found."""


class MissingExtraError(HepatrialError, ImportError):
    """An optional capability was asked for whose extra is not installed (``hepatrial[dask]``)."""


class HepatrialWarning(UserWarning):
    """Base class of hepatrial's warnings, so users can filter them in one place."""


class ExclusionWarning(HepatrialWarning):
    """Records were excluded from an analysis; the result reports how many and why."""
