"""Laboratory, score and quality-of-life parameters of ADLB, and the protocol-variable map.

Laboratory values come from the store in each analyte's conventional unit
(``value_standard``); ADLB reports bilirubin and creatinine in µmol/L and albumin in g/L (the
units the seed protocols name), other analytes in their conventional unit. Derived parameters
are computed per participant and collection date when every input was collected that day:

* ``MELD``: :func:`hepatrial.scores.meld` in the protocol's ``eligibility.meld_variant``
  (``unos_unrounded``: continuous; ``unos``: the OPTN integer);
* ``ELF``: Enhanced Liver Fibrosis score ``2.278 + 0.851 ln HA + 0.751 ln PIIINP +
  0.394 ln TIMP-1`` (ng/mL; Lichtinghagen R et al., J Hepatol 2013;59:236-242).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from hepatrial.exceptions import DataCheckError
from hepatrial.protocol import Protocol
from hepatrial.scores import meld
from hepatrial.units import convert

# analyte -> (PARAMCD, PARAM label, unit reported, unit in the store)
DIRECT: dict[str, tuple[str, str, str, str]] = {
    "bilirubin": ("BILI", "Total bilirubin (µmol/L)", "µmol/L", "mg/dL"),
    "creatinine": ("CREAT", "Creatinine (µmol/L)", "µmol/L", "mg/dL"),
    "albumin": ("ALB", "Albumin (g/L)", "g/L", "g/dL"),
    "inr": ("INR", "INR", "ratio", "ratio"),
    "sodium": ("SODIUM", "Sodium (mmol/L)", "mmol/L", "mmol/L"),
    "platelets": ("PLAT", "Platelets (10^9/L)", "10^9/L", "10^9/L"),
    "liver_stiffness": ("LSM", "Liver stiffness (kPa)", "kPa", "kPa"),
}
DERIVED_LABELS = {"MELD": "MELD score", "ELF": "ELF score"}
QOL_PARAMS: dict[tuple[str, str], tuple[str, str]] = {
    ("EQ-5D-5L", "index"): ("EQ5D", "EQ-5D-5L index"),
}
VARIABLE_PARAMS: dict[str, str] = {
    "meld": "MELD",
    "bilirubin_umol_l": "BILI",
    "creatinine_umol_l": "CREAT",
    "albumin_g_l": "ALB",
    "inr": "INR",
    "sodium_mmol_l": "SODIUM",
    "platelets_10e9_l": "PLAT",
    "elf": "ELF",
    "eq5d_index": "EQ5D",
    "liver_stiffness_kpa": "LSM",
}
"""Protocol endpoint variable -> ADLB ``PARAMCD``."""

_COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "AVALU", "ADT", "AVAL"]


def paramcd_for(variable: str) -> str:
    """The ADLB parameter of a protocol endpoint variable, or a ``DataCheckError``."""
    try:
        return VARIABLE_PARAMS[variable]
    except KeyError:
        raise DataCheckError(
            f"endpoint variable {variable!r} has no ADLB parameter; known: "
            f"{', '.join(sorted(VARIABLE_PARAMS))}"
        ) from None


def _direct(labs: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for analyte, (paramcd, label, unit, stored) in DIRECT.items():
        rows = labs[labs["analyte"] == analyte]
        if rows.empty:
            continue
        values = np.asarray(convert(rows["value_standard"].to_numpy(), analyte, stored, unit))
        frames.append(
            pd.DataFrame(
                {
                    "USUBJID": rows["participant_id"].astype(str).to_numpy(),
                    "PARAMCD": paramcd,
                    "PARAM": label,
                    "AVALU": unit,
                    "ADT": rows["collected_on"].to_numpy(),
                    "AVAL": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_COLUMNS)


def _same_day(labs: pd.DataFrame, analytes: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    rows = labs[labs["analyte"].isin(analytes)]
    wide = rows.pivot_table(
        index=["participant_id", "collected_on"],
        columns="analyte",
        values="value_standard",
        aggfunc="last",
    )
    wide = wide.reindex(columns=list(analytes))
    complete = wide.dropna()
    return complete.reset_index(), int(len(wide) - len(complete))


def _meld(labs: pd.DataFrame, variant: str) -> tuple[pd.DataFrame, int]:
    if variant not in ("unos", "unos_unrounded"):
        raise DataCheckError(
            f"meld_variant={variant!r}: MELD trajectories are derived for 'unos' and "
            "'unos_unrounded'; MELD-Na and MELD 3.0 need sodium and albumin on the same day"
        )
    wide, incomplete = _same_day(labs, ("bilirubin", "inr", "creatinine"))
    rounding: Literal["optn", "continuous"] = (
        "continuous" if variant == "unos_unrounded" else "optn"
    )
    values = (
        np.atleast_1d(
            meld(
                bilirubin=wide["bilirubin"].to_numpy(),
                inr=wide["inr"].to_numpy(),
                creatinine=wide["creatinine"].to_numpy(),
                rounding=rounding,
            )
        )
        if len(wide)
        else np.array([])
    )
    return _frame(wide, "MELD", "1", values), incomplete


def _elf(labs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    wide, incomplete = _same_day(labs, ("ha", "piiinp", "timp1"))
    values = (
        2.278
        + 0.851 * np.log(wide["ha"].to_numpy(dtype=float))
        + 0.751 * np.log(wide["piiinp"].to_numpy(dtype=float))
        + 0.394 * np.log(wide["timp1"].to_numpy(dtype=float))
    )
    return _frame(wide, "ELF", "1", values), incomplete


def _frame(wide: pd.DataFrame, paramcd: str, unit: str, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": wide["participant_id"].astype(str).to_numpy(),
            "PARAMCD": paramcd,
            "PARAM": DERIVED_LABELS[paramcd],
            "AVALU": unit,
            "ADT": wide["collected_on"].to_numpy(),
            "AVAL": np.asarray(values, dtype=float),
        }
    )


def _qol(answers: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for (instrument, item), (paramcd, label) in QOL_PARAMS.items():
        rows = answers[(answers["instrument"] == instrument) & (answers["item"] == item)]
        frames.append(
            pd.DataFrame(
                {
                    "USUBJID": rows["participant_id"].astype(str).to_numpy(),
                    "PARAMCD": paramcd,
                    "PARAM": label,
                    "AVALU": "1",
                    "ADT": rows["answered_on"].to_numpy(),
                    "AVAL": rows["value"].astype(float).to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def derive_lab_records(
    source: Mapping[str, pd.DataFrame], protocol: Protocol
) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """Every ADLB record before visit assignment, and the counts of what could not be derived."""
    labs = source["lab_results"]
    meld_rows, meld_missing = _meld(labs, protocol.eligibility.meld_variant)
    elf_rows, elf_missing = _elf(labs)
    parts = [_direct(labs), meld_rows, elf_rows, _qol(source["qol_answers"])]
    present = [p for p in parts if not p.empty]
    records = pd.concat(present, ignore_index=True) if present else pd.DataFrame(columns=_COLUMNS)
    records["ADT"] = pd.to_datetime(records["ADT"])
    dropped = [
        ("MELD not derived: bilirubin, INR or creatinine missing that day", meld_missing),
        ("ELF not derived: HA, PIIINP or TIMP-1 missing that day", elf_missing),
    ]
    return records[_COLUMNS], dropped
