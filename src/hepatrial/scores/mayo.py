"""Mayo risk score for primary biliary cholangitis (Dickson 1989)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepatrial.exceptions import UnitError
from hepatrial.scores._inputs import FloatArray, Number, all_scalar, broadcast, finish, lab

EDEMA_WORDS = {
    "none": 0.0,
    "absent": 0.0,
    "no": 0.0,
    "untreated": 0.5,
    "resolved": 0.5,
    "controlled": 0.5,
    "despite diuretics": 1.0,
    "refractory": 1.0,
}
"""Words accepted for edema: 0 none; 0.5 untreated or resolved; 1 despite diuretics."""


def _edema(value: Any) -> FloatArray:
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind in "iuf":
        codes = array.astype(np.float64)
    else:
        words = [str(v).strip().lower() for v in array.tolist()]
        codes = np.array([EDEMA_WORDS.get(w, np.nan) for w in words], dtype=np.float64)
    ok = np.isin(codes, (0.0, 0.5, 1.0))
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        raise UnitError(
            f"edema={array[first].item()!r} is not an edema code; use 0 (none), 0.5 (untreated or "
            "resolved with diuretics) or 1 (despite diuretics)"
        )
    return codes


def mayo_pbc_engine(
    age_years: FloatArray,
    bilirubin_mg_dl: FloatArray,
    albumin_g_dl: FloatArray,
    prothrombin_time_s: FloatArray,
    edema: FloatArray,
) -> FloatArray:
    """The Mayo PBC risk score R from conventional units."""
    return np.asarray(
        0.871 * np.log(bilirubin_mg_dl)
        - 2.53 * np.log(albumin_g_dl)
        + 0.039 * age_years
        + 2.38 * np.log(prothrombin_time_s)
        + 0.859 * edema,
        dtype=np.float64,
    )


def mayo_pbc(
    *, age: Any, bilirubin: Any, albumin: Any, prothrombin_time: Any, edema: Any
) -> Number:
    """Mayo risk score R for primary biliary cholangitis (natural history model).

    Formula (Dickson 1989; natural logarithms; no clamps, no rounding)::

        R = 0.871 ln(bilirubin [mg/dL]) - 2.53 ln(albumin [g/dL]) + 0.039 age [years]
            + 2.38 ln(prothrombin time [s]) + 0.859 edema

    Parameters
    ----------
    age
        Years.
    bilirubin
        Serum total bilirubin, mg/dL or a quantity.
    albumin
        Serum albumin, g/dL or a quantity.
    prothrombin_time
        Prothrombin time in seconds (not the INR).
    edema
        0 no edema; 0.5 edema without diuretics or resolved by diuretics; 1 edema despite
        diuretic therapy (or the words in :data:`EDEMA_WORDS`).

    Returns
    -------
    float or numpy.ndarray
        The risk score R.

    References
    ----------
    Dickson ER, Grambsch PM, Fleming TR, Fisher LD, Langworthy A. Prognosis in primary
    biliary cirrhosis: model for decision making. Hepatology 1989;10:1-7.

    Examples
    --------
    >>> round(mayo_pbc(age=50, bilirubin=1.0, albumin=3.5, prothrombin_time=10.0, edema=0), 3)
    4.261
    """
    scalar = all_scalar(age, bilirubin, albumin, prothrombin_time, edema)
    arrays = broadcast(
        lab(age, "age"),
        lab(bilirubin, "bilirubin"),
        lab(albumin, "albumin"),
        lab(prothrombin_time, "prothrombin_time"),
        _edema(edema),
    )
    return finish(mayo_pbc_engine(*arrays), scalar)  # type: ignore[no-any-return]
