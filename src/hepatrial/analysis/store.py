"""Source tables from the trial store: :func:`hepatrial.service.load_trial_tables` mapped to
the layout of :mod:`hepatrial.analysis.sources`.

The store names participants ``participant_id`` everywhere and spreads allocation factors and
failed criteria over columns (``factor_<name>``, ``failed_criteria``); the derivations read
one ``factors`` mapping and a ``criteria`` list per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sqlalchemy.orm import Session


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


def _criteria(failed: pd.Series) -> pd.Series:
    return failed.fillna("").map(
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
    from hepatrial.service import load_trial_tables

    return from_store_layout(load_trial_tables(session))
