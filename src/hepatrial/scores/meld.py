"""The MELD family: UNOS/OPTN MELD, MELD-Na (OPTN 2016 and Kim 2008) and MELD 3.0.

Engines take conventional-unit float arrays (``*_mg_dl``, ``*_g_dl``) and never validate;
the public functions validate, convert quantities and choose scalar or array output.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import numpy as np

from hepatrial.scores._inputs import (
    HALF_UP_TOLERANCE,
    BoolArray,
    FloatArray,
    Number,
    all_scalar,
    blockwise_into,
    broadcast,
    clip_into,
    female,
    finish,
    flag,
    lab,
    unchecked_labs,
)

Rounding = Literal["optn", "continuous"]
MeldNaVariant = Literal["optn2016", "kim2008"]

MELD_CAP = 40.0
MELD3_FLOOR = 6.0


def _check_rounding(rounding: str) -> None:
    if rounding not in ("optn", "continuous"):
        raise ValueError(f"rounding={rounding!r} is not an option; use 'optn' or 'continuous'")


def _meld_into(
    outs: list[FloatArray],
    buffers: list[Any],
    bilirubin_mg_dl: FloatArray,
    inr: FloatArray,
    creatinine_mg_dl: FloatArray,
    dialysis: BoolArray,
) -> None:
    """Write continuous UNOS MELD into ``outs[0]``, its temporary in ``buffers[0]``.

    Evaluated as ``10 * (((0.957 ln Cr' + 0.378 ln Bili') + 1.120 ln INR') + 0.643)``, left to
    right, with ``clip(x, 1, inf)`` for ``max(x, 1)``.
    """
    score, term = outs[0], buffers[0]
    clip_into(creatinine_mg_dl, 1.0, 4.0, term)
    np.copyto(term, 4.0, where=dialysis)
    np.log(term, out=term)
    np.multiply(term, 0.957, out=score)
    for values, weight in ((bilirubin_mg_dl, 0.378), (inr, 1.120)):
        clip_into(values, 1.0, np.inf, term)
        np.log(term, out=term)
        term *= weight
        score += term
    score += 0.643
    score *= 10.0


def _round_half_up_into(values: FloatArray) -> None:
    """:func:`~hepatrial.scores._inputs.round_half_up` in place: ``floor(x + (0.5 + 1e-9))``."""
    values += 0.5 + HALF_UP_TOLERANCE
    np.floor(values, out=values)


def meld(
    *,
    bilirubin: Any,
    inr: Any,
    creatinine: Any,
    dialysis: Any = False,
    rounding: Rounding = "optn",
) -> Number:
    """UNOS/OPTN MELD score (the pre-2016 allocation MELD).

    Formula (OPTN policy; Kamath 2001 without the etiology term; Wiesner 2003)::

        Bili' = max(bilirubin, 1.0)           INR' = max(INR, 1.0)
        Cr'   = min(max(creatinine, 1.0), 4.0), and Cr' = 4.0 on dialysis
        MELD(i) = 0.957 ln(Cr') + 0.378 ln(Bili') + 1.120 ln(INR') + 0.643
        MELD    = min(round_half_up(10 * MELD(i)), 40)

    OPTN rounds MELD(i) to the tenth decimal place and multiplies by 10, which is rounding
    ``10 * MELD(i)`` half up to an integer. The range is 6 to 40.

    Parameters
    ----------
    bilirubin
        Serum total bilirubin, mg/dL (or a :class:`~hepatrial.units.Quantity`).
    inr
        International normalised ratio.
    creatinine
        Serum creatinine, mg/dL (or a quantity).
    dialysis
        True when the patient had at least two dialysis treatments, or 24 hours of continuous
        veno-venous haemodialysis (CVVHD), within the prior 7 days: creatinine is then set to
        4.0 mg/dL.
    rounding
        ``"optn"`` (default): the integer OPTN reports and allocates on, capped at 40; it is the
        default because trial eligibility and stratification rules are written against the
        official integer. ``"continuous"``: ``10 * MELD(i)`` unrounded and uncapped (floors, the
        creatinine cap and the dialysis rule still apply), for modelling.

    Returns
    -------
    float or numpy.ndarray
        A float for single values, an array for arrays.

    Raises
    ------
    UnitError
        If a lab value is missing or implausible in its unit.

    References
    ----------
    Kamath PS et al. Hepatology 2001;33:464-470. Wiesner R et al. Gastroenterology
    2003;124:91-96. OPTN Policy 9 (MELD calculation), as in force 2002-2016.

    Examples
    --------
    >>> meld(bilirubin=4.2, inr=1.2, creatinine=1.9)
    20.0
    >>> round(meld(bilirubin=4.2, inr=1.2, creatinine=1.9, rounding="continuous"), 4)
    20.0392
    """
    _check_rounding(rounding)
    scalar = all_scalar(bilirubin, inr, creatinine, dialysis)
    labs, bounds = unchecked_labs(0, bilirubin=bilirubin, inr=inr, creatinine=creatinine)
    bili, inr_, cr, dia = broadcast(*labs, flag(dialysis, "dialysis"))
    kernel = _meld_into if rounding == "continuous" else _meld_optn
    (result,) = blockwise_into(
        kernel,
        bili,
        inr_,
        cr,
        dia,
        outputs=(np.float64,),
        scratch=(np.float64,),
        bounds=bounds,
    )
    return finish(result, scalar)  # type: ignore[no-any-return]


def _meld_optn(outs: list[FloatArray], buffers: list[Any], *arrays: Any) -> None:
    _meld_into(outs, buffers, *arrays)
    _round_half_up_into(outs[0])
    np.minimum(outs[0], MELD_CAP, out=outs[0])


_MELD_NA_SCRATCH = (np.float64, np.float64, np.bool_)


def _sodium_into(
    score: FloatArray, sodium_mmol_l: FloatArray, variant: MeldNaVariant, buffers: list[Any]
) -> None:
    """Turn the MELD values in ``score`` into MELD-Na in place (see :func:`meld_na`).

    Evaluated left to right as written: ``(MELD + 1.32 dNa) - (0.033 MELD) dNa`` where MELD
    > 11 (OPTN 2016), ``((MELD - Na') - (0.025 MELD) dNa) + 140`` (Kim 2008).
    """
    gap, product, above_11 = buffers
    if variant == "optn2016":
        clip_into(sodium_mmol_l, 125.0, 137.0, gap)
        np.subtract(137.0, gap, out=gap)
        np.multiply(score, 0.033, out=product)
        product *= gap
        gap *= 1.32
        gap += score
        gap -= product
        np.greater(score, 11.0, out=above_11)
        np.copyto(score, gap, where=above_11)
        return
    sodium = gap
    clip_into(sodium_mmol_l, 125.0, 140.0, sodium)
    np.multiply(score, 0.025, out=product)
    score -= sodium
    np.subtract(140.0, sodium, out=gap)
    product *= gap
    score -= product
    score += 140.0


def meld_na(
    *,
    bilirubin: Any,
    inr: Any,
    creatinine: Any,
    sodium: Any,
    dialysis: Any = False,
    rounding: Rounding = "optn",
    variant: MeldNaVariant = "optn2016",
) -> Number:
    """MELD-Na: OPTN 2016 allocation score (default) or the Kim 2008 research formula.

    ``variant="optn2016"`` (default; OPTN policy notice 11/2015, in force January 2016 to
    July 2023)::

        MELD(i) = the integer UNOS MELD of :func:`meld` (floors, cap 4.0, dialysis, rounding)
        if MELD(i) > 11:
            Na' = clamp(sodium, 125, 137)
            MELD-Na = MELD(i) + 1.32 (137 - Na') - 0.033 MELD(i) (137 - Na')
        else:
            MELD-Na = MELD(i)                      (no sodium adjustment)
        result = min(round_half_up(MELD-Na), 40)

    ``variant="kim2008"`` (Kim WR et al. NEJM 2008)::

        MELD    = continuous UNOS MELD (floors, cap 4.0, dialysis; no rounding)
        Na'     = clamp(sodium, 125, 140)
        MELD-Na = MELD - Na' - 0.025 MELD (140 - Na') + 140      (for every MELD)

    Parameters
    ----------
    bilirubin, inr, creatinine, dialysis
        As for :func:`meld`.
    sodium
        Serum sodium, mmol/L (= mEq/L).
    rounding
        ``"optn"`` (default): round half up to an integer and cap at 40. ``"continuous"``: no
        final rounding or cap; for ``optn2016`` the sodium term is then applied to the
        continuous MELD and the MELD > 11 rule is tested on it.
    variant
        ``"optn2016"`` (default, the allocation formula) or ``"kim2008"``. The two are not
        interchangeable; several published packages label the Kim form "UNOS".

    Returns
    -------
    float or numpy.ndarray

    References
    ----------
    Kim WR et al. Hyponatremia and mortality among patients on the liver-transplant waiting
    list. N Engl J Med 2008;359:1018-1026. OPTN policy notice "Adding serum sodium to the MELD
    score" (effective 11 January 2016).

    Examples
    --------
    >>> meld_na(bilirubin=2.0, inr=1.8, creatinine=2.0, sodium=131)
    26.0
    >>> meld_na(bilirubin=1.0, inr=1.0, creatinine=1.0, sodium=125)  # MELD(i) 6 <= 11
    6.0
    """
    _check_rounding(rounding)
    if variant not in ("optn2016", "kim2008"):
        raise ValueError(f"variant={variant!r} is not an option; use 'optn2016' or 'kim2008'")
    scalar = all_scalar(bilirubin, inr, creatinine, sodium, dialysis)
    labs, bounds = unchecked_labs(
        0, bilirubin=bilirubin, inr=inr, creatinine=creatinine, sodium=sodium
    )
    bili, inr_, cr, na, dia = broadcast(*labs, flag(dialysis, "dialysis"))

    kernel = partial(_meld_na_into, variant=variant, rounding=rounding)
    (result,) = blockwise_into(
        kernel,
        bili,
        inr_,
        cr,
        na,
        dia,
        outputs=(np.float64,),
        scratch=_MELD_NA_SCRATCH,
        bounds=bounds,
    )
    return finish(result, scalar)  # type: ignore[no-any-return]


def _meld_na_into(
    outs: list[FloatArray],
    buffers: list[Any],
    bilirubin_mg_dl: FloatArray,
    inr: FloatArray,
    creatinine_mg_dl: FloatArray,
    sodium_mmol_l: FloatArray,
    dialysis: BoolArray,
    *,
    variant: MeldNaVariant,
    rounding: Rounding,
) -> None:
    """Write MELD-Na of one block into ``outs[0]``: MELD, its rounding, sodium, rounding."""
    score = outs[0]
    _meld_into(outs, buffers, bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis)
    if variant == "optn2016" and rounding == "optn":
        _round_half_up_into(score)
    _sodium_into(score, sodium_mmol_l, variant, buffers)
    if rounding == "optn":
        _round_half_up_into(score)
        np.minimum(score, MELD_CAP, out=score)


_MELD_3_BUFFERS = 3
"""Scratch arrays :func:`_meld_3_into` needs, each the length of its output."""


def _meld_3_into(
    outs: list[FloatArray],
    buffers: list[FloatArray],
    extra_points: BoolArray,
    bilirubin_mg_dl: FloatArray,
    sodium_mmol_l: FloatArray,
    inr: FloatArray,
    creatinine_mg_dl: FloatArray,
    albumin_g_dl: FloatArray,
    dialysis: BoolArray,
    *,
    constant: float = 6.0,
) -> None:
    """Write continuous MELD 3.0 into ``outs[0]``, every temporary in three ``buffers``.

    The terms are regrouped to save passes over large arrays (same equation)::

        6 + 1.33 F + ln(Bili') (4.56 - 0.24 dNa) + 0.82 dNa + 9.09 ln(INR')
          + ln(Cr') (11.14 - 1.83 dAlb) + 1.85 dAlb

    and added left to right, each term computed just before it is added so that three scratch
    arrays suffice; the result is continuous, after every input bound (no final rounding or
    6-40 bound). ``clip(x, 1, inf)`` is ``max(x, 1)``, and adding ``1.33 * F`` (0.0 or exactly
    1.33) is adding 1.33 where F.
    """
    score = outs[0]
    log_term, gap, product = buffers
    clip_into(bilirubin_mg_dl, 1.0, np.inf, log_term)
    np.log(log_term, out=log_term)
    clip_into(sodium_mmol_l, 125.0, 137.0, gap)
    np.subtract(137.0, gap, out=gap)
    np.multiply(gap, -0.24, out=score)
    score += 4.56
    score *= log_term
    gap *= 0.82
    score += gap
    clip_into(inr, 1.0, np.inf, log_term)
    np.log(log_term, out=log_term)
    log_term *= 9.09
    score += log_term
    clip_into(creatinine_mg_dl, 1.0, 3.0, log_term)
    np.copyto(log_term, 3.0, where=dialysis)
    np.log(log_term, out=log_term)
    clip_into(albumin_g_dl, 1.5, 3.5, gap)
    np.subtract(3.5, gap, out=gap)
    np.multiply(gap, -1.83, out=product)
    product += 11.14
    product *= log_term
    score += product
    gap *= 1.85
    score += gap
    score += constant
    np.multiply(extra_points, 1.33, out=product)
    score += product


def _adolescent(age: Any) -> BoolArray:
    if age is None:
        return np.zeros(1, dtype=bool)
    years = lab(age, "age")
    if (years < 12).any():
        first = float(years[np.flatnonzero(years < 12)[0]])
        raise ValueError(
            f"age={first:g} years: MELD 3.0 is defined from age 12; younger candidates are "
            "scored with PELD"
        )
    return np.asarray(years < 18, dtype=bool)


def meld_3(
    *,
    sex: Any,
    bilirubin: Any,
    sodium: Any,
    inr: Any,
    creatinine: Any,
    albumin: Any,
    dialysis: Any = False,
    age: Any = None,
    rounding: Rounding = "optn",
) -> Number:
    """MELD 3.0 (Kim et al. 2021; OPTN allocation score since 13 July 2023).

    Formula (OPTN Policy 9.1.D)::

        Bili' = max(bilirubin, 1.0)     INR' = max(INR, 1.0)
        Cr'   = min(max(creatinine, 1.0), 3.0), and Cr' = 3.0 on dialysis
        Na'   = clamp(sodium, 125, 137) Alb' = clamp(albumin, 1.5, 3.5)
        MELD 3.0 = 1.33 (if female)
                 + 4.56 ln(Bili') + 0.82 (137 - Na') - 0.24 (137 - Na') ln(Bili')
                 + 9.09 ln(INR') + 11.14 ln(Cr')
                 + 1.85 (3.5 - Alb') - 1.83 (3.5 - Alb') ln(Cr') + 6
        result = clamp(round_half_up(MELD 3.0), 6, 40)

    Parameters
    ----------
    sex
        ``"M"`` or ``"F"`` (also ``"male"``/``"female"``, any case).
    bilirubin, creatinine
        mg/dL (or quantities).
    sodium
        mmol/L.
    inr
        Ratio.
    albumin
        g/dL (or a quantity, e.g. ``g_per_l(30)``).
    dialysis
        At least two dialysis treatments or 24 hours of CVVHD in the prior 7 days: creatinine
        is set to 3.0 mg/dL.
    age
        Optional age in years. OPTN adds the 1.33 points to every candidate aged 12-17 whatever
        their sex; give ``age`` to apply that rule. Ages under 12 raise ``ValueError`` (PELD
        applies). Without ``age`` the candidate is taken to be an adult.
    rounding
        ``"optn"`` (default): nearest integer (half up), bounded to 6-40 as OPTN allocates.
        ``"continuous"``: the unrounded model value of Kim 2021 (input bounds applied, no 6-40
        bound).

    Returns
    -------
    float or numpy.ndarray

    References
    ----------
    Kim WR, Mannalithara A, Heimbach JK, et al. MELD 3.0: the Model for End-Stage Liver Disease
    updated for the modern era. Gastroenterology 2021;161:1887-1895.e4. OPTN policy notice
    "Improving liver allocation: MELD, PELD, Status 1A, Status 1B" (effective 13 July 2023).

    Examples
    --------
    >>> meld_3(sex="F", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0)
    22.0
    """
    _check_rounding(rounding)
    scalar = all_scalar(sex, bilirubin, sodium, inr, creatinine, albumin, dialysis, age)
    person = female(sex), _adolescent(age)
    labs, bounds = unchecked_labs(
        1, bilirubin=bilirubin, sodium=sodium, inr=inr, creatinine=creatinine, albumin=albumin
    )
    is_female, adolescent, bili, na, inr_, cr, alb, dia = broadcast(
        *person, *labs, flag(dialysis, "dialysis")
    )
    kernel = _meld_3_into if rounding == "continuous" else _meld_3_optn
    extra_points = is_female if age is None else is_female | adolescent
    (result,) = blockwise_into(
        kernel,
        extra_points,
        bili,
        na,
        inr_,
        cr,
        alb,
        dia,
        outputs=(np.float64,),
        scratch=(np.float64,) * _MELD_3_BUFFERS,
        bounds=bounds,
    )
    return finish(result, scalar)  # type: ignore[no-any-return]


def _meld_3_optn(outs: list[FloatArray], buffers: list[FloatArray], *arrays: Any) -> None:
    """OPTN MELD 3.0: the continuous value rounded half up and bounded to 6-40.

    The 0.5 (and the half-up tolerance) of :func:`round_half_up` is folded into the constant
    6 of the equation, then the value is floored: the same result in two fewer passes.
    """
    _meld_3_into(outs, buffers, *arrays, constant=6.0 + 0.5 + HALF_UP_TOLERANCE)
    score = outs[0]
    np.floor(score, out=score)
    clip_into(score, MELD3_FLOOR, MELD_CAP, score)
