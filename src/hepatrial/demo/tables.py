"""Source tables straight from a reconstruction, in the store's table layout.

The demo normally records a reconstruction through the operations API and reads the tables
back from the store; :func:`source_tables` builds the same tables without a store, for fast
tests of the analysis and for exports. Laboratory values are converted to conventional units
with :func:`hepatrial.units.check_plausible`, as the store does when a value is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pandas as pd

from hepatrial.analysis.sources import SOURCE_COLUMNS
from hepatrial.demo.records import Participant, ReconstructedTrial
from hepatrial.protocol import Protocol, load_protocol
from hepatrial.protocol.instruments import EQ5D_DIMENSIONS
from hepatrial.scores import meld
from hepatrial.units import check_plausible, conventional_unit


def stratum_factors(
    protocol: Protocol, facts: dict[str, Any], scores: dict[str, float]
) -> dict[str, str]:
    """The allocation factor levels of a candidate (category facts, or bands of a score)."""
    levels: dict[str, str] = {}
    for factor in protocol.allocation.factors:
        if factor.band_of is None:
            levels[factor.name] = str(facts[factor.name])
            continue
        value = scores[factor.band_of]
        band = sum(value >= cut for cut in factor.cutpoints or ())
        levels[factor.name] = (factor.levels or ())[band]
    return levels


def _day(p: Participant, day: int) -> dt.date:
    return p.randomization_date + dt.timedelta(days=day)


def _lab_row(pid: str, analyte: str, value: float, unit: str, on: dt.date) -> dict[str, Any]:
    standard = float(check_plausible(value, analyte, unit, field=analyte)[0])
    return {
        "participant_id": pid,
        "analyte": analyte,
        "value": value,
        "unit": unit,
        "value_standard": standard,
        "unit_standard": conventional_unit(analyte),
        "collected_on": on,
    }


def _doses(p: Participant, protocol: Protocol) -> list[dict[str, Any]]:
    rows = []
    for intervention in protocol.interventions_for(p.arm):
        given = {k: d for k, d in enumerate(p.doses)}
        for k in range(intervention.count):
            planned = _day(p, intervention.first_day + k * intervention.interval_days)
            dose = given.get(k)
            rows.append(
                {
                    "participant_id": p.subject_id,
                    "dose_number": k + 1,
                    "planned_date": planned,
                    "status": "given" if dose else "missed",
                    "given_on": _day(p, dose.day) if dose else None,
                    "deviation": None,
                }
            )
    return rows


def _participant_rows(
    p: Participant, protocol: Protocol, tables: dict[str, list[dict[str, Any]]]
) -> None:
    pid = p.subject_id
    for lab in p.labs:
        tables["lab_results"].append(_lab_row(pid, lab.test, lab.value, lab.unit, _day(p, lab.day)))
    for q in p.qol:
        items = {**dict(zip(EQ5D_DIMENSIONS, q.levels, strict=True)), "index": q.score}
        tables["qol_answers"].extend(
            {
                "participant_id": pid,
                "instrument": q.instrument,
                "item": item,
                "value": float(value),
                "answered_on": _day(p, q.day),
            }
            for item, value in items.items()
        )
    for ae in p.adverse_events:
        tables["adverse_events"].append(
            {
                "participant_id": pid,
                "term": ae.term,
                "system_organ_class": ae.body_system,
                "grade": 3 if ae.serious else 1,
                "serious": ae.serious,
                "related": False,
                "liver_related": ae.liver_related,
                "outcome": "recovered",
                "start_date": _day(p, ae.day),
            }
        )
    for event in p.events:
        kind = "infection" if event.kind == "severe infection" else event.kind
        tables["outcomes"].append(
            {
                "participant_id": pid,
                "kind": kind,
                "occurred_on": _day(p, event.day),
                "cause": None,
                "detail": event.term,
                "severe": True if kind == "infection" else None,
            }
        )
    if p.death is not None:
        tables["outcomes"].append(
            {
                "participant_id": pid,
                "kind": "death",
                "occurred_on": _day(p, p.death.day),
                "cause": p.death.cause,
                "detail": "liver-related" if p.death.liver_related else "not liver-related",
                "severe": None,
            }
        )
    if p.withdrawal is not None:
        tables["withdrawals"].append(
            {
                "participant_id": pid,
                "withdrawn_on": _day(p, p.withdrawal.day),
                "reason": p.withdrawal.reason,
            }
        )
    tables["doses"].extend(_doses(p, protocol))


def _screening_scores(labs: dict[str, dict[str, Any]], protocol: Protocol) -> dict[str, float]:
    bili = check_plausible(
        labs["bilirubin"]["value"], "bilirubin", labs["bilirubin"]["unit"], field="bilirubin"
    )[0]
    creat = check_plausible(
        labs["creatinine"]["value"], "creatinine", labs["creatinine"]["unit"], field="creatinine"
    )[0]
    rounding: Literal["optn", "continuous"] = (
        "continuous" if protocol.eligibility.meld_variant == "unos_unrounded" else "optn"
    )
    return {
        "meld": float(
            meld(
                bilirubin=float(bili),
                inr=labs["inr"]["value"],
                creatinine=float(creat),
                rounding=rounding,
            )
        )
    }


def source_tables(
    trial: ReconstructedTrial, protocol: Protocol | None = None
) -> dict[str, pd.DataFrame]:
    """The store-layout source tables of ``trial`` (see :mod:`hepatrial.analysis.sources`)."""
    protocol = protocol or load_protocol(trial.protocol)
    tables: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "participants",
            "screenings",
            "randomizations",
            "doses",
            "lab_results",
            "qol_answers",
            "adverse_events",
            "outcomes",
            "withdrawals",
        )
    }
    for k, p in enumerate(trial.participants):
        c = p.candidate
        labs = {lab.test: {"value": lab.value, "unit": lab.unit} for lab in c.screening_labs}
        scores = _screening_scores(labs, protocol)
        factors = stratum_factors(protocol, c.facts, scores)
        tables["participants"].append(
            {"id": c.subject_id, "site_code": c.site, "sex": c.sex, "age_years": c.age}
        )
        tables["screenings"].append(
            {
                "id": k + 1,
                "participant_id": c.subject_id,
                "screened_on": _day(p, c.screening_day),
                "eligible": True,
                "criteria": [],
                "labs": labs,
                "facts": c.facts,
                "scores": scores
                | {k: float(v) for k, v in c.facts.items() if isinstance(v, float)},
            }
        )
        tables["randomizations"].append(
            {
                "participant_id": c.subject_id,
                "screening_id": k + 1,
                "sequence_number": k + 1,
                "arm": p.arm,
                "stratum": "|".join(f"{n}={v}" for n, v in factors.items()),
                "factors": factors,
                "randomized_on": c.randomization_date,
            }
        )
        _participant_rows(p, protocol, tables)
    for k, f in enumerate(trial.screen_failures, start=len(trial.participants) + 1):
        tables["participants"].append(
            {"id": f.screening_id, "site_code": f.site, "sex": f.sex, "age_years": f.age}
        )
        tables["screenings"].append(
            {
                "id": k,
                "participant_id": f.screening_id,
                "screened_on": f.screening_date,
                "eligible": False,
                "criteria": [{"name": f.reason, "passed": False, "reason": f.reason}],
                "labs": {},
                "facts": f.facts,
            }
        )
    return {
        name: pd.DataFrame(
            rows,
            columns=list(dict.fromkeys([*SOURCE_COLUMNS[name], *(rows[0].keys() if rows else [])])),
        )
        for name, rows in tables.items()
    }
