"""Human labels for protocol identifiers shown in a report.

Stratification factors, their levels and eligibility criteria are stored under short
identifiers (``meld_band``, ``meld_22_or_more``, ``liver_stiffness``). A report shows what a
hepatologist reads: the protocol's own label where it has one (criterion labels, the label of
the screening fact a factor is named after), the band a level stands for when the factor is a
band of a numeric variable (``MELD ≥ 22``), and otherwise the identifier with spaces and the
usual capitals of hepatology abbreviations (``masld`` -> ``MASLD``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hepatrial.protocol import Protocol
from hepatrial.protocol.models import Factor

ABBREVIATIONS = frozenset(
    {
        "aclf",
        "alt",
        "ast",
        "elf",
        "hbv",
        "hcc",
        "hcv",
        "hdv",
        "hiv",
        "inr",
        "itt",
        "lsm",
        "masld",
        "mash",
        "meld",
        "msc",
        "nafld",
        "nash",
        "sae",
        "smt",
    }
)


def humanize(identifier: str) -> str:
    """Readable identifier: ``"meld_band"`` -> ``"MELD band"``, ``"masld"`` -> ``"MASLD"``.

    Examples
    --------
    >>> humanize("meld_22_or_more")
    'MELD 22 or more'
    >>> humanize("chronic-hbv")
    'Chronic HBV'
    """
    words = [w for w in re.split(r"[_\-\s]+", identifier.strip()) if w]
    shown = [w.upper() if w.lower() in ABBREVIATIONS else w.lower() for w in words]
    if not shown:
        return identifier
    first = shown[0]
    shown[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(shown)


@dataclass(frozen=True)
class FactorLabels:
    """The label of a stratification factor and of each of its levels."""

    name: str
    levels: dict[str, str]

    def level(self, value: object) -> str:
        """The label of ``value`` (its readable form when the protocol does not list it)."""
        return self.levels.get(str(value), humanize(str(value)))


def _number(x: float) -> str:
    return f"{x:g}"


def _band_levels(factor: Factor) -> dict[str, str]:
    """``MELD < 22`` / ``MELD ≥ 22``: a value equal to a cut-point falls in the upper band."""
    variable = humanize(factor.band_of or factor.name)
    cuts = list(factor.cutpoints or ())
    levels = list(factor.levels or ())
    out: dict[str, str] = {}
    for i, level in enumerate(levels):
        if i == 0:
            out[level] = f"{variable} < {_number(cuts[0])}"
        elif i == len(cuts):
            out[level] = f"{variable} ≥ {_number(cuts[-1])}"
        else:
            out[level] = f"{variable} {_number(cuts[i - 1])} to < {_number(cuts[i])}"
    return out


def factor_labels(protocol: Protocol) -> dict[str, FactorLabels]:
    """Labels of every allocation factor of ``protocol``, by factor name."""
    facts = {f.name: f.label for f in protocol.eligibility.facts}
    out: dict[str, FactorLabels] = {}
    for factor in protocol.allocation.factors:
        if factor.band_of is not None and factor.cutpoints:
            name = f"{humanize(factor.band_of)} band"
            levels = _band_levels(factor)
        else:
            name = facts.get(factor.name, humanize(factor.name))
            levels = {lv: humanize(lv) for lv in factor.levels or ()}
        out[factor.name] = FactorLabels(name, levels)
    return out


def strat_labels(protocol: Protocol | None, column: str) -> FactorLabels:
    """Labels for the ADSL column ``STRAT_<NAME>`` (readable forms without a protocol)."""
    name = column.removeprefix("STRAT_").lower()
    known = factor_labels(protocol) if protocol is not None else {}
    return known.get(name, FactorLabels(humanize(name), {}))


def screen_failure_labels(protocol: Protocol) -> dict[str, str]:
    """Criterion id -> the reason a screen failure shows, in the protocol's words.

    An inclusion criterion fails when it is not met ("Not met: MELD between 10 and 17
    inclusive"); an exclusion criterion fails when it is present ("Hepatocellular carcinoma").
    """
    labels = {c.id: f"Not met: {c.label}" for c in protocol.eligibility.inclusion}
    return labels | {c.id: c.label for c in protocol.eligibility.exclusion}
