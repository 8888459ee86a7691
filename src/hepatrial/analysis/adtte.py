"""ADTTE: one time-to-event record per participant and parameter, with competing events.

Time origin is randomization (``STARTDT``); ``AVAL`` is in days. ``CNSR = 0`` marks the event of
interest and ``CNSR = 1`` a censored record (CDISC ADaM TTE v1.0). The censoring reason is in
``CNSDTDSC``: end of follow-up at the horizon, withdrawal, last contact, or a competing event.
``CRSTAT`` codes the competing-risks status for cumulative incidence: 0 censored, 1 event of
interest, 2 competing event (named in ``CMPEVT``). Events after the horizon are censored at it.

Parameters: ``OS`` death from any cause (competing: transplant), ``TFS`` death or transplant,
``DTHMOF`` death from multi-organ failure or severe infection (competing: other deaths and
transplant), ``INFECT`` first severe infection (competing: death, transplant), ``DECOMP`` first
decompensation (competing: death, transplant). A death counts towards ``DTHMOF`` when its cause
mentions multi-organ failure, infection or sepsis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hepatrial.frames import as_text, lookup
from hepatrial.stats.engine import Exclusion

MOF_OR_INFECTION_WORDS = ("multi-organ", "multiorgan", "multiple organ", "infection", "sepsis")


@dataclass(frozen=True)
class _Param:
    code: str
    label: str
    event: str
    competing: tuple[str, ...]


PARAMS = (
    _Param("OS", "Time to death from any cause (days)", "death", ("transplant",)),
    _Param("TFS", "Transplant-free survival (days)", "death_or_transplant", ()),
    _Param(
        "DTHMOF",
        "Time to death from multi-organ failure or severe infection (days)",
        "death_mof",
        ("death_other", "transplant"),
    ),
    _Param("INFECT", "Time to first severe infection (days)", "infection", ("death", "transplant")),
    _Param(
        "DECOMP", "Time to first decompensation (days)", "decompensation", ("death", "transplant")
    ),
)


def _first(outcomes: pd.DataFrame, mask: pd.Series) -> pd.Series:
    return outcomes[mask].groupby("participant_id")["occurred_on"].min()


def _event_dates(outcomes: pd.DataFrame) -> dict[str, pd.Series]:
    kind = outcomes["kind"]
    cause = as_text(outcomes["cause"]).str.lower()
    mof = cause.map(lambda c: any(w in c for w in MOF_OR_INFECTION_WORDS)).astype(bool)
    severe = outcomes["severe"].map(lambda v: bool(v) if pd.notna(v) else False).astype(bool)
    dates = {
        "death": _first(outcomes, kind == "death"),
        "transplant": _first(outcomes, kind == "transplant"),
        "death_mof": _first(outcomes, (kind == "death") & mof),
        "death_other": _first(outcomes, (kind == "death") & ~mof),
        "infection": _first(outcomes, (kind == "infection") & severe),
        "decompensation": _first(outcomes, kind == "decompensation"),
    }
    both = pd.concat([dates["death"], dates["transplant"]], axis=1).min(axis=1)
    dates["death_or_transplant"] = both
    return dates


def _one_param(
    adsl: pd.DataFrame, dates: dict[str, pd.Series], param: _Param, horizon_days: int
) -> pd.DataFrame:
    ids = adsl["USUBJID"]
    start = adsl["RANDDT"]
    end = start + pd.to_timedelta(horizon_days, unit="D")
    event = lookup(ids, dates[param.event])
    competing = pd.DataFrame({name: lookup(ids, dates[name]) for name in param.competing})
    never = pd.Timestamp.max.normalize()
    filled = competing.fillna(never) if param.competing else None
    if filled is not None:
        first_competing = competing.min(axis=1)
        competing_name = filled.idxmin(axis=1).where(first_competing.notna(), "")
    else:
        first_competing = pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns]")
        competing_name = pd.Series("", index=ids.index)
    last = adsl["LSTCNDT"].where(adsl["LSTCNDT"] < end, end)
    is_event = event.notna() & (event <= end) & ~(first_competing < event)
    is_competing = ~is_event & first_competing.notna() & (first_competing <= end)
    adt = last.copy()
    adt[is_event] = event[is_event]
    adt[is_competing] = first_competing[is_competing]
    reason = np.where(
        adsl["LSTCNDT"] >= end,
        f"END OF FOLLOW-UP (DAY {horizon_days})",
        np.where(adsl["WDFL"] == "Y", "WITHDRAWAL FROM STUDY", "LAST KNOWN ALIVE"),
    )
    cnsdtdsc = np.where(
        is_event,
        "",
        np.where(is_competing, "COMPETING EVENT: " + competing_name.str.upper(), reason),
    )
    return pd.DataFrame(
        {
            "USUBJID": ids,
            "ARMCD": adsl["ARMCD"],
            "PARAMCD": param.code,
            "PARAM": param.label,
            "STARTDT": start,
            "ADT": adt,
            "AVAL": (adt - start).dt.days.astype(float),
            "CNSR": np.where(is_event, 0, 1),
            "CRSTAT": np.where(is_event, 1, np.where(is_competing, 2, 0)),
            "EVNTDESC": np.where(is_event, param.event.replace("_", " ").upper(), ""),
            "CNSDTDSC": cnsdtdsc,
            "CMPEVT": np.where(is_competing, competing_name.str.upper(), ""),
        }
    )


def derive_adtte(
    source: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    horizon_days: int,
    exclusions: list[tuple[str, Exclusion]],
) -> pd.DataFrame:
    """ADTTE for every parameter in :data:`PARAMS`, censored at ``horizon_days``."""
    outcomes = source["outcomes"]
    known = outcomes["participant_id"].isin(adsl["USUBJID"])
    if (~known).any():
        exclusions.append(
            ("ADTTE", Exclusion("outcomes of participants never randomized", int((~known).sum())))
        )
    outcomes = outcomes[known]
    dates = _event_dates(outcomes)
    horizon_end = adsl.set_index("USUBJID")["RANDDT"] + pd.to_timedelta(horizon_days, unit="D")
    late = outcomes["occurred_on"] > lookup(outcomes["participant_id"], horizon_end)
    if late.any():
        exclusions.append(
            (
                "ADTTE",
                Exclusion(
                    f"outcome events after day {horizon_days} (censored at the horizon)",
                    int(late.sum()),
                ),
            )
        )
    frames = [_one_param(adsl, dates, param, horizon_days) for param in PARAMS]
    return pd.concat(frames, ignore_index=True)
