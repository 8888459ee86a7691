"""Write hepatrial's bundled example cohort: 200 synthetic patients with cirrhosis or ACLF.

Usage: ``python scripts/make_example_cohort.py`` (rewrites
``src/hepatrial/data/example_cohort.csv``; the seed makes the file reproducible).

The patients are simulated, not sampled from any person: three groups (compensated cirrhosis,
acute decompensation, acute-on-chronic liver failure) with log-normal laboratory values around
typical medians for each group, rounded as laboratories report them. About a quarter of the rows
are written in SI units (``units`` = ``si``: bilirubin and creatinine in µmol/L, albumin in g/L,
urea in mmol/L); the others in conventional US units (urea as blood urea nitrogen, mg/dL).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261122
OUT = Path(__file__).resolve().parents[1] / "src" / "hepatrial" / "data" / "example_cohort.csv"

# group: (n, bilirubin mg/dL, creatinine mg/dL, albumin g/dL, INR, sodium, platelets, WBC)
# medians (albumin and sodium: means of a normal distribution)
GROUPS = {
    "compensated": (90, 1.1, 0.85, 3.8, 1.12, 138.5, 125, 5.5),
    "decompensated": (70, 3.0, 1.15, 2.9, 1.5, 133.5, 90, 6.5),
    "aclf": (40, 13.0, 1.9, 2.7, 2.2, 131.0, 80, 11.0),
}
ETIOLOGIES = ("alcohol", "hbv", "hcv", "masld", "pbc", "autoimmune")


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(rng.normal(0.0, sigma, n))


def _group(rng: np.random.Generator, name: str, spec: tuple[float, ...]) -> pd.DataFrame:
    n = int(spec[0])
    sick = {"compensated": 0, "decompensated": 1, "aclf": 2}[name]
    inr = np.clip(_lognormal(rng, spec[4], 0.08 + 0.06 * sick, n), 0.9, 8.0)
    wbc = np.clip(_lognormal(rng, spec[7], 0.35, n), 1.0, 45.0)
    frame = pd.DataFrame(
        {
            "group": name,
            "sex": rng.choice(["M", "F"], n, p=[0.64, 0.36]),
            "age": np.clip(rng.normal(56 - 4 * (sick == 2), 10, n), 19, 85).round(),
            "etiology": rng.choice(ETIOLOGIES, n, p=[0.38, 0.22, 0.12, 0.16, 0.07, 0.05]),
            "bilirubin": np.clip(_lognormal(rng, spec[1], 0.45 + 0.1 * sick, n), 0.2, 45.0),
            "creatinine": np.clip(_lognormal(rng, spec[2], 0.25 + 0.15 * sick, n), 0.4, 9.0),
            "albumin": np.clip(rng.normal(spec[3], 0.4, n), 1.6, 5.0),
            "sodium": np.clip(rng.normal(spec[5], 3.0 + sick, n), 118, 146).round(),
            "inr": inr,
            "platelets": np.clip(_lognormal(rng, spec[6], 0.4, n), 15, 400).round(),
            "wbc": wbc,
            "neutrophils": wbc * np.clip(rng.normal(0.65 + 0.08 * sick, 0.06, n), 0.4, 0.92),
            "ast": np.clip(_lognormal(rng, 45 + 35 * sick, 0.5, n), 12, 3000).round(),
            "alt": np.clip(_lognormal(rng, 38 + 20 * sick, 0.5, n), 8, 3000).round(),
            "urea": np.clip(_lognormal(rng, 14 + 8 * sick, 0.45, n), 4, 150),
            "lactate": np.clip(_lognormal(rng, 1.2 + 0.6 * sick, 0.35, n), 0.4, 12.0),
            "ha": np.clip(_lognormal(rng, 90 * 2.2**sick, 0.6, n), 8, 3000).round(1),
            "piiinp": np.clip(_lognormal(rng, 10 * 1.6**sick, 0.4, n), 2, 200).round(2),
            "timp1": np.clip(_lognormal(rng, 300 * 1.4**sick, 0.3, n), 80, 3000).round(1),
            "prothrombin_time": (11.5 * inr + rng.normal(0, 0.4, n)).round(1),
        }
    )
    frame["ascites"] = rng.choice(
        [0, 1, 2], n, p=[[0.9, 0.1, 0.0], [0.3, 0.45, 0.25], [0.2, 0.4, 0.4]][sick]
    )
    he_p = [[0.95, 0.05, 0, 0, 0], [0.55, 0.25, 0.15, 0.05, 0], [0.4, 0.15, 0.15, 0.2, 0.1]][sick]
    frame["he_grade"] = rng.choice([0, 1, 2, 3, 4], n, p=he_p)
    frame["edema"] = rng.choice(
        [0.0, 0.5, 1.0], n, p=[[0.85, 0.12, 0.03], [0.5, 0.3, 0.2], [0.4, 0.3, 0.3]][sick]
    )
    on_rrt = rng.random(n) < [0.0, 0.02, 0.12][sick]
    frame["dialysis"] = on_rrt.astype(int)
    frame["renal_replacement"] = on_rrt.astype(int)
    frame["vasopressors"] = (rng.random(n) < [0.0, 0.02, 0.2][sick]).astype(int)
    frame["mean_arterial_pressure"] = np.clip(rng.normal(86 - 6 * sick, 9, n), 45, 130).round()
    ventilated = rng.random(n) < [0.0, 0.0, 0.08][sick]
    frame["mechanical_ventilation"] = ventilated.astype(int)
    frame["pao2_fio2"] = np.clip(rng.normal(420 - 50 * sick, 60 + 20 * sick, n), 90, 520).round()
    return frame


def _write_units(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    si = rng.random(len(frame)) < 0.25
    out = frame.copy()
    out.insert(1, "units", np.where(si, "si", "conventional"))
    out["bilirubin"] = np.where(
        si, (frame["bilirubin"] * 17.1).round(), frame["bilirubin"].round(1)
    )
    out["creatinine"] = np.where(
        si, (frame["creatinine"] * 88.4).round(), frame["creatinine"].round(2)
    )
    out["albumin"] = np.where(si, (frame["albumin"] * 10).round(), frame["albumin"].round(1))
    out["urea"] = np.where(si, (frame["urea"] * 0.357).round(1), frame["urea"].round())
    out["inr"] = frame["inr"].round(2)
    out["wbc"] = frame["wbc"].round(1)
    out["neutrophils"] = frame["neutrophils"].round(2)
    out["lactate"] = frame["lactate"].round(1)
    whole = ["age", "sodium", "platelets", "ast", "alt", "mean_arterial_pressure", "pao2_fio2"]
    out[whole] = out[whole].astype(int)
    return out


def make(seed: int = SEED) -> pd.DataFrame:
    """The example cohort for ``seed`` (the bundled file uses :data:`SEED`)."""
    rng = np.random.default_rng(seed)
    groups = [_group(rng, name, spec) for name, spec in GROUPS.items()]
    frame = pd.concat(groups, ignore_index=True)
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "patient_id", [f"EX-{i:03d}" for i in range(1, len(frame) + 1)])
    return _write_units(frame, rng)


if __name__ == "__main__":
    cohort = make()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cohort.to_csv(OUT, index=False)
    sys.stdout.write(f"wrote {len(cohort)} patients to {OUT}\n")
