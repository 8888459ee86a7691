"""Factor levels of a participant, from screening values and randomization-time categories."""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from hepatrial.exceptions import AllocationError
from hepatrial.protocol.models import Factor, Protocol

FactorValue = bool | int | float | str


def factor_levels(protocol: Protocol, values: Mapping[str, FactorValue]) -> dict[str, str]:
    """The allocation factor levels of a participant.

    Parameters
    ----------
    protocol : Protocol
        Its ``allocation.factors`` say what is needed.
    values : mapping
        For a category factor, its level under the factor's name (``{"aetiology": "alcohol",
        "site": "edinburgh"}``); for a banded factor, the numeric value of ``band_of`` (``{"meld":
        23.4}``). A screening result's ``values`` can be passed with the extra categories merged in.

    Examples
    --------
    >>> from hepatrial.protocol import load_protocol
    >>> factor_levels(load_protocol("msc-aclf"), {"meld": 22.0})
    {'meld_band': 'meld_22_or_more'}
    """
    return {factor.name: _level(factor, values) for factor in protocol.allocation.factors}


def _level(factor: Factor, values: Mapping[str, FactorValue]) -> str:
    key = factor.band_of or factor.name
    if key not in values:
        raise AllocationError(f"factor {factor.name!r} needs {key!r}, which was not given")
    value = values[key]
    if factor.band_of is not None and factor.cutpoints is not None and factor.levels is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AllocationError(
                f"factor {factor.name!r} bands {key}={value!r}; a number is needed"
            )
        return factor.levels[bisect.bisect_right(factor.cutpoints, float(value))]
    if not isinstance(value, str) or (factor.levels is not None and value not in factor.levels):
        allowed = ", ".join(factor.levels) if factor.levels else "any non-empty text"
        raise AllocationError(f"factor {factor.name}={value!r} is not allowed; levels: {allowed}")
    return value
