"""Score a whole cohort: a DataFrame front end over the vectorized scores.

:func:`score_cohort` reads the inputs of the requested scores from a patient table (one row per
patient; column convention in :mod:`hepatrial.scores._columns` and ``docs/scores.md``), reports
every invalid cell with its row, field, value, unit and reason, and scores the valid rows. Rows
are never dropped: invalid rows keep their place with empty scores.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.scores import _columns as col
from hepatrial.scores._inputs import BoolArray, FloatArray
from hepatrial.scores.aclf import HE_GRADE_WORDS, clif_c_aclf, clif_c_ad, clif_of
from hepatrial.scores.apasl import aarc, cossh_aclf_ii
from hepatrial.scores.child_pugh import ASCITES_WORDS, ENCEPHALOPATHY_WORDS, child_pugh
from hepatrial.scores.fibrosis import albi, apri, elf, fib4
from hepatrial.scores.mayo import EDEMA_WORDS, mayo_pbc
from hepatrial.scores.meld import meld, meld_3, meld_na
from hepatrial.units import ANALYTES, UnitSystem

_ORGAN_INPUTS = (
    "bilirubin",
    "creatinine",
    "he_grade",
    "inr",
    "mean_arterial_pressure",
    "vasopressors",
    "pao2_fio2",
    "spo2_fio2",
    "renal_replacement",
    "mechanical_ventilation",
    "ventilated_for_encephalopathy",
)

SCORE_INPUTS: dict[str, tuple[str, ...]] = {
    "meld": ("bilirubin", "inr", "creatinine", "dialysis"),
    "meld_na": ("bilirubin", "inr", "creatinine", "sodium", "dialysis"),
    "meld_3": ("sex", "bilirubin", "sodium", "inr", "creatinine", "albumin", "dialysis"),
    "child_pugh": ("bilirubin", "albumin", "inr", "ascites", "encephalopathy"),
    "albi": ("bilirubin", "albumin"),
    "fib4": ("age", "ast", "alt", "platelets"),
    "apri": ("ast", "platelets", "ast_uln"),
    "elf": ("ha", "piiinp", "timp1"),
    "mayo_pbc": ("age", "bilirubin", "albumin", "prothrombin_time", "edema"),
    "clif_of": _ORGAN_INPUTS,
    "aclf_grade": _ORGAN_INPUTS,
    "clif_c_aclf": (*_ORGAN_INPUTS, "age", "wbc"),
    "clif_c_ad": ("age", "creatinine", "inr", "wbc", "sodium"),
    "aarc": ("bilirubin", "he_grade", "inr", "lactate", "creatinine"),
    "cossh_aclf_ii": ("inr", "he_grade", "neutrophils", "bilirubin", "urea", "age"),
}
"""Every score :func:`score_cohort` knows and the columns it reads."""

SCORES: tuple[str, ...] = tuple(SCORE_INPUTS)

_OPTIONAL_LABS = {"mean_arterial_pressure", "pao2_fio2", "spo2_fio2"}
_FLAGS = (
    "dialysis",
    "vasopressors",
    "renal_replacement",
    "mechanical_ventilation",
    "ventilated_for_encephalopathy",
)
_CODED: dict[str, tuple[Mapping[str, float], tuple[float, ...]]] = {
    "sex": (col.SEX_WORDS, (0.0, 1.0)),
    "ascites": ({k: float(v) for k, v in ASCITES_WORDS.items()}, (0.0, 1.0, 2.0)),
    "encephalopathy": ({k: float(v) for k, v in ENCEPHALOPATHY_WORDS.items()}, (0.0, 1.0, 2.0)),
    "he_grade": ({k: float(v) for k, v in HE_GRADE_WORDS.items()}, (0.0, 1.0, 2.0, 3.0, 4.0)),
    "edema": (EDEMA_WORDS, (0.0, 0.5, 1.0)),
}


@dataclass(frozen=True)
class ScoredCohort:
    """Scores beside the rows of a cohort, and every problem found.

    Attributes
    ----------
    table
        The input rows, in their order, with the score columns appended (empty for invalid
        rows).
    errors
        One row per problem: ``row`` (1-based data row; CSV line = row + 1), ``field``,
        ``value`` as given, ``unit`` and ``reason``.
    scores
        The scores computed.
    units
        The default unit system of plain lab columns.
    score_columns
        Names of the columns added to the input.
    assumptions
        Defaults applied because a column was absent (for example "dialysis: no column; taken
        as no dialysis for every row").
    """

    table: pd.DataFrame
    errors: pd.DataFrame
    scores: tuple[str, ...]
    units: str
    assumptions: tuple[str, ...]
    score_columns: tuple[str, ...]

    @property
    def valid(self) -> BoolArray:
        """True for rows without any problem."""
        bad = np.zeros(len(self.table), dtype=bool)
        if len(self.errors):
            bad[self.errors["row"].to_numpy(dtype=np.int64) - 1] = True
        return ~bad

    @property
    def n_invalid(self) -> int:
        """Number of rows with at least one problem."""
        return int((~self.valid).sum())

    @property
    def summary(self) -> pd.DataFrame:
        """Per score column: rows scored, and mean, median, min and max (or category counts)."""
        return summarize_scores(self.table, self.score_columns)

    def __repr__(self) -> str:
        return (
            f"ScoredCohort({len(self.table)} rows, {self.n_invalid} invalid, "
            f"scores={list(self.scores)})"
        )


_CATEGORICAL_OUTPUTS = {"child_pugh_class", "malbi_grade", "clif_failing_organs"}


def summarize_scores(table: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Per score column of ``table``: rows scored, and mean, median, min and max for numbers or
    the count of each category (Child-Pugh class, modified ALBI grade; for failing organs the
    number of rows with at least one)."""
    rows = []
    for name in columns:
        values = table[name]
        scored = values.notna()
        entry: dict[str, Any] = {"score": name, "n": int(scored.sum())}
        if name == "clif_failing_organs":
            failing = int((values[scored].astype(str) != "").sum())
            entry["categories"] = f"at least one organ failure: {failing}"
        elif name in _CATEGORICAL_OUTPUTS:
            counts = values[scored].astype(str).replace("", "none").value_counts().sort_index()
            entry["categories"] = ", ".join(f"{k}: {v}" for k, v in counts.items())
        elif entry["n"]:
            numbers = values[scored].astype(np.float64)
            entry.update(
                mean=float(numbers.mean()),
                median=float(numbers.median()),
                min=float(numbers.min()),
                max=float(numbers.max()),
            )
        rows.append(entry)
    columns_out = ["score", "n", "mean", "median", "min", "max", "categories"]
    return pd.DataFrame(rows).reindex(columns=columns_out)


def _read_inputs(
    frame: pd.DataFrame,
    needed: set[str],
    is_si: BoolArray,
    problems: col.Problems,
    assumptions: list[str],
) -> dict[str, FloatArray]:
    values: dict[str, FloatArray] = {}
    for name in sorted(needed):
        if name in ANALYTES and name != "ast_uln":
            required = name not in _OPTIONAL_LABS
            values[name] = col.lab_column(frame, name, is_si, problems, required=required)
        elif name == "ast_uln":
            has = bool(col.lab_sources(frame.columns, name))
            values[name] = (
                col.lab_column(frame, name, is_si, problems, required=True)
                if has
                else np.full(len(frame), 40.0)
            )
            if not has:
                assumptions.append("ast_uln: no column; 40 U/L used for every row")
        elif name in _FLAGS:
            if name not in frame.columns:
                assumptions.append(f"{name}: no column; taken as 'no' for every row")
            values[name] = col.coded_column(
                frame, name, col.YES_NO, (0.0, 1.0), problems, default=0.0
            )
        elif name == "encephalopathy" and name not in frame.columns and "he_grade" in frame:
            grade = col.coded_column(frame, "he_grade", *_CODED["he_grade"], problems)
            values[name] = np.where(grade >= 3, 2.0, np.where(grade >= 1, 1.0, 0.0))
            values[name][np.isnan(grade)] = np.nan
            assumptions.append("encephalopathy: derived from he_grade (0 -> 0, 1-2 -> 1, 3-4 -> 2)")
        else:
            words, allowed = _CODED[name]
            values[name] = col.coded_column(
                frame, name, words, allowed, problems, accept_numbers=name != "sex"
            )
    return values


def _check_organ_data(
    values: Mapping[str, FloatArray], problems: col.Problems, missing_as_normal: bool
) -> None:
    """Rows that CLIF-C OF cannot score: no MAP without vasopressors, no oxygenation ratio."""
    if missing_as_normal:
        return
    no_map = np.isnan(values["mean_arterial_pressure"]) & (values["vasopressors"] != 1)
    for i in np.flatnonzero(no_map):
        problems.add(int(i), "mean_arterial_pressure", "", "mmHg", "missing (and no vasopressors)")
    no_ratio = (
        np.isnan(values["pao2_fio2"])
        & np.isnan(values["spo2_fio2"])
        & (values["mechanical_ventilation"] != 1)
    )
    for i in np.flatnonzero(no_ratio):
        problems.add(int(i), "pao2_fio2", "", "mmHg", "neither pao2_fio2 nor spo2_fio2 is given")


_WHOLE_NUMBERS = ("ascites", "encephalopathy", "he_grade")


def _argument(v: Mapping[str, FloatArray], name: str) -> Any:
    """A column as its score takes it: sex as "F"/"M", flags as bool, grades as integers."""
    if name == "sex":
        return np.where(v["sex"] == 1, "F", "M")
    if name in _FLAGS:
        return v[name].astype(bool)
    if name in _WHOLE_NUMBERS:
        return v[name].astype(np.int64)
    return v[name]


def _arguments(v: Mapping[str, FloatArray], names: Iterable[str]) -> dict[str, Any]:
    """Keyword arguments of a score from the cohort's columns ``names``."""
    return {name: _argument(v, name) for name in names}


def _organ_kwargs(v: Mapping[str, FloatArray]) -> dict[str, Any]:
    return _arguments(v, _ORGAN_INPUTS)


def _out_child_pugh(v: Mapping[str, FloatArray], o: Mapping[str, Any]) -> dict[str, Any]:
    result = child_pugh(**_arguments(v, SCORE_INPUTS["child_pugh"]), **o)
    return {"child_pugh_points": result.points, "child_pugh_class": result.class_}


def _out_albi(v: Mapping[str, FloatArray], o: Mapping[str, Any]) -> dict[str, Any]:
    result = albi(**_arguments(v, SCORE_INPUTS["albi"]), **o)
    return {"albi": result.score, "albi_grade": result.grade, "malbi_grade": result.modified_grade}


def _out_clif_of(v: Mapping[str, FloatArray], o: Mapping[str, Any]) -> dict[str, Any]:
    result = clif_of(**_organ_kwargs(v), **o)
    return {
        "clif_of": result.score,
        "clif_failing_organs": [",".join(organs) for organs in result.failing_organs],
        "aclf_grade": result.aclf_grade,
    }


def _out_aarc(v: Mapping[str, FloatArray], o: Mapping[str, Any]) -> dict[str, Any]:
    result = aarc(**_arguments(v, SCORE_INPUTS["aarc"]), **o)
    return {"aarc": result.score, "aarc_grade": result.grade}


Output = Callable[[Mapping[str, FloatArray], Mapping[str, Any]], dict[str, Any]]

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "meld": meld,
    "meld_na": meld_na,
    "meld_3": meld_3,
    "child_pugh": child_pugh,
    "albi": albi,
    "fib4": fib4,
    "apri": apri,
    "elf": elf,
    "mayo_pbc": mayo_pbc,
    "clif_of": clif_of,
    "aclf_grade": clif_of,
    "clif_c_aclf": clif_of,
    "clif_c_ad": clif_c_ad,
    "aarc": aarc,
    "cossh_aclf_ii": cossh_aclf_ii,
}


def _one_value(name: str) -> Output:
    """The output of a score that gives one number per row, in a column named after it."""
    function, inputs = _FUNCTIONS[name], SCORE_INPUTS[name]
    return lambda v, o: {name: function(**_arguments(v, inputs), **o)}


_SINGLE_VALUED = (
    "meld",
    "meld_na",
    "meld_3",
    "fib4",
    "apri",
    "elf",
    "mayo_pbc",
    "clif_c_ad",
    "cossh_aclf_ii",
)

_OUTPUTS: dict[str, Output] = {
    **{name: _one_value(name) for name in _SINGLE_VALUED},
    "child_pugh": _out_child_pugh,
    "albi": _out_albi,
    "clif_of": _out_clif_of,
    "aclf_grade": lambda v, o: {"aclf_grade": clif_of(**_organ_kwargs(v), **o).aclf_grade},
    "clif_c_aclf": lambda v, o: {
        "clif_c_aclf": clif_c_aclf(
            clif_of=clif_of(**_organ_kwargs(v), **o), age=v["age"], wbc=v["wbc"]
        )
    },
    "aarc": _out_aarc,
}


def _check_options(options: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse options for unknown scores and options a score does not have (typos fail loudly)."""
    unknown = set(options) - set(SCORE_INPUTS)
    if unknown:
        raise ValueError(f"options for unknown score(s): {', '.join(sorted(unknown))}")
    for name, given in options.items():
        function = _FUNCTIONS[name]
        inputs = set(SCORE_INPUTS["clif_of" if function is clif_of else name])
        allowed = set(inspect.signature(function).parameters) - inputs
        wrong = set(given) - allowed
        if wrong:
            raise ValueError(
                f"{name} has no option {', '.join(sorted(wrong))}; "
                f"options: {', '.join(sorted(allowed)) or 'none'}"
            )


def _parse_scores(scores: Iterable[str] | str) -> tuple[str, ...]:
    names = scores.split(",") if isinstance(scores, str) else list(scores)
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in SCORE_INPUTS]
    if unknown:
        raise ValueError(f"unknown score(s) {', '.join(unknown)}; known: {', '.join(SCORES)}")
    if not names:
        raise ValueError(f"no score requested; choose from: {', '.join(SCORES)}")
    return tuple(dict.fromkeys(names))


def score_cohort(
    frame: pd.DataFrame,
    scores: Iterable[str] | str = ("meld", "meld_na", "meld_3", "child_pugh"),
    *,
    units: UnitSystem = "conventional",
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScoredCohort:
    """Score every row of a patient table and report every invalid cell.

    Parameters
    ----------
    frame
        One row per patient; columns named after the score keywords (see ``docs/scores.md``).
        Lab columns without a unit suffix are in ``units`` (or the row's ``units`` column);
        suffixed columns (``bilirubin_umol_l``) are in their own unit.
    scores
        Score names from :data:`SCORES`, as a list or comma-separated string.
    units
        ``"conventional"`` (default; mg/dL, g/dL) or ``"si"`` (µmol/L, g/L, urea mmol/L).
    options
        Per-score keyword options, e.g. ``{"meld_na": {"variant": "kim2008"}}`` or
        ``{"clif_of": {"missing_as_normal": True}}`` (``clif_of`` options also apply to
        ``aclf_grade`` and ``clif_c_aclf``).

    Returns
    -------
    ScoredCohort
        ``.table`` (inputs plus scores), ``.errors`` (row, field, value, unit, reason),
        ``.valid``, ``.summary``.

    Examples
    --------
    >>> cohort = example_cohort()
    >>> result = score_cohort(cohort, ["meld_3", "child_pugh"])
    >>> result.n_invalid
    0
    """
    names = _parse_scores(scores)
    options = dict(options or {})
    _check_options(options)
    problems = col.Problems()
    assumptions: list[str] = []
    frame = frame.reset_index(drop=True)
    is_si = col.row_systems(frame, units, problems)
    needed = {field for name in names for field in SCORE_INPUTS[name]}
    values = _read_inputs(frame, needed, is_si, problems, assumptions)
    organ_options = dict(options.get("clif_of", {}))
    if needed & set(_ORGAN_INPUTS[4:]):
        _check_organ_data(values, problems, bool(organ_options.get("missing_as_normal")))
    valid = ~problems.rows(len(frame))
    table = frame.copy()
    added: list[str] = []
    subset = {name: array[valid] for name, array in values.items()}
    for name in names:
        opts = organ_options if name in ("aclf_grade", "clif_c_aclf") else options.get(name, {})
        outputs = _OUTPUTS[name](subset, opts)
        for column, result in outputs.items():
            table[column] = _beside(np.asarray(result), valid)
            added.append(column)
    return ScoredCohort(
        table=table,
        errors=problems.frame(),
        scores=names,
        units=units,
        assumptions=tuple(dict.fromkeys(assumptions)),
        score_columns=tuple(dict.fromkeys(added)),
    )


def _beside(result: Any, valid: BoolArray) -> Any:
    """Scores of the valid rows placed in a full-length column (empty for invalid rows)."""
    if result.dtype.kind in "iub":
        column = pd.array([pd.NA] * valid.size, dtype="Int64")
        column[valid] = result
        return column
    if result.dtype.kind == "f":
        full = np.full(valid.size, np.nan)
        full[valid] = result
        return full
    text = np.full(valid.size, None, dtype=object)
    text[valid] = result
    return text


def example_cohort() -> pd.DataFrame:
    """The bundled synthetic cohort (~200 patients with cirrhosis or ACLF).

    Rows whose ``units`` column says ``si`` hold bilirubin and creatinine in µmol/L, albumin
    in g/L and urea in mmol/L; the others are conventional. The data are simulated by
    ``scripts/make_example_cohort.py`` (seeded) and describe no real person.
    """
    path = files("hepatrial") / "data" / "example_cohort.csv"
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)
