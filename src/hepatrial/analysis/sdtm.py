"""Source tables from SDTM-like domains (DM, LB, AE, EX, DS, QS, CE) such as
:func:`hepatrial.service.export_sdtm` writes (``dm.csv``, ``lb.csv``, ...).

The mapping inverts the export: DM gives participants and randomizations (``ARMCD``,
``RFSTDTC``); DS gives screen failures (``DSCOMMENT`` lists the failed criteria), withdrawals and
deaths (cause in ``DSCOMMENT``); EX the doses given (``EXDOSNUM``, ``EXADJ`` as deviation); LB
the laboratory values in standard units (screening rows, ``VISIT = "SCREENING"``, are left out,
as the store keeps them with the screening); QS, AE and CE the rest. Two items the SDTM domains do
not carry are lost and reported by :func:`sdtm_losses`: allocation strata, and whether a death
was liver-related unless a fatal liver-related adverse event says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from hepatrial.exceptions import DataCheckError
from hepatrial.frames import as_text

DOMAINS = ("DM", "LB", "AE", "EX", "DS", "QS", "CE")
_NOT_RANDOMIZED = ("SCRNFAIL", "NOTASSGN", "")
_ANALYTES = {
    "BILI": "bilirubin", "CREAT": "creatinine", "ALB": "albumin", "SODIUM": "sodium",
    "INR": "inr", "PLAT": "platelets", "WBC": "wbc", "NEUT": "neutrophils", "AST": "ast",
    "ALT": "alt", "UREA": "urea", "LACTICAC": "lactate", "HYALUAC": "ha", "P3NP": "piiinp",
    "TIMP1": "timp1", "PT": "prothrombin_time", "LSM": "liver_stiffness",
}  # fmt: skip


def read_sdtm_directory(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``<domain>.csv`` (lower case) of every domain; a ``DataCheckError`` lists the
    missing files."""
    root = Path(directory)
    missing = [f"{d.lower()}.csv" for d in DOMAINS if not (root / f"{d.lower()}.csv").is_file()]
    if missing:
        raise DataCheckError(f"{root} lacks the SDTM file(s) {', '.join(missing)}")
    return {
        d: pd.read_csv(root / f"{d.lower()}.csv", keep_default_na=False, na_values=[""])
        for d in DOMAINS
    }


def _ids(frame: pd.DataFrame, subjects: Mapping[str, str]) -> pd.Series:
    return frame["USUBJID"].map(subjects)


def from_sdtm(domains: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Source tables (layout of :mod:`hepatrial.analysis.sources`) from SDTM-like domains."""
    dm = domains["DM"]
    subjects = dict(zip(dm["USUBJID"], dm["SUBJID"].astype(str), strict=True))
    armcd = as_text(dm["ARMCD"])
    randomized = dm[~armcd.isin(_NOT_RANDOMIZED)]
    ds = domains["DS"].assign(participant_id=lambda f: _ids(f, subjects))
    failures = ds[ds["DSDECOD"] == "SCREEN FAILURE"]
    failed = dict(zip(failures["participant_id"], as_text(failures["DSCOMMENT"]), strict=False))
    screened = pd.DataFrame({"participant_id": dm["SUBJID"].astype(str)})
    screenings = pd.DataFrame(
        {
            "id": range(1, len(dm) + 1),
            "participant_id": screened["participant_id"],
            "screened_on": pd.to_datetime(dm["RFSTDTC"], errors="coerce"),
            "eligible": ~screened["participant_id"].isin(failed),
            "criteria": screened["participant_id"].map(
                lambda p: [
                    {"name": c.strip(), "passed": False}
                    for c in str(failed.get(p, "")).split(";")
                    if c.strip()
                ]
            ),
        }
    )
    tables = {
        "participants": pd.DataFrame(
            {
                "id": dm["SUBJID"].astype(str),
                "site_code": dm["SITEID"],
                "sex": dm["SEX"],
                "age_years": dm["AGE"],
            }
        ),
        "screenings": screenings,
        "randomizations": pd.DataFrame(
            {
                "participant_id": randomized["SUBJID"].astype(str),
                "screening_id": randomized.index + 1,
                "sequence_number": range(1, len(randomized) + 1),
                "arm": randomized["ARMCD"],
                "stratum": "",
                "factors": [{} for _ in range(len(randomized))],
                "randomized_on": randomized["RFSTDTC"],
            }
        ),
    }
    return tables | _follow_up(domains, subjects, ds)


def _follow_up(
    domains: Mapping[str, pd.DataFrame], subjects: Mapping[str, str], ds: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    ex, lb, qs, ae, ce = (
        domains[d].assign(participant_id=lambda f: _ids(f, subjects))
        for d in ("EX", "LB", "QS", "AE", "CE")
    )
    lb = lb[lb["VISIT"] != "SCREENING"]
    deaths = ds[ds["DSDECOD"] == "DEATH"]
    withdrawn = ds[~ds["DSDECOD"].isin(["SCREEN FAILURE", "RANDOMIZED", "DEATH"])]
    ce_detail = ce["CETERM"].astype(str).str.split(": ", n=1).str[1]
    outcomes = pd.concat(
        [
            pd.DataFrame(
                {
                    "participant_id": deaths["participant_id"],
                    "kind": "death",
                    "occurred_on": deaths["DSSTDTC"],
                    "cause": deaths["DSCOMMENT"],
                    "detail": None,
                    "severe": None,
                }
            ),
            pd.DataFrame(
                {
                    "participant_id": ce["participant_id"],
                    "kind": ce["CEDECOD"].str.lower(),
                    "occurred_on": ce["CESTDTC"],
                    "cause": None,
                    "detail": ce_detail,
                    "severe": ce["CESEV"].map({"SEVERE": True, "NOT SEVERE": False}),
                }
            ),
        ],
        ignore_index=True,
    )
    return {
        "doses": pd.DataFrame(
            {
                "participant_id": ex["participant_id"],
                "dose_number": ex["EXDOSNUM"],
                "planned_date": None,
                "status": "given",
                "given_on": ex["EXSTDTC"],
                "deviation": ex["EXADJ"].where(as_text(ex["EXADJ"]) != "", None),
            }
        ),
        "lab_results": pd.DataFrame(
            {
                "participant_id": lb["participant_id"],
                "analyte": lb["LBTESTCD"].map(_ANALYTES),
                "value_standard": lb["LBSTRESN"],
                "unit_standard": lb["LBSTRESU"],
                "collected_on": lb["LBDTC"],
            }
        ),
        "qol_answers": pd.DataFrame(
            {
                "participant_id": qs["participant_id"],
                "instrument": qs["QSCAT"],
                "item": qs["QSTEST"],
                "value": qs["QSSTRESN"],
                "answered_on": qs["QSDTC"],
            }
        ),
        "adverse_events": pd.DataFrame(
            {
                "participant_id": ae["participant_id"],
                "term": ae["AETERM"],
                "system_organ_class": ae["AEBODSYS"],
                "grade": ae["AETOXGR"].astype(int),
                "serious": ae["AESER"] == "Y",
                "related": ae["AEREL"] == "RELATED",
                "liver_related": ae["AELIVER"] == "Y",
                "outcome": ae["AEOUT"].str.lower(),
                "start_date": ae["AESTDTC"],
            }
        ),
        "outcomes": outcomes,
        "withdrawals": pd.DataFrame(
            {
                "participant_id": withdrawn["participant_id"],
                "withdrawn_on": withdrawn["DSSTDTC"],
                "reason": withdrawn["DSDECOD"].str.lower(),
            }
        ),
    }


def sdtm_losses() -> tuple[str, ...]:
    """What an SDTM-derived analysis cannot know, stated in every such report."""
    return (
        "allocation strata are not in the SDTM domains (no STRAT_ columns or strata subgroups)",
        "liver relation of a death is known only from a fatal liver-related adverse event",
    )
