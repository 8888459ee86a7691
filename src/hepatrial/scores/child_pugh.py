"""Child-Turcotte-Pugh score: points per item and class A/B/C."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from hepatrial.scores._inputs import (
    BoolArray,
    Bound,
    FloatArray,
    IntArray,
    all_scalar,
    blockwise_into,
    broadcast,
    finish,
    grade_bound,
    lab,
    lab_bounds,
    ordinal,
)

AlbuminBand = Literal["pugh1973", "harrison"]
BilirubinBands = Literal["standard", "cholestatic"]

ASCITES_WORDS = {
    "none": 0,
    "absent": 0,
    "no": 0,
    "slight": 1,
    "mild": 1,
    "controlled": 1,
    "moderate": 2,
    "severe": 2,
    "moderate-severe": 2,
    "moderate to severe": 2,
    "tense": 2,
    "refractory": 2,
}
"""Words accepted for ascites: 0 none, 1 slight/mild, 2 moderate-severe.

Pugh's table reads absent / slight / moderate, so "moderate" scores 3 points."""

ENCEPHALOPATHY_WORDS = {
    "none": 0,
    "absent": 0,
    "no": 0,
    "mild": 1,
    "grade 1": 1,
    "grade 2": 1,
    "grade 1-2": 1,
    "minimal": 1,
    "severe": 2,
    "moderate-severe": 2,
    "grade 3": 2,
    "grade 4": 2,
    "grade 3-4": 2,
    "advanced": 2,
}
"""Words accepted for encephalopathy: 0 none, 1 grade 1-2, 2 grade 3-4 (West Haven)."""


@dataclass(frozen=True)
class ChildPughResult:
    """Child-Pugh points and class; scalars for one patient, arrays for many.

    Attributes
    ----------
    points
        Total, 5-15.
    class_
        ``"A"`` (5-6), ``"B"`` (7-9) or ``"C"`` (10-15).
    bilirubin_points, albumin_points, inr_points, ascites_points, encephalopathy_points
        Points (1-3) of each item.
    """

    points: Any
    class_: Any
    bilirubin_points: Any
    albumin_points: Any
    inr_points: Any
    ascites_points: Any
    encephalopathy_points: Any

    @property
    def summary(self) -> pd.DataFrame:
        """One row per patient: the item points, the total and the class."""
        return pd.DataFrame(
            {
                "bilirubin_points": np.atleast_1d(self.bilirubin_points),
                "albumin_points": np.atleast_1d(self.albumin_points),
                "inr_points": np.atleast_1d(self.inr_points),
                "ascites_points": np.atleast_1d(self.ascites_points),
                "encephalopathy_points": np.atleast_1d(self.encephalopathy_points),
                "points": np.atleast_1d(self.points),
                "class": np.atleast_1d(self.class_),
            }
        )

    def __repr__(self) -> str:
        if np.ndim(self.points) == 0:
            return f"ChildPughResult(points={self.points}, class_={self.class_!r})"
        return f"ChildPughResult({np.size(self.points)} patients)"


Int8Array = npt.NDArray[np.int8]


def _three_bands_into(
    points: Int8Array,
    values: FloatArray,
    low: float,
    high: float,
    at_least_low: BoolArray,
    above_high: BoolArray,
) -> None:
    """1 below ``low``, 2 from ``low`` to ``high`` inclusive, 3 above ``high``, into ``points``.

    The two comparisons are added as int8 views of the boolean arrays (0 or 1 each).
    """
    np.greater_equal(values, low, out=at_least_low)
    np.greater(values, high, out=above_high)
    np.add(at_least_low.view(np.int8), above_high.view(np.int8), out=points)
    points += 1


def _grade_points_into(points: Int8Array, grade: IntArray) -> None:
    """Grade 0, 1, 2 (already checked) as 1, 2, 3 points."""
    np.copyto(points, grade, casting="unsafe")
    points += 1


_CLASS_B_FROM, _CLASS_C_FROM = 7, 10
"""Class A is 5-6 points, B 7-9, C 10-15."""


def _child_pugh_into(
    outs: list[npt.NDArray[Any]],
    buffers: list[npt.NDArray[Any]],
    bilirubin_mg_dl: FloatArray,
    albumin_g_dl: FloatArray,
    inr: FloatArray,
    ascites: IntArray,
    encephalopathy: IntArray,
    *,
    bilirubin_edges: tuple[float, float],
    albumin_low: float,
) -> None:
    """Write the total (int64), class code points and item points (int8) of one block."""
    points, class_codes, bili, alb, inr_points, asc, he = outs
    first, second, total = buffers
    _three_bands_into(bili, bilirubin_mg_dl, *bilirubin_edges, first, second)
    np.less_equal(albumin_g_dl, 3.5, out=first)
    np.less(albumin_g_dl, albumin_low, out=second)
    np.add(first.view(np.int8), second.view(np.int8), out=alb)
    alb += 1
    _three_bands_into(inr_points, inr, 1.7, 2.3, first, second)
    _grade_points_into(asc, ascites)
    _grade_points_into(he, encephalopathy)
    np.add(bili, alb, out=total)
    total += inr_points
    total += asc
    total += he
    np.copyto(points, total)
    np.greater_equal(total, _CLASS_B_FROM, out=first)
    np.greater_equal(total, _CLASS_C_FROM, out=second)
    letter = total.view(np.uint8)
    np.add(first.view(np.uint8), second.view(np.uint8), out=letter)
    np.add(letter, ord("A"), out=class_codes)


_OUTPUTS = (np.int64, "<u4", np.int8, np.int8, np.int8, np.int8, np.int8)
_SCRATCH = (np.bool_, np.bool_, np.int8)


def child_pugh_engine(
    bilirubin_mg_dl: FloatArray,
    albumin_g_dl: FloatArray,
    inr: FloatArray,
    ascites: IntArray,
    encephalopathy: IntArray,
    *,
    albumin_band: AlbuminBand = "pugh1973",
    bilirubin_bands: BilirubinBands = "standard",
    bounds: Mapping[int, Bound] | None = None,
) -> tuple[npt.NDArray[Any], ...]:
    """Total points, class letters and item points of arrays of one shape, block by block.

    Returns the totals (int64), the class letters (``<U1``) and the points of bilirubin,
    albumin, INR, ascites and encephalopathy (int8). ``bounds`` are the range checks still to
    run on the arguments (see :func:`~hepatrial.scores._inputs.blockwise_into`); without them
    the arguments must already be checked.
    """
    kernel = partial(
        _child_pugh_into,
        bilirubin_edges=(2.0, 3.0) if bilirubin_bands == "standard" else (4.0, 10.0),
        albumin_low=2.8 if albumin_band == "pugh1973" else 3.0,
    )
    points, codes, *items = blockwise_into(
        kernel,
        bilirubin_mg_dl,
        albumin_g_dl,
        inr,
        ascites,
        encephalopathy,
        outputs=_OUTPUTS,
        scratch=_SCRATCH,
        bounds=bounds,
    )
    return (points, codes.view("<U1"), *items)


def _integer_codes(value: Any) -> bool:
    return np.asarray(value).dtype.kind in "iu"


def child_pugh(
    *,
    bilirubin: Any,
    albumin: Any,
    inr: Any,
    ascites: Any,
    encephalopathy: Any,
    albumin_band: AlbuminBand = "pugh1973",
    bilirubin_bands: BilirubinBands = "standard",
) -> ChildPughResult:
    """Child-Turcotte-Pugh score (Pugh 1973 modification of Child-Turcotte 1964).

    Points per item (middle bands include both ends)::

        item                 1 point      2 points           3 points
        bilirubin (mg/dL)    < 2          2 - 3              > 3
          cholestatic        < 4          4 - 10             > 10
        albumin (g/dL)       > 3.5        2.8 - 3.5          < 2.8
          "harrison" band    > 3.5        3.0 - 3.5          < 3.0
        INR                  < 1.7        1.7 - 2.3          > 2.3
        ascites              none         slight / mild      moderate - severe
        encephalopathy       none         grade 1-2          grade 3-4

        class A = 5-6 points, B = 7-9, C = 10-15

    Parameters
    ----------
    bilirubin
        Serum total bilirubin, mg/dL (or a quantity).
    albumin
        Serum albumin, g/dL (or a quantity).
    inr
        International normalised ratio.
    ascites
        0 none, 1 slight/mild, 2 moderate-severe, or the words in :data:`ASCITES_WORDS`.
    encephalopathy
        0 none, 1 West Haven grade 1-2, 2 grade 3-4, or the words in
        :data:`ENCEPHALOPATHY_WORDS`.
    albumin_band
        ``"pugh1973"`` (default; Pugh's table, MDCalc, Cleveland Clinic): 2 points for
        2.8-3.5 g/dL. ``"harrison"``: 2 points for 3.0-3.5 g/dL (Harrison's table); albumin
        2.8-2.99 scores 2 under the default and 3 under this variant.
    bilirubin_bands
        ``"standard"`` (default) or ``"cholestatic"`` (primary biliary or sclerosing
        cholangitis: < 4 / 4-10 / > 10 mg/dL).

    Returns
    -------
    ChildPughResult
        ``.points`` and ``.class_`` (ints and a string for one patient, arrays for many).

    References
    ----------
    Pugh RNH, Murray-Lyon IM, Dawson JL, Pietroni MC, Williams R. Transection of the
    oesophagus for bleeding oesophageal varices. Br J Surg 1973;60:646-649.

    Examples
    --------
    >>> result = child_pugh(bilirubin=2.5, albumin=3.0, inr=1.5, ascites="mild", encephalopathy=0)
    >>> result.points, result.class_
    (8, 'B')
    """
    if albumin_band not in ("pugh1973", "harrison"):
        raise ValueError(f"albumin_band={albumin_band!r}; use 'pugh1973' or 'harrison'")
    if bilirubin_bands not in ("standard", "cholestatic"):
        raise ValueError(f"bilirubin_bands={bilirubin_bands!r}; use 'standard' or 'cholestatic'")
    scalar = all_scalar(bilirubin, albumin, inr, ascites, encephalopathy)
    # Integer grades are checked with the labs, block by block; words are mapped and checked
    # first, and then the labs are too, so that errors come in argument order either way.
    defer = _integer_codes(ascites) and _integer_codes(encephalopathy)
    arrays = broadcast(
        lab(bilirubin, "bilirubin", check=not defer),
        lab(albumin, "albumin", check=not defer),
        lab(inr, "inr", check=not defer),
        ordinal(ascites, "ascites", ASCITES_WORDS, 2, check=not defer),
        ordinal(encephalopathy, "encephalopathy", ENCEPHALOPATHY_WORDS, 2, check=not defer),
    )
    bounds: dict[int, Bound] = {}
    if defer:
        bounds = lab_bounds({0: ("bilirubin", bilirubin), 1: ("albumin", albumin), 2: ("inr", inr)})
        bounds[3] = grade_bound(ascites, "ascites", ASCITES_WORDS, 2)
        bounds[4] = grade_bound(encephalopathy, "encephalopathy", ENCEPHALOPATHY_WORDS, 2)
    points, class_, *items = child_pugh_engine(
        *arrays, albumin_band=albumin_band, bilirubin_bands=bilirubin_bands, bounds=bounds
    )
    bili, alb, inr_, asc, he = (finish(item, scalar) for item in items)
    return ChildPughResult(
        points=finish(points, scalar),
        class_=finish(class_, scalar),
        bilirubin_points=bili,
        albumin_points=alb,
        inr_points=inr_,
        ascites_points=asc,
        encephalopathy_points=he,
    )
