"""Child-Turcotte-Pugh score: points per item and class A/B/C."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from hepatrial.scores._inputs import (
    FloatArray,
    IntArray,
    all_scalar,
    broadcast,
    finish,
    lab,
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


def _three_bands(values: FloatArray, low: float, high: float) -> npt.NDArray[np.int8]:
    """1 below ``low``, 2 from ``low`` to ``high`` inclusive, 3 above ``high``."""
    points = np.ones(values.shape, dtype=np.int8)
    points += values >= low
    points += values > high
    return points


def child_pugh_engine(
    bilirubin_mg_dl: FloatArray,
    albumin_g_dl: FloatArray,
    inr: FloatArray,
    ascites: IntArray,
    encephalopathy: IntArray,
    albumin_band: AlbuminBand = "pugh1973",
    bilirubin_bands: BilirubinBands = "standard",
) -> tuple[npt.NDArray[np.int8], ...]:
    """Item points (bilirubin, albumin, INR, ascites, encephalopathy) and the total (int8)."""
    bili_edges = (2.0, 3.0) if bilirubin_bands == "standard" else (4.0, 10.0)
    bilirubin = _three_bands(bilirubin_mg_dl, *bili_edges)
    albumin = np.ones(albumin_g_dl.shape, dtype=np.int8)
    albumin += albumin_g_dl <= 3.5
    albumin += albumin_g_dl < (2.8 if albumin_band == "pugh1973" else 3.0)
    inr_points = _three_bands(inr, 1.7, 2.3)
    ascites_points = ascites.astype(np.int8)
    ascites_points += 1
    he_points = encephalopathy.astype(np.int8)
    he_points += 1
    total = bilirubin + albumin
    total += inr_points
    total += ascites_points
    total += he_points
    return bilirubin, albumin, inr_points, ascites_points, he_points, total


# Code points of the class letter for 0-15 points (A 5-6, B 7-9, C 10-15); looked up as
# integers and viewed as one-character strings, which is faster than indexing a string array.
_CLASS_CODE_BY_POINTS = np.array(
    [0] * 5 + [ord("A")] * 2 + [ord("B")] * 3 + [ord("C")] * 6, dtype="<u4"
)


def child_pugh_class(points: npt.NDArray[np.integer[Any]]) -> Any:
    """Class letters for point totals: A 5-6, B 7-9, C 10-15."""
    return _CLASS_CODE_BY_POINTS[points].view("<U1")


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
    bili_mg_dl, alb_g_dl, inr_ratio, asc_grade, he_grade = broadcast(
        lab(bilirubin, "bilirubin"),
        lab(albumin, "albumin"),
        lab(inr, "inr"),
        ordinal(ascites, "ascites", ASCITES_WORDS, 2),
        ordinal(encephalopathy, "encephalopathy", ENCEPHALOPATHY_WORDS, 2),
    )
    bili, alb, inr_, asc, he, total = child_pugh_engine(
        bili_mg_dl,
        alb_g_dl,
        inr_ratio,
        asc_grade,
        he_grade,
        albumin_band=albumin_band,
        bilirubin_bands=bilirubin_bands,
    )
    return ChildPughResult(
        points=finish(total.astype(np.int64), scalar),
        class_=finish(child_pugh_class(total), scalar),
        bilirubin_points=finish(bili, scalar),
        albumin_points=finish(alb, scalar),
        inr_points=finish(inr_, scalar),
        ascites_points=finish(asc, scalar),
        encephalopathy_points=finish(he, scalar),
    )
