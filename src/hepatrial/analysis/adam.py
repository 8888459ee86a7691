"""Analysis datasets in CDISC ADaM style, derived from the trial's source tables.

* **ADSL**, one row per randomized participant: arm, strata, baseline scores, population flags
  ``ITTFL`` (randomized), ``SAFFL`` (treated: control arm, or at least one dose given),
  ``PPROTFL`` (treated with every planned dose given without a recorded deviation), death and
  withdrawal.
* **ADLB**, one row per participant, parameter and collection date: ``PARAMCD``, ``ADY`` (days
  from randomization, which is day 0 in hepatrial protocols), ``AVISIT`` by the protocol's visit
  windows, ``AVAL``, ``BASE`` (last value on or before day 0, ``ABLFL``), ``CHG``, and
  ``ANL01FL`` for the record analysed at each visit (the one closest to the target day, the later
  one on a tie). Records outside every window are kept as ``AVISIT = "Unscheduled"`` and counted.
* **ADTTE**, one row per participant and parameter (:mod:`hepatrial.analysis.adtte`).
* **ADAE**, one row per adverse event: ``TRTEMFL`` (onset on or after randomization), ``AESER``,
  ``AELIVER``.

Every record left out of an analysis dataset is counted in :attr:`AdamDatasets.exclusions`.
The content hash is SHA-256 over a canonical CSV rendering of the four datasets
(:func:`content_hash`). References: CDISC ADaM Implementation Guide v1.3 (ADSL, BDS),
ADaM Basic Data Structure for Time-to-Event Analyses v1.0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hepatrial.analysis.adtte import derive_adtte
from hepatrial.analysis.labs import derive_lab_records
from hepatrial.analysis.sources import check_sources
from hepatrial.exceptions import DataCheckError
from hepatrial.frames import as_text, lookup
from hepatrial.protocol import Protocol
from hepatrial.stats.engine import Exclusion

NO_VISIT = "Unscheduled"


@dataclass(frozen=True)
class AdamDatasets:
    """The four analysis datasets, every exclusion, and the content hash that locks them."""

    adsl: pd.DataFrame
    adlb: pd.DataFrame
    adtte: pd.DataFrame
    adae: pd.DataFrame
    exclusions: tuple[tuple[str, Exclusion], ...]
    protocol_id: str
    protocol_version: str

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical content of the four datasets (see :func:`content_hash`)."""
        return content_hash(self)

    @property
    def exclusion_table(self) -> pd.DataFrame:
        """One row per exclusion: dataset, reason, count."""
        rows = [(d, e.reason, e.count) for d, e in self.exclusions]
        return pd.DataFrame(rows, columns=["dataset", "reason", "count"])


def _canonical(frame: pd.DataFrame) -> str:
    ordered = frame.reindex(sorted(frame.columns), axis=1)
    ordered = ordered.sort_values(list(ordered.columns), kind="mergesort", na_position="first")
    text = ordered.astype(object).where(ordered.notna(), "")
    for column in text.columns:
        text[column] = text[column].map(_canonical_value)
    return str(text.to_csv(index=False, lineterminator="\n"))


def _canonical_value(value: object) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def content_hash(datasets: AdamDatasets) -> str:
    """SHA-256 over ``name\\n<canonical CSV>`` of ADSL, ADLB, ADTTE and ADAE in that order.

    The canonical CSV has columns sorted by name, rows sorted by every column, floats written
    with ``repr`` (shortest round-trip form), dates as ISO dates and missing values empty; the
    hash therefore changes if and only if the content does, not with row or column order.
    """
    digest = hashlib.sha256()
    for name in ("adsl", "adlb", "adtte", "adae"):
        digest.update(f"{name}\n".encode())
        digest.update(_canonical(getattr(datasets, name)).encode())
    return digest.hexdigest()


def _day(later: pd.Series, start: pd.Series) -> pd.Series:
    return (later - start).dt.days


def derive_adam(
    tables: Mapping[str, pd.DataFrame],
    protocol: Protocol,
    *,
    horizon_days: int | None = None,
) -> AdamDatasets:
    """Derive ADSL, ADLB, ADTTE and ADAE from the source tables under ``protocol``.

    Parameters
    ----------
    tables
        Source tables named as in :data:`hepatrial.analysis.sources.SOURCE_COLUMNS`.
    protocol
        The trial's protocol: arms, visits and windows, the MELD variant, planned doses.
    horizon_days
        End of follow-up for ADTTE; default the longest ``time_horizon_days`` of the endpoints.
    """
    source = check_sources(tables)
    exclusions: list[tuple[str, Exclusion]] = []
    adsl = derive_adsl(source, protocol, exclusions)
    adlb = derive_adlb(source, adsl, protocol, exclusions)
    adsl = _add_baselines(adsl, adlb)
    horizon = horizon_days or max(
        (e.time_horizon_days for e in protocol.endpoints if e.time_horizon_days), default=365
    )
    adtte = derive_adtte(source, adsl, horizon, exclusions)
    adae = derive_adae(source, adsl, exclusions)
    return AdamDatasets(
        adsl=adsl,
        adlb=adlb,
        adtte=adtte,
        adae=adae,
        exclusions=tuple(exclusions),
        protocol_id=protocol.id,
        protocol_version=protocol.version,
    )


def _count(exclusions: list[tuple[str, Exclusion]], dataset: str, reason: str, n: int) -> None:
    if n:
        exclusions.append((dataset, Exclusion(reason, int(n))))


def derive_adsl(
    source: Mapping[str, pd.DataFrame],
    protocol: Protocol,
    exclusions: list[tuple[str, Exclusion]],
) -> pd.DataFrame:
    """One row per randomized participant (see the module docstring for the flags)."""
    rand = source["randomizations"]
    people = source["participants"].set_index("id")
    labels = {a.id: a.label for a in protocol.arms}
    unknown = sorted(set(rand["arm"]) - set(labels))
    if unknown:
        raise DataCheckError(f"randomizations name arm(s) {unknown} not in protocol {protocol.id}")
    adsl = pd.DataFrame(
        {
            "STUDYID": protocol.id,
            "USUBJID": rand["participant_id"].astype(str),
            "RANDNO": rand["sequence_number"].astype(int),
            "ARMCD": rand["arm"].astype(str),
            "ARM": rand["arm"].map(labels),
            "STRATUM": as_text(rand["stratum"]),
            "RANDDT": rand["randomized_on"],
        }
    )
    adsl["SITEID"] = adsl["USUBJID"].map(people["site_code"])
    adsl["AGE"] = adsl["USUBJID"].map(people["age_years"]).astype(float)
    adsl["SEX"] = adsl["USUBJID"].map(people["sex"])
    factors = rand["factors"].map(lambda f: f if isinstance(f, dict) else {})
    for name in sorted({k for f in factors for k in f}):
        adsl[f"STRAT_{name.upper()}"] = [str(f.get(name, "")) for f in factors]
    adsl = _screening_values(adsl, rand, source["screenings"])
    adsl = _treatment_flags(adsl, source["doses"], protocol)
    adsl = _disposition(adsl, source)
    not_randomized = int((~source["participants"]["id"].isin(adsl["USUBJID"])).sum())
    _count(exclusions, "ADSL", "screened but not randomized (CONSORT only)", not_randomized)
    return adsl.sort_values("RANDNO").reset_index(drop=True)


def _screening_values(
    adsl: pd.DataFrame, rand: pd.DataFrame, screenings: pd.DataFrame
) -> pd.DataFrame:
    """``SCR_<NAME>``: scores and numeric facts of the screening used at randomization."""
    if "scores" not in screenings:
        return adsl
    by_id = screenings.set_index("id")["scores"].map(lambda v: v if isinstance(v, dict) else {})
    values = rand["screening_id"].map(by_id).map(lambda v: v if isinstance(v, dict) else {})
    for name in sorted({k for v in values for k in v}):
        adsl[f"SCR_{name.upper()}"] = [float(v[name]) if name in v else np.nan for v in values]
    return adsl


def _treatment_flags(adsl: pd.DataFrame, doses: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    given = doses[doses["status"] == "given"]
    n_given = given.groupby("participant_id").size()
    deviations = given[as_text(given["deviation"]).str.len() > 0]
    first = given.groupby("participant_id")["given_on"].min()
    planned = {a.id: sum(i.count for i in protocol.interventions_for(a.id)) for a in protocol.arms}
    adsl["NDOSEPL"] = adsl["ARMCD"].map(planned).astype(int)
    adsl["NDOSE"] = adsl["USUBJID"].map(n_given).fillna(0).astype(int)
    adsl["TRTSDT"] = lookup(adsl["USUBJID"], first)
    control = adsl["NDOSEPL"] == 0
    treated = control | (adsl["NDOSE"] > 0)
    complete = (adsl["NDOSE"] >= adsl["NDOSEPL"]) & ~adsl["USUBJID"].isin(
        deviations["participant_id"]
    )
    adsl["ITTFL"] = "Y"
    adsl["SAFFL"] = np.where(treated, "Y", "N")
    adsl["PPROTFL"] = np.where(treated & complete, "Y", "N")
    return adsl


def _disposition(adsl: pd.DataFrame, source: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    outcomes = source["outcomes"]
    deaths = outcomes[outcomes["kind"] == "death"].drop_duplicates("participant_id")
    deaths = deaths.set_index("participant_id")
    events = source["adverse_events"]
    fatal_liver = events[(events["outcome"] == "fatal") & events["liver_related"].astype(bool)][
        "participant_id"
    ]
    adsl["DTHFL"] = np.where(adsl["USUBJID"].isin(deaths.index), "Y", "N")
    adsl["DTHDT"] = lookup(adsl["USUBJID"], deaths["occurred_on"])
    adsl["DTHCAUS"] = adsl["USUBJID"].map(deaths["cause"])
    detail = as_text(lookup(adsl["USUBJID"], deaths["detail"])).str.lower()
    liver = (detail == "liver-related") | adsl["USUBJID"].isin(fatal_liver)
    adsl["DTHLIVFL"] = np.where((adsl["DTHFL"] == "Y") & liver, "Y", "N")
    adsl["DTHDY"] = _day(adsl["DTHDT"], adsl["RANDDT"])
    withdrawals = source["withdrawals"].drop_duplicates("participant_id")
    withdrawals = withdrawals.set_index("participant_id")
    adsl["WDFL"] = np.where(adsl["USUBJID"].isin(withdrawals.index), "Y", "N")
    adsl["WDDT"] = lookup(adsl["USUBJID"], withdrawals["withdrawn_on"])
    adsl["WDREAS"] = adsl["USUBJID"].map(withdrawals["reason"])
    adsl["LSTCNDT"] = _last_contact(adsl, source)
    return adsl


def _last_contact(adsl: pd.DataFrame, source: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Latest date the participant was known alive and in the trial (or the death date)."""
    dated = [
        source["lab_results"][["participant_id", "collected_on"]].set_axis(["id", "on"], axis=1),
        source["qol_answers"][["participant_id", "answered_on"]].set_axis(["id", "on"], axis=1),
        source["adverse_events"][["participant_id", "start_date"]].set_axis(["id", "on"], axis=1),
        source["outcomes"][["participant_id", "occurred_on"]].set_axis(["id", "on"], axis=1),
        source["doses"][["participant_id", "given_on"]].set_axis(["id", "on"], axis=1),
        source["withdrawals"][["participant_id", "withdrawn_on"]].set_axis(["id", "on"], axis=1),
    ]
    if "visits" in source:
        dated.append(
            source["visits"][["participant_id", "visit_date"]].set_axis(["id", "on"], axis=1)
        )
    stacked = pd.concat(dated, ignore_index=True)
    stacked["on"] = pd.to_datetime(stacked["on"])
    latest = stacked.dropna().groupby("id")["on"].max()
    last = lookup(adsl["USUBJID"], latest)
    return last.where(last.notna() & (last > adsl["RANDDT"]), adsl["RANDDT"])


def derive_adlb(
    source: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    protocol: Protocol,
    exclusions: list[tuple[str, Exclusion]],
) -> pd.DataFrame:
    """Laboratory, score and quality-of-life records by visit with baseline and change."""
    records, dropped = derive_lab_records(source, protocol)
    for reason, n in dropped:
        _count(exclusions, "ADLB", reason, n)
    keys = adsl.set_index("USUBJID")
    outside = ~records["USUBJID"].isin(keys.index)
    _count(exclusions, "ADLB", "records of participants never randomized", int(outside.sum()))
    adlb = records[~outside].copy()
    adlb["ARMCD"] = adlb["USUBJID"].map(keys["ARMCD"])
    adlb["ADY"] = _day(adlb["ADT"], lookup(adlb["USUBJID"], keys["RANDDT"]))
    adlb = _assign_visits(adlb, protocol)
    _count(
        exclusions,
        "ADLB",
        "records outside every visit window (kept, not analysed)",
        int((adlb["AVISIT"] == NO_VISIT).sum()),
    )
    adlb = _baseline_and_change(adlb)
    order = ["USUBJID", "PARAMCD", "ADT"]
    return adlb.sort_values(order, kind="mergesort").reset_index(drop=True)


def _assign_visits(adlb: pd.DataFrame, protocol: Protocol) -> pd.DataFrame:
    adlb["AVISIT"] = NO_VISIT
    adlb["AVISITN"] = np.nan
    distance = pd.Series(np.inf, index=adlb.index)
    for visit in protocol.visits:
        low, high = visit.day - visit.window.before, visit.day + visit.window.after
        inside = adlb["ADY"].between(low, high) & (adlb["AVISIT"] == NO_VISIT)
        adlb.loc[inside, "AVISIT"] = visit.id
        adlb.loc[inside, "AVISITN"] = visit.day
        distance[inside] = (adlb.loc[inside, "ADY"] - visit.day).abs()
    adlb["_dist"] = distance
    ranked = adlb.sort_values(["_dist", "ADY"], ascending=[True, False], kind="mergesort")
    chosen = ranked[ranked["AVISIT"] != NO_VISIT].drop_duplicates(["USUBJID", "PARAMCD", "AVISIT"])
    adlb["ANL01FL"] = np.where(adlb.index.isin(chosen.index), "Y", "")
    return adlb.drop(columns="_dist")


def _baseline_and_change(adlb: pd.DataFrame) -> pd.DataFrame:
    candidates = adlb[adlb["ADY"] <= 0].sort_values("ADY", kind="mergesort")
    base = candidates.drop_duplicates(["USUBJID", "PARAMCD"], keep="last")
    adlb["ABLFL"] = np.where(adlb.index.isin(base.index), "Y", "")
    lookup = base.set_index(["USUBJID", "PARAMCD"])["AVAL"]
    index = pd.MultiIndex.from_frame(adlb[["USUBJID", "PARAMCD"]])
    adlb["BASE"] = lookup.reindex(index).to_numpy()
    post = adlb["ADY"] > 0
    adlb["CHG"] = np.where(post, adlb["AVAL"] - adlb["BASE"], np.nan)
    adlb["PCHG"] = np.where(post, 100.0 * adlb["CHG"] / adlb["BASE"], np.nan)
    return adlb


def _add_baselines(adsl: pd.DataFrame, adlb: pd.DataFrame) -> pd.DataFrame:
    base = adlb[adlb["ABLFL"] == "Y"].pivot_table(
        index="USUBJID", columns="PARAMCD", values="AVAL", aggfunc="first"
    )
    for paramcd in base.columns:
        adsl[f"B{paramcd}"] = adsl["USUBJID"].map(base[paramcd])
    return adsl


def derive_adae(
    source: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    exclusions: list[tuple[str, Exclusion]],
) -> pd.DataFrame:
    """One row per adverse event of a randomized participant."""
    events = source["adverse_events"]
    keys = adsl.set_index("USUBJID")
    known = events["participant_id"].isin(keys.index)
    _count(exclusions, "ADAE", "events of participants never randomized", int((~known).sum()))
    ae = events[known]
    adae = pd.DataFrame(
        {
            "USUBJID": ae["participant_id"].astype(str),
            "ARMCD": ae["participant_id"].map(keys["ARMCD"]),
            "AETERM": ae["term"].astype(str),
            "AEBODSYS": ae["system_organ_class"].astype(str),
            "AETOXGR": ae["grade"].astype(int),
            "AESER": np.where(ae["serious"].astype(bool), "Y", "N"),
            "AEREL": np.where(ae["related"].astype(bool), "Y", "N"),
            "AELIVER": np.where(ae["liver_related"].astype(bool), "Y", "N"),
            "AEOUT": ae["outcome"].astype(str),
            "ASTDT": ae["start_date"],
        }
    )
    adae["ASTDY"] = _day(adae["ASTDT"], lookup(adae["USUBJID"], keys["RANDDT"]))
    adae["TRTEMFL"] = np.where(adae["ASTDY"] >= 0, "Y", "N")
    _count(
        exclusions,
        "ADAE",
        "events starting before randomization (not treatment-emergent)",
        int((adae["TRTEMFL"] == "N").sum()),
    )
    return adae.sort_values(["USUBJID", "ASTDT", "AETERM"], kind="mergesort").reset_index(drop=True)
