"""Laboratory units: analytes, conversions, quantities and plausibility checks.

Lab values cross hepatrial's edges with units. Inside the score engines every value is held in
the *conventional US unit* of its analyte (bilirubin and creatinine in mg/dL, albumin in g/dL,
blood urea nitrogen in mg/dL, ...). This module owns

* the analytes hepatrial knows, their conventional and SI units and every accepted spelling
  (``"µmol/L"``, ``"μmol/L"`` and ``"umol/L"`` are the same unit);
* the conversion factors (bilirubin 17.1, creatinine 88.4, albumin 10, urea 0.357, lactate 9.01);
* a small :class:`Quantity` (a value or an array of values with a unit) for score inputs;
* plausibility ranges and :func:`check_plausible`, which raises
  :class:`~hepatrial.exceptions.UnitError` naming the field, the value, the unit, the allowed
  range and the likely unit mix-up.

It imports nothing from the rest of hepatrial except the exceptions.

Examples
--------
>>> from hepatrial.units import convert, umol_per_l
>>> round(convert(18, "bilirubin", "umol/L", "mg/dL"), 2)
1.05
>>> umol_per_l(18)
Quantity(value=18, unit='µmol/L')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hepatrial.exceptions import UnitError

FloatArray = npt.NDArray[np.float64]
UnitSystem = Literal["conventional", "si"]

BILIRUBIN_MG_DL_TO_UMOL_L = 17.1
CREATININE_MG_DL_TO_UMOL_L = 88.4
ALBUMIN_G_DL_TO_G_L = 10.0
BUN_MG_DL_TO_UREA_MMOL_L = 0.357
UREA_MG_DL_PER_MMOL_L = 6.006
LACTATE_MG_DL_PER_MMOL_L = 9.01


@dataclass(frozen=True)
class _Analyte:
    """One analyte: its units (factor = conventional units per one of that unit) and range."""

    name: str
    conventional: str
    si: str
    factors: dict[str, float]
    low: float
    high: float
    description: str


def _key(unit: str) -> str:
    """Normalise a unit spelling: lower case, no spaces, micro sign and Greek mu as ``u``."""
    text = unit.strip().lower().replace("\u00b5", "u").replace("\u03bc", "u")
    text = text.replace(" ", "").replace("×", "x").replace("**", "^")
    for prefix in ("x10^", "x10e", "10e"):
        if text.startswith(prefix):
            text = "10^" + text[len(prefix) :]
    return {
        "iu/l": "u/l",
        "meq/l": "mmol/l",
        "ug/l": "ng/ml",
        "10^3/ul": "10^9/l",
        "10^3/mm3": "10^9/l",
        "k/ul": "10^9/l",
        "thou/ul": "10^9/l",
        "/nl": "10^9/l",
        "cells/ul": "/ul",
        "/mm3": "/ul",
        "cells/mm3": "/ul",
        "": "ratio",
        "1": "ratio",
        "inr": "ratio",
        "year": "years",
        "y": "years",
        "s": "seconds",
        "sec": "seconds",
        "second": "seconds",
        "mmhg": "mmHg",
    }.get(text, text)


_DISPLAY = {
    "mg/dl": "mg/dL",
    "umol/l": "µmol/L",
    "g/dl": "g/dL",
    "g/l": "g/L",
    "mmol/l": "mmol/L",
    "10^9/l": "10^9/L",
    "/ul": "cells/µL",
    "u/l": "U/L",
    "ng/ml": "ng/mL",
    "ratio": "ratio",
    "years": "years",
    "seconds": "seconds",
    "mmHg": "mmHg",
    "mg/dlurea": "mg/dL urea",
    "kpa": "kPa",
}

_COUNTS = {"10^9/l": 1.0, "/ul": 1e-3}


def _a(
    name: str,
    conventional: str,
    si: str,
    factors: dict[str, float],
    low: float,
    high: float,
    description: str,
) -> _Analyte:
    return _Analyte(name, conventional, si, factors, low, high, description)


_ANALYTES: dict[str, _Analyte] = {
    a.name: a
    for a in (
        _a(
            "bilirubin",
            "mg/dl",
            "umol/l",
            {"mg/dl": 1.0, "umol/l": 1 / BILIRUBIN_MG_DL_TO_UMOL_L},
            0.1,
            80.0,
            "serum total bilirubin",
        ),
        _a(
            "creatinine",
            "mg/dl",
            "umol/l",
            {"mg/dl": 1.0, "umol/l": 1 / CREATININE_MG_DL_TO_UMOL_L},
            0.1,
            25.0,
            "serum creatinine",
        ),
        _a(
            "albumin",
            "g/dl",
            "g/l",
            {"g/dl": 1.0, "g/l": 1 / ALBUMIN_G_DL_TO_G_L},
            0.5,
            7.0,
            "serum albumin",
        ),
        _a("sodium", "mmol/l", "mmol/l", {"mmol/l": 1.0}, 100.0, 180.0, "serum sodium"),
        _a("inr", "ratio", "ratio", {"ratio": 1.0}, 0.5, 25.0, "international normalised ratio"),
        _a("platelets", "10^9/l", "10^9/l", _COUNTS, 1.0, 2000.0, "platelet count"),
        _a("wbc", "10^9/l", "10^9/l", _COUNTS, 0.1, 500.0, "white blood cell count"),
        _a("neutrophils", "10^9/l", "10^9/l", _COUNTS, 0.01, 300.0, "neutrophil count"),
        _a("ast", "u/l", "u/l", {"u/l": 1.0}, 1.0, 30000.0, "aspartate aminotransferase"),
        _a("alt", "u/l", "u/l", {"u/l": 1.0}, 1.0, 30000.0, "alanine aminotransferase"),
        _a("ast_uln", "u/l", "u/l", {"u/l": 1.0}, 5.0, 200.0, "upper limit of normal of AST"),
        _a(
            "urea",
            "mg/dl",
            "mmol/l",
            {
                "mg/dl": 1.0,
                "mmol/l": 1 / BUN_MG_DL_TO_UREA_MMOL_L,
                "mg/dlurea": 1 / (UREA_MG_DL_PER_MMOL_L * BUN_MG_DL_TO_UREA_MMOL_L),
            },
            1.0,
            300.0,
            "blood urea nitrogen (mg/dL) or urea (mmol/L)",
        ),
        _a(
            "lactate",
            "mmol/l",
            "mmol/l",
            {"mmol/l": 1.0, "mg/dl": 1 / LACTATE_MG_DL_PER_MMOL_L},
            0.1,
            30.0,
            "blood lactate",
        ),
        _a("ha", "ng/ml", "ng/ml", {"ng/ml": 1.0}, 1.0, 10000.0, "hyaluronic acid"),
        _a(
            "piiinp",
            "ng/ml",
            "ng/ml",
            {"ng/ml": 1.0},
            0.5,
            1000.0,
            "amino-terminal propeptide of type III procollagen",
        ),
        _a(
            "timp1",
            "ng/ml",
            "ng/ml",
            {"ng/ml": 1.0},
            10.0,
            10000.0,
            "tissue inhibitor of metalloproteinases 1",
        ),
        _a("age", "years", "years", {"years": 1.0}, 0.0, 120.0, "age"),
        _a(
            "prothrombin_time",
            "seconds",
            "seconds",
            {"seconds": 1.0},
            5.0,
            150.0,
            "prothrombin time",
        ),
        _a(
            "mean_arterial_pressure",
            "mmHg",
            "mmHg",
            {"mmHg": 1.0},
            10.0,
            250.0,
            "mean arterial pressure",
        ),
        _a("pao2_fio2", "mmHg", "mmHg", {"mmHg": 1.0}, 20.0, 800.0, "PaO2/FiO2 ratio"),
        _a("spo2_fio2", "ratio", "ratio", {"ratio": 1.0}, 50.0, 500.0, "SpO2/FiO2 ratio"),
        _a(
            "liver_stiffness",
            "kpa",
            "kpa",
            {"kpa": 1.0},
            2.0,
            75.0,
            "liver stiffness by transient elastography (FibroScan reads up to 75 kPa)",
        ),
    )
}

ANALYTES: tuple[str, ...] = tuple(_ANALYTES)
"""Names of every analyte hepatrial knows, as used in keyword arguments and CSV columns."""


@dataclass(frozen=True)
class Quantity:
    """A laboratory value (a number or an array) together with its unit.

    Parameters
    ----------
    value
        A number, a sequence, a numpy array or a pandas Series.
    unit
        Any accepted spelling of the unit, for example ``"µmol/L"`` or ``"umol/L"``.

    Examples
    --------
    >>> from hepatrial.scores import meld
    >>> meld(bilirubin=Quantity(34.2, "µmol/L"), inr=1.5, creatinine=Quantity(88.4, "umol/L"))
    14.0
    """

    value: Any
    unit: str

    def to(self, analyte: str, unit: str) -> float | FloatArray:
        """The value of this quantity of ``analyte`` expressed in ``unit``."""
        return convert(self.value, analyte, self.unit, unit)


def mg_per_dl(value: Any) -> Quantity:
    """A quantity in mg/dL (bilirubin, creatinine, blood urea nitrogen)."""
    return Quantity(value, "mg/dL")


def umol_per_l(value: Any) -> Quantity:
    """A quantity in µmol/L (bilirubin, creatinine)."""
    return Quantity(value, "µmol/L")


def g_per_dl(value: Any) -> Quantity:
    """A quantity in g/dL (albumin)."""
    return Quantity(value, "g/dL")


def g_per_l(value: Any) -> Quantity:
    """A quantity in g/L (albumin)."""
    return Quantity(value, "g/L")


def mmol_per_l(value: Any) -> Quantity:
    """A quantity in mmol/L (sodium, urea, lactate)."""
    return Quantity(value, "mmol/L")


def per_nl(value: Any) -> Quantity:
    """A cell count in 10^9/L (= 10^3/µL): platelets, white cells, neutrophils."""
    return Quantity(value, "10^9/L")


def _analyte(name: str) -> _Analyte:
    try:
        return _ANALYTES[name]
    except KeyError:
        known = ", ".join(ANALYTES)
        raise UnitError(f"unknown analyte {name!r}; hepatrial knows: {known}") from None


def _factor(analyte: _Analyte, unit: str) -> float:
    key = _key(unit)
    if key not in analyte.factors:
        accepted = ", ".join(_DISPLAY.get(k, k) for k in analyte.factors)
        raise UnitError(f"unit {unit!r} is not a unit of {analyte.name}; accepted: {accepted}")
    return analyte.factors[key]


def display_unit(unit: str) -> str:
    """The canonical spelling of ``unit`` (``"umol/l"`` -> ``"µmol/L"``)."""
    key = _key(unit)
    return _DISPLAY.get(key, unit)


def conventional_unit(analyte: str) -> str:
    """The conventional US unit of ``analyte``; plain numbers given to scores are in this unit."""
    return _DISPLAY[_analyte(analyte).conventional]


def si_unit(analyte: str) -> str:
    """The SI unit of ``analyte`` (µmol/L for bilirubin and creatinine, g/L for albumin, ...)."""
    return _DISPLAY[_analyte(analyte).si]


def system_unit(analyte: str, units: UnitSystem) -> str:
    """The unit of ``analyte`` in the unit system ``"conventional"`` or ``"si"``."""
    if units == "conventional":
        return conventional_unit(analyte)
    if units == "si":
        return si_unit(analyte)
    raise UnitError(f"units={units!r} is not a unit system; use 'conventional' or 'si'")


def accepted_units(analyte: str) -> tuple[str, ...]:
    """Canonical spellings of every unit accepted for ``analyte``."""
    return tuple(_DISPLAY.get(k, k) for k in _analyte(analyte).factors)


def convert(value: Any, analyte: str, from_unit: str, to_unit: str) -> float | FloatArray:
    """Convert ``value`` of ``analyte`` from ``from_unit`` to ``to_unit``.

    Factors: bilirubin µmol/L = mg/dL × 17.1; creatinine µmol/L = mg/dL × 88.4; albumin
    g/L = g/dL × 10; urea mmol/L = BUN mg/dL × 0.357 and urea mg/dL = urea mmol/L × 6.006;
    lactate mg/dL = mmol/L × 9.01; counts 10^9/L = 10^3/µL = cells/µL ÷ 1000; sodium
    mmol/L = mEq/L; ELF analytes ng/mL = µg/L.

    Parameters
    ----------
    value
        A number (gives a float) or an array-like (gives a float array).
    analyte
        One of :data:`ANALYTES`, for example ``"bilirubin"``.
    from_unit, to_unit
        Any accepted spelling of a unit of the analyte.

    Returns
    -------
    float or numpy.ndarray
        The converted value, unrounded.

    Raises
    ------
    UnitError
        If the analyte or a unit is unknown.

    Examples
    --------
    >>> round(convert(270, "creatinine", "µmol/L", "mg/dL"), 1)
    3.1
    >>> convert(3.5, "albumin", "g/dL", "g/L")
    35.0
    """
    spec = _analyte(analyte)
    factor = _factor(spec, from_unit) / _factor(spec, to_unit)
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return float(array) * factor
    return array * factor


def to_conventional(value: Any, analyte: str, unit: str | None = None) -> FloatArray:
    """``value`` (a number, array or :class:`Quantity`) as a float array in the conventional unit.

    A :class:`Quantity` carries its own unit; otherwise ``unit`` (default: conventional) applies.
    The result always has at least one dimension.
    """
    if isinstance(value, Quantity):
        if unit is not None:
            raise UnitError(f"{analyte} is a Quantity in {value.unit}; do not give unit={unit!r}")
        value, unit = value.value, value.unit
    spec = _analyte(analyte)
    factor = 1.0 if unit is None else _factor(spec, unit)
    array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if factor == 1.0:
        return array
    # Round away the last-bit noise of the conversion so that 34.2 µmol/L is exactly 2 mg/dL
    # and lands in the same score band as a typed 2.0.
    return np.round(array * factor, 12)


def plausible_range(analyte: str, unit: str | None = None) -> tuple[float, float]:
    """The plausible (low, high) of ``analyte`` in ``unit`` (default: conventional), inclusive."""
    spec = _analyte(analyte)
    factor = 1.0 if unit is None else _factor(spec, unit)
    return spec.low / factor, spec.high / factor


def plausible_mask(conventional: FloatArray, analyte: str) -> npt.NDArray[np.bool_]:
    """True where a conventional-unit value is a number inside the analyte's plausible range."""
    spec = _analyte(analyte)
    with np.errstate(invalid="ignore"):
        return (conventional >= spec.low) & (conventional <= spec.high)


def _fmt(x: float) -> str:
    """A number as people write it: ``88``, ``1.5``, ``0.045``."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"


def _fmt_converted(x: float) -> str:
    """A converted value to two significant digits, never a bare integer below 100."""
    if abs(x) >= 100:
        return f"{x:.0f}"
    text = f"{x:.2g}"
    return text if ("." in text or "e" in text) else text + ".0"


def mix_up_hint(value: float, analyte: str, unit: str) -> str:
    """The unit the number was probably meant in, or an empty string.

    >>> mix_up_hint(88, "creatinine", "mg/dL")
    '88 µmol/L would be 1.0 mg/dL'
    """
    spec = _analyte(analyte)
    given = _key(unit)
    given_factor = _factor(spec, unit)
    for key, factor in spec.factors.items():
        if key == given or factor == given_factor:
            continue
        as_conventional = value * factor
        if spec.low <= as_conventional <= spec.high:
            shown = as_conventional / given_factor
            converted = f"{_fmt_converted(shown)} {display_unit(unit)}"
            return f"{_fmt(value)} {_DISPLAY[key]} would be {converted}"
    return ""


def implausible_message(value: float, analyte: str, unit: str | None, field: str) -> str:
    """The message for one implausible or missing ``value`` given in ``unit``."""
    spec = _analyte(analyte)
    unit = unit or _DISPLAY[spec.conventional]
    shown = display_unit(unit)
    if math.isnan(value):
        return f"{field} is missing (NaN); a {spec.description} in {shown} is required"
    if not math.isfinite(value):
        return f"{field}={value} {shown} is not a finite number"
    low, high = plausible_range(analyte, unit)
    message = (
        f"{field}={_fmt(value)} {shown} is implausible (allowed {_fmt(low)}-{_fmt(high)} {shown})"
    )
    hint = mix_up_hint(value, analyte, unit)
    return f"{message}; {hint}" if hint else f"{message}; check the value and its unit"


def check_plausible(
    value: Any, analyte: str, unit: str | None = None, *, field: str | None = None
) -> FloatArray:
    """Validate ``value`` and return it as a conventional-unit float array (at least 1-D).

    Parameters
    ----------
    value
        A number, array-like, pandas Series or :class:`Quantity`.
    analyte
        One of :data:`ANALYTES`.
    unit
        The unit of a plain ``value``; default the conventional unit. Ignored for quantities,
        which carry their own.
    field
        The name used in messages; default the analyte name.

    Raises
    ------
    UnitError
        If any value is missing or outside the plausible range. For arrays the message names
        the first offending index and how many values are implausible, for example
        ``"creatinine[3]=88 mg/dL is implausible (allowed 0.1-25 mg/dL);
        88 µmol/L would be 1.0 mg/dL (2 of 500 values are missing or implausible)"``.

    Examples
    --------
    >>> check_plausible(88, "creatinine")
    Traceback (most recent call last):
    ...
    hepatrial.exceptions.UnitError: creatinine=88 mg/dL is implausible (allowed 0.1-25 mg/dL); \
88 µmol/L would be 1.0 mg/dL
    """
    if isinstance(value, Quantity):
        raw, unit = value.value, value.unit
    else:
        raw = value
    name = field or analyte
    try:
        given = np.atleast_1d(np.asarray(raw, dtype=np.float64))
    except (TypeError, ValueError):
        raise UnitError(f"{name}={raw!r} is not a number (or an array of numbers)") from None
    conventional = to_conventional(given, analyte, unit)
    spec = _analyte(analyte)
    # Fast path: two reductions, no temporary arrays (min and max are NaN if any value is).
    if conventional.size and conventional.min() >= spec.low and conventional.max() <= spec.high:
        return conventional
    ok = plausible_mask(conventional, analyte)
    bad = np.flatnonzero(~ok.ravel())
    if not bad.size:  # an empty input
        return conventional
    first = int(bad[0])
    is_array = np.ndim(raw) > 0
    label = f"{name}[{first}]" if is_array else name
    message = implausible_message(float(given.ravel()[first]), analyte, unit, label)
    if is_array:
        message += f" ({bad.size} of {given.size} values are missing or implausible)"
    raise UnitError(message)
