"""Source tables from the trial store: :func:`hepatrial.service.load_trial_tables` mapped to
the layout of :mod:`hepatrial.analysis.sources`.

The store names participants ``participant_id`` everywhere and spreads allocation factors and
failed criteria over columns (``factor_<name>``, ``failed_criteria``); the derivations read
one ``factors`` mapping and a ``criteria`` list per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hepatrial.analysis.adam import AdamDatasets, derive_adam
from hepatrial.analysis.plan import run_plan
from hepatrial.analysis.results import PlanResults
from hepatrial.exceptions import DataCheckError
from hepatrial.frames import as_text
from hepatrial.protocol import Protocol, protocol_from_dict
from hepatrial.service import DataQualityReport, check_store, load_trial_tables
from hepatrial.store import Trial, session_factory


def _factors(frame: pd.DataFrame) -> pd.Series:
    columns = [c for c in frame.columns if c.startswith("factor_")]
    return pd.Series(
        [
            {c.removeprefix("factor_"): str(row[c]) for c in columns if pd.notna(row[c])}
            for _, row in frame.iterrows()
        ],
        index=frame.index,
        dtype=object,
    )


def _screening_numbers(frame: pd.DataFrame) -> pd.Series:
    """Scores computed at screening (``score_<name>``) and numeric protocol facts."""
    columns = [c for c in frame.columns if c.startswith("score_")]
    columns += [
        c
        for c in frame.columns
        if c.startswith("fact_")
        and not c.startswith("fact_clinical_")
        and pd.api.types.is_float_dtype(frame[c])
    ]
    return pd.Series(
        [
            {c.split("_", 1)[1]: float(row[c]) for c in columns if pd.notna(row[c])}
            for _, row in frame.iterrows()
        ],
        index=frame.index,
        dtype=object,
    )


def _criteria(failed: pd.Series) -> pd.Series:
    return as_text(failed).map(
        lambda text: [
            {"name": name.strip(), "passed": False} for name in str(text).split(";") if name.strip()
        ]
    )


def from_store_layout(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Rename and reshape the store's tables into the analysis source layout."""
    participants = tables["participants"].rename(
        columns={"participant_id": "id", "site": "site_code"}
    )
    screenings = tables["screenings"].rename(columns={"screening_id": "id"})
    screenings["criteria"] = _criteria(screenings["failed_criteria"])
    screenings["scores"] = _screening_numbers(screenings)
    randomizations = tables["randomizations"].copy()
    randomizations["factors"] = _factors(randomizations)
    return {
        "participants": participants,
        "screenings": screenings,
        "randomizations": randomizations,
        "doses": tables["doses"],
        "visits": tables["visits"].rename(columns={"visit": "visit_label"}),
        "lab_results": tables["labs"],
        "qol_answers": tables["qol"],
        "adverse_events": tables["adverse_events"],
        "outcomes": tables["outcomes"],
        "withdrawals": tables["withdrawals"],
        "trial": tables["trial"],
    }


def load_source_tables(session: Session) -> dict[str, pd.DataFrame]:
    """Read the whole trial from the store in the analysis source layout."""
    return from_store_layout(load_trial_tables(session))


def load_store_protocol(session: Session) -> tuple[Protocol, str]:
    """The protocol snapshot stored with the trial, and its SHA-256."""
    trial = session.execute(select(Trial)).scalar_one_or_none()
    if trial is None:
        raise DataCheckError("the store holds no trial; create one first (hepatrial init)")
    data = yaml.safe_load(trial.protocol_yaml)
    protocol = protocol_from_dict(data, source=f"stored protocol of trial {trial.id}")
    return protocol, trial.protocol_sha256


@dataclass(frozen=True)
class StoreAnalysis:
    """A store's locked datasets, plan results, the tables they came from and their edit
    checks (:func:`hepatrial.service.check_store`, run in the same session)."""

    protocol: Protocol
    protocol_sha256: str
    source: dict[str, pd.DataFrame]
    adam: AdamDatasets
    results: PlanResults
    quality: DataQualityReport | None = None


def analyse_store(url: str, *, options: dict[str, Any] | None = None) -> StoreAnalysis:
    """Read the store at ``url``, derive the ADaM datasets and run the protocol's plan."""
    with session_factory(url)() as session:
        protocol, sha256 = load_store_protocol(session)
        source = load_source_tables(session)
        quality = check_store(session)
    adam = derive_adam(source, protocol)
    results = run_plan(
        adam,
        protocol,
        options={"database": _redacted(url), "protocol_sha256": sha256, **(options or {})},
    )
    return StoreAnalysis(protocol, sha256, source, adam, results, quality)


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
