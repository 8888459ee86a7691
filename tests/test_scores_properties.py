"""Properties of the scores (Hypothesis): monotone in every worsening lab, vectorized equals
scalar, SI input equals the converted conventional input, implausible input always raises.

Two published equations are not monotone everywhere, and the tests say so rather than hide it:
MELD 3.0 falls slightly as albumin falls once creatinine exceeds exp(1.85 / 1.83) = 2.748 mg/dL
(the albumin-creatinine interaction), and as sodium falls once bilirubin exceeds
exp(0.82 / 0.24) = 30.5 mg/dL (the sodium-bilirubin interaction).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import UnitError
from hepatrial.scores import (
    aarc,
    albi,
    child_pugh,
    clif_of,
    fib4,
    meld,
    meld_3,
    meld_na,
)
from hepatrial.units import Quantity, convert, plausible_range

FAST = settings(max_examples=60, deadline=None)


def _lab(low: float, high: float, places: int = 2) -> st.SearchStrategy[float]:
    """Lab values as laboratories report them: ``places`` decimals within [low, high]."""
    scale = 10**places
    return st.integers(int(math.ceil(low * scale)), int(high * scale)).map(lambda v: v / scale)


bilirubin = _lab(0.1, 60, 1)
creatinine = _lab(0.2, 12, 2)
inr = _lab(0.8, 8, 2)
sodium = _lab(110, 160, 0)
albumin = _lab(1.0, 5.5, 1)
sex = st.sampled_from(["M", "F"])


def _pair(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(strategy, strategy).map(lambda ab: (min(ab), max(ab)))


# --- monotone in each worsening lab ----------------------------------------------------------


@FAST
@given(_pair(bilirubin), _pair(creatinine), _pair(inr), sodium, st.booleans())
def test_meld_and_meld_na_monotone(
    b: tuple[float, float], c: tuple[float, float], i: tuple[float, float], na: float, dia: bool
) -> None:
    for rounding in ("optn", "continuous"):
        low = dict(bilirubin=b[0], creatinine=c[0], inr=i[0], dialysis=dia, rounding=rounding)
        for name, high in (("bilirubin", b[1]), ("creatinine", c[1]), ("inr", i[1])):
            worse = {**low, name: high}
            assert meld(**worse) >= meld(**low)  # type: ignore[arg-type]
            assert meld_na(**worse, sodium=na) >= meld_na(**low, sodium=na)  # type: ignore[arg-type]


@FAST
@given(bilirubin, creatinine, inr, _pair(sodium))
def test_meld_na_monotone_in_falling_sodium(
    b: float, c: float, i: float, na: tuple[float, float]
) -> None:
    kwargs = dict(bilirubin=b, creatinine=c, inr=i)
    assert meld_na(**kwargs, sodium=na[0]) >= meld_na(**kwargs, sodium=na[1])
    kim = dict(kwargs, variant="kim2008")
    assert meld_na(**kim, sodium=na[0]) >= meld_na(**kim, sodium=na[1])  # type: ignore[arg-type]


@FAST
@given(sex, _pair(_lab(0.1, 30, 1)), _pair(creatinine), _pair(inr), _pair(sodium), _pair(albumin))
def test_meld_3_monotone(
    s: str,
    b: tuple[float, float],
    c: tuple[float, float],
    i: tuple[float, float],
    na: tuple[float, float],
    alb: tuple[float, float],
) -> None:
    base = dict(
        sex=s, bilirubin=b[0], creatinine=min(c[0], 2.74), inr=i[0], sodium=na[1], albumin=alb[1]
    )
    worse_steps = {
        "bilirubin": b[1],
        "creatinine": c[1],
        "inr": i[1],
        "sodium": na[0],  # lower sodium is worse
        "albumin": alb[0],  # lower albumin is worse (creatinine kept <= 2.74, see module doc)
    }
    for rounding in ("optn", "continuous"):
        for name, value in worse_steps.items():
            before = meld_3(**base, rounding=rounding)  # type: ignore[arg-type]
            after = meld_3(**{**base, name: value}, rounding=rounding)  # type: ignore[arg-type]
            assert after >= before - 1e-12, name


def test_meld_3_documented_non_monotone_regions() -> None:
    # Creatinine 3.0 (ln 3 = 1.0986 > 1.85 / 1.83): albumin 1.5 scores below albumin 3.5.
    high_cr = dict(
        sex="M", bilirubin=2.0, sodium=135, inr=1.5, creatinine=3.0, rounding="continuous"
    )
    assert meld_3(**high_cr, albumin=1.5) < meld_3(**high_cr, albumin=3.5)  # type: ignore[arg-type]
    # Bilirubin 40 (ln 40 = 3.689 > 0.82 / 0.24): sodium 125 scores below sodium 137.
    high_bili = dict(
        sex="M", bilirubin=40.0, inr=1.5, creatinine=1.0, albumin=3.0, rounding="continuous"
    )
    assert meld_3(**high_bili, sodium=125) < meld_3(**high_bili, sodium=137)  # type: ignore[arg-type]


@FAST
@given(
    _pair(bilirubin),
    _pair(albumin),
    _pair(inr),
    _pair(st.integers(0, 2).map(float)),
    _pair(st.integers(0, 2).map(float)),
)
def test_child_pugh_monotone(
    b: tuple[float, float],
    alb: tuple[float, float],
    i: tuple[float, float],
    asc: tuple[float, float],
    he: tuple[float, float],
) -> None:
    base = dict(
        bilirubin=b[0], albumin=alb[1], inr=i[0], ascites=int(asc[0]), encephalopathy=int(he[0])
    )
    steps = dict(
        bilirubin=b[1], albumin=alb[0], inr=i[1], ascites=int(asc[1]), encephalopathy=int(he[1])
    )
    for name, value in steps.items():
        assert child_pugh(**{**base, name: value}).points >= child_pugh(**base).points  # type: ignore[arg-type]


@FAST
@given(_pair(bilirubin), _pair(albumin))
def test_albi_monotone(b: tuple[float, float], alb: tuple[float, float]) -> None:
    assert albi(bilirubin=b[1], albumin=alb[1]).score >= albi(bilirubin=b[0], albumin=alb[1]).score
    assert albi(bilirubin=b[0], albumin=alb[0]).score >= albi(bilirubin=b[0], albumin=alb[1]).score


@FAST
@given(_pair(_lab(18, 90, 0)), _pair(_lab(5, 500, 0)), _pair(_lab(5, 500, 0)))
def test_fib4_monotone_in_age_ast_and_falling_platelets(
    age: tuple[float, float], ast: tuple[float, float], plt: tuple[float, float]
) -> None:
    base = dict(age=age[0], ast=ast[0], alt=40, platelets=plt[1])
    for name, value in (("age", age[1]), ("ast", ast[1]), ("platelets", plt[0])):
        assert fib4(**{**base, name: value}) >= fib4(**base)  # type: ignore[arg-type]


@FAST
@given(
    _pair(bilirubin),
    _pair(creatinine),
    _pair(inr),
    _pair(st.integers(0, 4).map(float)),
    _pair(_lab(40, 120, 0)),
    _pair(_lab(80, 550, 0)),
)
def test_clif_of_and_aclf_grade_monotone(
    b: tuple[float, float],
    c: tuple[float, float],
    i: tuple[float, float],
    he: tuple[float, float],
    map_: tuple[float, float],
    ratio: tuple[float, float],
) -> None:
    base: dict[str, Any] = dict(
        bilirubin=b[0],
        creatinine=c[0],
        inr=i[0],
        he_grade=int(he[0]),
        mean_arterial_pressure=map_[1],
        pao2_fio2=ratio[1],
    )
    steps = dict(
        bilirubin=b[1],
        creatinine=c[1],
        inr=i[1],
        he_grade=int(he[1]),
        mean_arterial_pressure=map_[0],
        pao2_fio2=ratio[0],
    )
    before = clif_of(**base)
    for name, value in steps.items():
        after = clif_of(**{**base, name: value})
        assert after.score >= before.score, name
        assert after.n_failures >= before.n_failures, name


# --- vectorized equals scalar ----------------------------------------------------------------


@FAST
@given(
    st.lists(
        st.tuples(sex, bilirubin, creatinine, inr, sodium, albumin, st.booleans()),
        min_size=1,
        max_size=20,
    )
)
def test_vectorized_equals_scalar(rows: list[tuple[Any, ...]]) -> None:
    s, b, c, i, na, alb, dia = (list(column) for column in zip(*rows, strict=True))
    vector = {
        "meld": meld(bilirubin=b, creatinine=c, inr=i, dialysis=dia),
        "meld_na": meld_na(bilirubin=b, creatinine=c, inr=i, sodium=na, dialysis=dia),
        "meld_3": meld_3(
            sex=s, bilirubin=b, creatinine=c, inr=i, sodium=na, albumin=alb, dialysis=dia
        ),
        "child_pugh": child_pugh(
            bilirubin=b, albumin=alb, inr=i, ascites=0, encephalopathy=1
        ).points,
        "albi": albi(bilirubin=b, albumin=alb).score,
        "aarc": aarc(bilirubin=b, he_grade=1, inr=i, lactate=2.0, creatinine=c).score,
    }
    for k, row in enumerate(rows):
        s1, b1, c1, i1, na1, alb1, dia1 = row
        assert vector["meld"][k] == meld(bilirubin=b1, creatinine=c1, inr=i1, dialysis=dia1)
        assert vector["meld_na"][k] == meld_na(
            bilirubin=b1, creatinine=c1, inr=i1, sodium=na1, dialysis=dia1
        )
        assert vector["meld_3"][k] == meld_3(
            sex=s1, bilirubin=b1, creatinine=c1, inr=i1, sodium=na1, albumin=alb1, dialysis=dia1
        )
        assert (
            vector["child_pugh"][k]
            == child_pugh(bilirubin=b1, albumin=alb1, inr=i1, ascites=0, encephalopathy=1).points
        )
        assert vector["albi"][k] == albi(bilirubin=b1, albumin=alb1).score
        assert (
            vector["aarc"][k]
            == aarc(bilirubin=b1, he_grade=1, inr=i1, lactate=2.0, creatinine=c1).score
        )


# --- SI input equals the converted conventional input ----------------------------------------


def _si(value: float, analyte: str) -> Quantity:
    unit = {"bilirubin": "µmol/L", "creatinine": "µmol/L", "albumin": "g/L"}[analyte]
    return Quantity(
        convert(value, analyte, "mg/dL" if analyte != "albumin" else "g/dL", unit), unit
    )


@FAST
@given(sex, bilirubin, creatinine, inr, sodium, albumin)
def test_si_input_equals_conventional_input(
    s: str, b: float, c: float, i: float, na: float, alb: float
) -> None:
    si_b, si_c, si_alb = _si(b, "bilirubin"), _si(c, "creatinine"), _si(alb, "albumin")
    assert meld(bilirubin=si_b, creatinine=si_c, inr=i) == meld(bilirubin=b, creatinine=c, inr=i)
    assert meld_3(
        sex=s, bilirubin=si_b, creatinine=si_c, inr=i, sodium=na, albumin=si_alb
    ) == meld_3(sex=s, bilirubin=b, creatinine=c, inr=i, sodium=na, albumin=alb)
    cp_si = child_pugh(bilirubin=si_b, albumin=si_alb, inr=i, ascites=1, encephalopathy=0)
    cp = child_pugh(bilirubin=b, albumin=alb, inr=i, ascites=1, encephalopathy=0)
    assert cp_si.points == cp.points
    assert albi(bilirubin=si_b, albumin=si_alb).score == pytest.approx(
        albi(bilirubin=b, albumin=alb).score, abs=1e-9
    )


# --- implausible values always raise UnitError -----------------------------------------------

ANALYTE_ARGS = {
    "bilirubin": dict(inr=1.0, creatinine=1.0),
    "creatinine": dict(bilirubin=1.0, inr=1.0),
    "inr": dict(bilirubin=1.0, creatinine=1.0),
}


def _outside(analyte: str) -> st.SearchStrategy[float]:
    low, high = plausible_range(analyte)
    below = st.floats(min_value=-1e6, max_value=low, exclude_max=True, allow_nan=False)
    above = st.floats(min_value=high, max_value=1e9, exclude_min=True, allow_nan=False)
    return below | above


@FAST
@given(st.sampled_from(sorted(ANALYTE_ARGS)), st.data())
def test_implausible_always_raises(analyte: str, data: st.DataObject) -> None:
    value = data.draw(_outside(analyte))
    with pytest.raises(UnitError, match=analyte):
        meld(**{analyte: value}, **ANALYTE_ARGS[analyte])  # type: ignore[arg-type]
    with pytest.raises(UnitError, match=rf"{analyte}\[1\]"):
        meld(**{analyte: np.array([1.0, value])}, **ANALYTE_ARGS[analyte])  # type: ignore[arg-type]


@FAST
@given(_outside("albumin"), _outside("sodium"), _outside("platelets"))
def test_implausible_albumin_sodium_platelets_raise(alb: float, na: float, plt: float) -> None:
    kwargs = dict(sex="F", bilirubin=1.0, inr=1.0, creatinine=1.0)
    with pytest.raises(UnitError, match="albumin"):
        meld_3(**kwargs, sodium=135, albumin=alb)
    with pytest.raises(UnitError, match="sodium"):
        meld_3(**kwargs, sodium=na, albumin=3.5)
    with pytest.raises(UnitError, match="platelets"):
        fib4(age=50, ast=40, alt=30, platelets=plt)


@FAST
@given(st.sampled_from([np.inf, -np.inf, np.nan]))
def test_non_finite_values_raise(value: float) -> None:
    with pytest.raises(UnitError):
        meld(bilirubin=value, inr=1.0, creatinine=1.0)
