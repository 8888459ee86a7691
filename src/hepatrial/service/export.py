"""Export the trial as CDISC SDTM-like domains: DM, LB, AE, EX, DS, QS (and CE for outcomes).

Each domain is one file (``dm.csv`` or ``dm.parquet``, ...) with standard SDTM variable names.
``STUDYID`` is the protocol id in upper case and ``USUBJID`` is ``STUDYID-participant``.
Dates are ISO 8601 (``--DTC``). Study days (``--DY``) follow the SDTM convention relative to
randomization (``RFSTDTC``): day 1 is the randomization date and there is no day 0, so protocol
day 90 is ``--DY`` 91. The mapping of every variable is documented in ``docs/operations.md``.
Files are written to temporary names and renamed, so a failed export leaves no partial file.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlalchemy.orm import Session

from hepatrial.exceptions import InvalidRecordError
from hepatrial.frames import as_text, lookup
from hepatrial.protocol.models import Protocol
from hepatrial.service._common import get_trial, read_operation, trial_protocol
from hepatrial.service.tables import load_trial_tables

ExportFormat = Literal["csv", "parquet"]
DOMAINS = ("DM", "LB", "AE", "EX", "DS", "QS", "CE")

LAB_TEST_CODES = {
    "bilirubin": ("BILI", "Bilirubin"),
    "creatinine": ("CREAT", "Creatinine"),
    "albumin": ("ALB", "Albumin"),
    "sodium": ("SODIUM", "Sodium"),
    "inr": ("INR", "Prothrombin Intl. Normalized Ratio"),
    "platelets": ("PLAT", "Platelets"),
    "wbc": ("WBC", "Leukocytes"),
    "neutrophils": ("NEUT", "Neutrophils"),
    "ast": ("AST", "Aspartate Aminotransferase"),
    "alt": ("ALT", "Alanine Aminotransferase"),
    "urea": ("UREA", "Urea"),
    "lactate": ("LACTICAC", "Lactic Acid"),
    "ha": ("HYALUAC", "Hyaluronic Acid"),
    "piiinp": ("P3NP", "Procollagen III N-Terminal Propeptide"),
    "timp1": ("TIMP1", "Tissue Inhibitor of Metalloproteinase 1"),
    "prothrombin_time": ("PT", "Prothrombin Time"),
    "liver_stiffness": ("LSM", "Liver Stiffness Measurement"),  # sponsor-defined code
}
"""Analyte -> (LBTESTCD, LBTEST); other analytes use their name, upper case, 8 characters."""

_SCREENING = "\x00screening"
"""Visit key of screening labs in LB (VISIT ``SCREENING``, VISITNUM 0); a follow-up lab recorded
without a visit is ``UNSCHEDULED`` with an empty VISITNUM."""


@dataclass(frozen=True)
class SdtmExport:
    """Files written by :func:`export_sdtm` and their row counts."""

    directory: Path
    format: ExportFormat
    files: dict[str, Path]
    rows: dict[str, int]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per domain: domain, rows, file."""
        return pd.DataFrame(
            {
                "domain": list(self.files),
                "rows": [self.rows[d] for d in self.files],
                "file": [str(p) for p in self.files.values()],
            }
        )


def _iso(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v.date().isoformat() if pd.notna(v) else "")


def _sdtm_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """SDTM study day: date - reference + 1 on or after the reference, date - reference before.

    Empty when either date is missing (e.g. a participant not randomized has no reference).
    Both sides are coerced to datetimes because an empty or all-missing column arrives with
    ``object`` dtype (a store with no randomized participant).
    """
    days = (pd.to_datetime(dates) - pd.to_datetime(reference)).dt.days
    return days.where(days < 0, days + 1).astype("Int64")


def _yes_no(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else ("Y" if bool(v) else "N"))


def _with_keys(frame: pd.DataFrame, study: str, domain: str, seq: str) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.insert(0, "STUDYID", study)
    frame.insert(1, "DOMAIN", domain)
    frame.insert(2, "USUBJID", study + "-" + frame.pop("participant_id").astype(str))
    frame.insert(3, seq, frame.groupby("USUBJID").cumcount() + 1)
    return frame


class _Builder:
    def __init__(self, tables: dict[str, pd.DataFrame], protocol: Protocol) -> None:
        self.t = tables
        self.protocol = protocol
        self.study = protocol.id.upper()
        randomized = tables["randomizations"]
        self.start = pd.Series(
            randomized["randomized_on"].to_numpy(), index=randomized["participant_id"]
        )
        self.arm_labels = {a.id: a.label for a in protocol.arms}
        self.visit_numbers = {v.id: float(i + 1) for i, v in enumerate(protocol.visits)}
        self.visit_labels = {v.id: v.label for v in protocol.visits}

    def reference(self, participants: pd.Series) -> pd.Series:
        return lookup(participants, self.start)

    def dm(self) -> pd.DataFrame:
        people = self.t["participants"]
        randomized = self.t["randomizations"].set_index("participant_id")
        deaths = self.t["outcomes"].query("kind == 'death'").set_index("participant_id")
        given = self.t["doses"].query("status == 'given'").groupby("participant_id")["given_on"]
        eligible = self.t["screenings"].groupby("participant_id")["eligible"].any()
        pid = people["participant_id"]
        arm = pid.map(randomized["arm"])
        armcd = arm.where(arm.notna(), pid.map(eligible).map({True: "NOTASSGN", False: "SCRNFAIL"}))
        treated_arms = {i.arm for i in self.protocol.interventions}
        first_dose = lookup(pid, given.min())
        actual = armcd.where(~(arm.isin(treated_arms) & first_dose.isna()), "NOTTRT")
        labels = {**self.arm_labels, "NOTASSGN": "Not Assigned", "SCRNFAIL": "Screen Failure"}
        frame = pd.DataFrame(
            {
                "participant_id": pid,
                "SUBJID": pid,
                "RFSTDTC": _iso(lookup(pid, self.start)),
                "RFXSTDTC": _iso(first_dose),
                "RFXENDTC": _iso(lookup(pid, given.max())),
                "DTHDTC": _iso(lookup(pid, deaths["occurred_on"])),
                "DTHFL": pid.isin(deaths.index).map({True: "Y", False: ""}),
                "SITEID": people["site"],
                "AGE": people["age_years"],
                "AGEU": "YEARS",
                "SEX": people["sex"].fillna("U"),
                "ARMCD": armcd,
                "ARM": armcd.map(labels),
                "ACTARMCD": actual,
                "ACTARM": actual.map({**labels, "NOTTRT": "Assigned, Not Treated"}),
            }
        )
        frame = _with_keys(frame, self.study, "DM", "_SEQ").drop(columns=["_SEQ"])
        return frame

    def lb(self) -> pd.DataFrame:
        labs = self.t["labs"]
        screening = self._screening_labs()
        followup = pd.DataFrame(
            {
                "participant_id": labs["participant_id"],
                "analyte": labs["analyte"],
                "LBORRES": labs["value"],
                "LBORRESU": labs["unit"],
                "LBSTRESN": labs["value_standard"],
                "LBSTRESU": labs["unit_standard"],
                "date": labs["collected_on"],
                "visit": labs["visit"],
            }
        )
        parts = [part for part in (screening, followup) if not part.empty]
        frame = pd.concat(parts, ignore_index=True) if parts else followup
        frame = frame.sort_values(["participant_id", "date", "analyte"], kind="stable")
        codes = frame["analyte"].map(lambda a: LAB_TEST_CODES.get(a, (a.upper()[:8], a)))
        out = pd.DataFrame(
            {
                "participant_id": frame["participant_id"],
                "LBTESTCD": codes.map(lambda c: c[0]),
                "LBTEST": codes.map(lambda c: c[1]),
                "LBORRES": frame["LBORRES"],
                "LBORRESU": frame["LBORRESU"],
                "LBSTRESN": frame["LBSTRESN"],
                "LBSTRESU": frame["LBSTRESU"],
                "VISITNUM": frame["visit"].map({**self.visit_numbers, _SCREENING: 0.0}),
                "VISIT": frame["visit"]
                .map({**self.visit_labels, _SCREENING: "SCREENING"})
                .fillna("UNSCHEDULED"),
                "LBDTC": _iso(frame["date"]),
                "LBDY": _sdtm_day(frame["date"], self.reference(frame["participant_id"])),
            }
        )
        return _with_keys(out, self.study, "LB", "LBSEQ")

    def _screening_labs(self) -> pd.DataFrame:
        from hepatrial.units import check_plausible, conventional_unit

        rows = []
        screenings = self.t["screenings"]
        lab_columns = [
            c for c in screenings.columns if c.startswith("lab_") and not c.endswith("_unit")
        ]
        for _, row in screenings.iterrows():
            for column in lab_columns:
                value, unit = row[column], row.get(f"{column}_unit")
                if pd.isna(value) or unit is None or pd.isna(unit):
                    continue
                analyte = column[len("lab_") :]
                rows.append(
                    {
                        "participant_id": row["participant_id"],
                        "analyte": analyte,
                        "LBORRES": float(value),
                        "LBORRESU": unit,
                        "LBSTRESN": float(check_plausible(value, analyte, unit)[0]),
                        "LBSTRESU": conventional_unit(analyte),
                        "date": row["screened_on"],
                        "visit": _SCREENING,
                    }
                )
        return pd.DataFrame(
            rows,
            columns=[
                "participant_id",
                "analyte",
                "LBORRES",
                "LBORRESU",
                "LBSTRESN",
                "LBSTRESU",
                "date",
                "visit",
            ],
        )

    def ae(self) -> pd.DataFrame:
        ae = self.t["adverse_events"].sort_values(["participant_id", "start_date", "ae_id"])
        reference = self.reference(ae["participant_id"])
        out = pd.DataFrame(
            {
                "participant_id": ae["participant_id"],
                "AETERM": ae["term"],
                "AEDECOD": ae["term"],
                "AEBODSYS": ae["system_organ_class"],
                "AETOXGR": ae["grade"].astype(str),
                "AESER": _yes_no(ae["serious"]),
                "AEREL": ae["related"].map({True: "RELATED", False: "NOT RELATED"}),
                "AELIVER": _yes_no(ae["liver_related"]),
                "AEOUT": ae["outcome"].str.upper(),
                "AESTDTC": _iso(ae["start_date"]),
                "AEENDTC": _iso(ae["end_date"]),
                "AESTDY": _sdtm_day(ae["start_date"], reference),
                "AEENDY": _sdtm_day(ae["end_date"], reference),
            }
        )
        return _with_keys(out, self.study, "AE", "AESEQ")

    def ex(self) -> pd.DataFrame:
        doses = self.t["doses"].query("status == 'given'")
        doses = doses.sort_values(["participant_id", "given_on", "intervention", "dose_number"])
        spec = {i.id: i for i in self.protocol.interventions}
        per_kg = doses["given_amount_per_kg"].notna()
        out = pd.DataFrame(
            {
                "participant_id": doses["participant_id"],
                "EXTRT": doses["intervention"].map(lambda i: spec[i].product if i in spec else i),
                "EXDOSE": doses["given_amount_per_kg"].where(per_kg, doses["given_total"]),
                "EXDOSU": doses["unit"].where(~per_kg, doses["unit"] + "/kg"),
                "EXDOSTOT": doses["given_total"],
                "EXROUTE": doses["intervention"].map(lambda i: spec[i].route if i in spec else ""),
                "EXADJ": as_text(doses["deviation"]),
                "EXSTDTC": _iso(doses["given_on"]),
                "EXENDTC": _iso(doses["given_on"]),
                "EXSTDY": _sdtm_day(doses["given_on"], self.reference(doses["participant_id"])),
                "EXDOSNUM": doses["dose_number"],
            }
        )
        return _with_keys(out, self.study, "EX", "EXSEQ")

    def ds(self) -> pd.DataFrame:
        rows: list[dict[str, object]] = []
        failed = self.t["screenings"].query("not eligible")
        for _, r in failed.iterrows():
            rows.append(
                _ds(
                    r["participant_id"],
                    "SCREEN FAILURE",
                    "SCREEN FAILURE",
                    "DISPOSITION EVENT",
                    r["screened_on"],
                    r["failed_criteria"],
                )
            )
        for _, r in self.t["randomizations"].iterrows():
            rows.append(
                _ds(
                    r["participant_id"],
                    "RANDOMIZED",
                    "RANDOMIZED",
                    "PROTOCOL MILESTONE",
                    r["randomized_on"],
                    r["arm"],
                )
            )
        for _, r in self.t["withdrawals"].iterrows():
            rows.append(
                _ds(
                    r["participant_id"],
                    r["reason"].upper(),
                    r["reason"].upper(),
                    "DISPOSITION EVENT",
                    r["withdrawn_on"],
                    r["detail"] or "",
                )
            )
        for _, r in self.t["outcomes"].query("kind == 'death'").iterrows():
            rows.append(
                _ds(
                    r["participant_id"],
                    f"DEATH: {r['cause']}".upper(),
                    "DEATH",
                    "DISPOSITION EVENT",
                    r["occurred_on"],
                    r["cause"],
                )
            )
        frame = pd.DataFrame(
            rows, columns=["participant_id", "DSTERM", "DSDECOD", "DSCAT", "date", "DSCOMMENT"]
        )
        frame = frame.sort_values(["participant_id", "date"], kind="stable")
        frame["DSSTDTC"] = _iso(frame["date"])
        frame["DSSTDY"] = _sdtm_day(frame["date"], self.reference(frame["participant_id"]))
        return _with_keys(frame.drop(columns=["date"]), self.study, "DS", "DSSEQ")

    def qs(self) -> pd.DataFrame:
        qs = self.t["qol"].sort_values(["participant_id", "answered_on", "instrument", "item"])
        out = pd.DataFrame(
            {
                "participant_id": qs["participant_id"],
                "QSCAT": qs["instrument"],
                "QSTESTCD": qs["item"]
                .str.upper()
                .str.replace(r"[^A-Z0-9]", "", regex=True)
                .str[:8],
                "QSTEST": qs["item"],
                "QSORRES": qs["value"].astype(str),
                "QSSTRESN": qs["value"],
                "VISITNUM": qs["visit"].map(self.visit_numbers),
                "VISIT": as_text(qs["visit"].map(self.visit_labels)),
                "QSDTC": _iso(qs["answered_on"]),
                "QSDY": _sdtm_day(qs["answered_on"], self.reference(qs["participant_id"])),
            }
        )
        return _with_keys(out, self.study, "QS", "QSSEQ")

    def ce(self) -> pd.DataFrame:
        events = self.t["outcomes"].query("kind != 'death'")
        events = events.sort_values(["participant_id", "occurred_on", "outcome_id"])
        out = pd.DataFrame(
            {
                "participant_id": events["participant_id"],
                "CETERM": events["kind"]
                .str.cat(as_text(events["detail"]), sep=": ")
                .str.rstrip(": "),
                "CEDECOD": events["kind"].str.upper(),
                "CECAT": "CLINICAL OUTCOME",
                "CESEV": as_text(events["severe"].map({True: "SEVERE", False: "NOT SEVERE"})),
                "CESTDTC": _iso(events["occurred_on"]),
                "CESTDY": _sdtm_day(
                    events["occurred_on"], self.reference(events["participant_id"])
                ),
            }
        )
        return _with_keys(out, self.study, "CE", "CESEQ")


def _ds(
    participant: str, term: str, decod: str, category: str, date: object, comment: str
) -> dict[str, object]:
    return {
        "participant_id": participant,
        "DSTERM": term,
        "DSDECOD": decod,
        "DSCAT": category,
        "date": date,
        "DSCOMMENT": comment,
    }


def sdtm_domains(session: Session) -> dict[str, pd.DataFrame]:
    """The SDTM-like domains as DataFrames keyed by domain code (see the module docstring)."""
    with read_operation(session):
        protocol = trial_protocol(get_trial(session))
        tables = load_trial_tables(session)
    builder = _Builder(tables, protocol)
    return {
        "DM": builder.dm(),
        "LB": builder.lb(),
        "AE": builder.ae(),
        "EX": builder.ex(),
        "DS": builder.ds(),
        "QS": builder.qs(),
        "CE": builder.ce(),
    }


def export_sdtm(
    session: Session, directory: str | Path, *, format: ExportFormat = "csv"
) -> SdtmExport:
    """Write the SDTM-like domains DM, LB, AE, EX, DS, QS and CE to ``directory``.

    Parameters
    ----------
    session
        A session on the store.
    directory
        Created if missing; existing domain files are replaced.
    format
        ``"csv"`` (UTF-8, comma separated, header row) or ``"parquet"``.
    """
    if format not in ("csv", "parquet"):
        raise InvalidRecordError(f"format={format!r} is not supported; use 'csv' or 'parquet'")
    domains = sdtm_domains(session)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    stamp = f".tmp-{os.getpid()}-{dt.datetime.now().timestamp():.0f}"
    staged: dict[str, tuple[Path, Path]] = {}
    try:
        for code, frame in domains.items():
            final = target / f"{code.lower()}.{format}"
            temporary = final.with_name(final.name + stamp)
            staged[code] = (temporary, final)
            if format == "csv":
                frame.to_csv(temporary, index=False)
            else:
                frame.to_parquet(temporary, index=False)
    except BaseException:
        for temporary, _ in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in staged.values():
        os.replace(temporary, final)
    return SdtmExport(
        directory=target,
        format=format,
        files={code: final for code, (_, final) in staged.items()},
        rows={code: len(frame) for code, frame in domains.items()},
    )
