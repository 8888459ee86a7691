"""The one shape of every result in :mod:`hepatrial.stats`: the :class:`Result` protocol.

Every estimator and test returns a frozen dataclass that satisfies :class:`Result`, so that the
analysis plan, the report and users read any of them the same way:

``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``
    The result's main effect. Where a result holds several estimates (curves, terms, visits,
    per-arm rows) they stay in their own fields and these name the one a reader asks for first
    (the first model term, the difference at the last visit, the median survival). Ratios
    (hazard, rate and odds ratios) give ``estimate`` and the interval on the ratio scale and
    ``se`` on the log scale. A quantity the method does not produce is NaN: a test alone has no
    estimate, a descriptive curve no P value.
``n``, ``n_excluded``, ``exclusions``
    Records used, records left out, and why (one :class:`Exclusion` per reason). ``n`` is None
    only when the call gave aggregated counts without the number of participants.
``method``, ``version``, ``provenance``
    What was computed, the hepatrial version that computed it, and a dictionary of both with
    the call's options and the exclusions, for reports.
``summary``, ``to_text()``, ``to_html()``, ``repr``
    A tidy DataFrame whose columns are the class's ``summary_columns`` (always the same), its
    text and HTML renderings, and a one-line ``repr``. Results never print.

May import numpy and pandas only; every other stats module may import it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import pandas as pd

__all__ = [
    "RESULT_MEMBERS",
    "DescriptiveResult",
    "Exclusion",
    "RenderedResult",
    "Result",
    "ResultBase",
    "TestResultBase",
    "describe_exclusions",
    "package_version",
]

NAN = math.nan


@dataclass(frozen=True)
class Exclusion:
    """Records left out of an analysis: why, and how many."""

    reason: str
    count: int


def describe_exclusions(exclusions: Sequence[Exclusion]) -> str:
    """One sentence about excluded records for provenance, or ``"none"``."""
    if not exclusions:
        return "none"
    return "; ".join(f"{item.count} ({item.reason})" for item in exclusions)


def package_version() -> str:
    """The installed hepatrial version, recorded in every result's provenance."""
    from hepatrial import __version__

    return __version__


@runtime_checkable
class Result(Protocol):
    """What every result of :mod:`hepatrial.stats` offers (see the module docstring)."""

    summary_columns: ClassVar[tuple[str, ...]]

    @property
    def estimate(self) -> float: ...
    @property
    def se(self) -> float: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def n(self) -> int | None: ...
    @property
    def n_excluded(self) -> int: ...
    @property
    def exclusions(self) -> tuple[Exclusion, ...]: ...
    @property
    def method(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def provenance(self) -> dict[str, Any]: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    def to_text(self) -> str: ...
    def to_html(self) -> str: ...


RESULT_MEMBERS: tuple[str, ...] = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_excluded",
    "exclusions",
    "method",
    "version",
    "provenance",
    "summary",
    "summary_columns",
    "to_text",
    "to_html",
)
"""Every member of :class:`Result`, for tests that check a class offers each of them."""


class RenderedResult:
    """Mixin for frozen result dataclasses: ``to_text``/``to_html`` render ``summary``."""

    @property
    def summary(self) -> pd.DataFrame:  # pragma: no cover - every result overrides it
        raise TypeError(f"{type(self).__name__} does not define a summary")

    def to_text(self) -> str:
        """The summary as a plain-text table."""
        return str(self.summary.to_string(index=False))

    def to_html(self) -> str:
        """The summary as an HTML table."""
        return str(self.summary.to_html(index=False, border=0, classes="hepatrial-table"))


class ResultBase(RenderedResult):
    """Shared behaviour of the result dataclasses: rendering and provenance.

    A subclass declares ``summary_columns`` and the fields or properties of :class:`Result`,
    and lists its options in :meth:`_details`; :attr:`provenance` adds method, records used
    and excluded, and the version.
    """

    summary_columns: ClassVar[tuple[str, ...]] = ()

    def _details(self) -> dict[str, Any]:
        """The call's options and descriptive counts, in the order reports show them."""
        return {}

    @property
    def provenance(self) -> dict[str, Any]:
        """Method, the call's options, records used and excluded, and the package version."""
        result: Any = self
        return {
            "method": result.method,
            **self._details(),
            "n_used": result.n,
            "n_excluded": result.n_excluded,
            "exclusions": describe_exclusions(result.exclusions),
            "version": result.version,
        }


class TestResultBase(ResultBase):
    """Base of a test that gives no effect estimate: ``estimate``, ``se`` and the interval are
    NaN; the subclass has ``p_value`` (and usually ``statistic`` and ``df``)."""

    __test__ = False  # not a pytest test class despite its name

    @property
    def estimate(self) -> float:
        """NaN: a test alone estimates no effect."""
        return NAN

    @property
    def se(self) -> float:
        """NaN: no estimate, no standard error."""
        return NAN

    @property
    def ci_low(self) -> float:
        """NaN: no estimate, no interval."""
        return NAN

    @property
    def ci_high(self) -> float:
        """NaN: no estimate, no interval."""
        return NAN


class DescriptiveResult(TestResultBase):
    """Base of descriptive results (several curves) with no single effect and no test: every
    main-effect field, ``p_value`` included, is NaN."""

    @property
    def p_value(self) -> float:
        """NaN: descriptive curves are not a test."""
        return NAN
