"""Liver function and fibrosis scores: ALBI, FIB-4, APRI and ELF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from hepatrial.scores._inputs import (
    FloatArray,
    Number,
    all_scalar,
    broadcast,
    finish,
    lab,
)
from hepatrial.units import ALBUMIN_G_DL_TO_G_L, BILIRUBIN_MG_DL_TO_UMOL_L

ElfAlgorithm = Literal["2.494", "2.278"]

ALBI_GRADE_1_MAX = -2.60
ALBI_GRADE_2_MAX = -1.39
MALBI_2A_MAX = -2.270


@dataclass(frozen=True)
class AlbiResult:
    """ALBI score and grade; scalars for one patient, arrays for many.

    Attributes
    ----------
    score
        The linear predictor (unrounded).
    grade
        1 (score <= -2.60), 2 (-2.60 < score <= -1.39) or 3 (score > -1.39).
    modified_grade
        The modified ALBI grade of Hiraoka 2017: ``"1"``, ``"2a"`` (-2.60 < score <= -2.270),
        ``"2b"`` (-2.270 < score <= -1.39) or ``"3"``.
    """

    score: Any
    grade: Any
    modified_grade: Any

    @property
    def summary(self) -> pd.DataFrame:
        """One row per patient: score, grade and modified grade."""
        return pd.DataFrame(
            {
                "albi": np.atleast_1d(self.score),
                "albi_grade": np.atleast_1d(self.grade),
                "malbi_grade": np.atleast_1d(self.modified_grade),
            }
        )


def albi_engine(bilirubin_mg_dl: FloatArray, albumin_g_dl: FloatArray) -> FloatArray:
    """ALBI from conventional units (converted here to µmol/L and g/L)."""
    bilirubin_umol_l = bilirubin_mg_dl * BILIRUBIN_MG_DL_TO_UMOL_L
    albumin_g_l = albumin_g_dl * ALBUMIN_G_DL_TO_G_L
    return np.asarray(0.66 * np.log10(bilirubin_umol_l) - 0.085 * albumin_g_l, dtype=np.float64)


def albi(*, bilirubin: Any, albumin: Any) -> AlbiResult:
    """Albumin-bilirubin (ALBI) score and grade.

    Formula (Johnson 2015; bilirubin in µmol/L, albumin in g/L, base-10 logarithm)::

        ALBI = 0.66 log10(bilirubin) - 0.085 albumin
        grade 1: ALBI <= -2.60;  grade 2: -2.60 < ALBI <= -1.39;  grade 3: ALBI > -1.39
        modified grade (Hiraoka 2017): 2a up to -2.270, 2b above -2.270

    Plain numbers are mg/dL and g/dL (converted with 17.1 and 10); pass quantities for SI
    values, e.g. ``albi(bilirubin=umol_per_l(17), albumin=g_per_l(40))``. No clamps apply.

    Parameters
    ----------
    bilirubin
        Serum total bilirubin, mg/dL or a quantity.
    albumin
        Serum albumin, g/dL or a quantity.

    Returns
    -------
    AlbiResult
        ``.score``, ``.grade`` (1, 2 or 3) and ``.modified_grade``.

    References
    ----------
    Johnson PJ, Berhane S, Kagebayashi C, et al. Assessment of liver function in patients with
    hepatocellular carcinoma: a new evidence-based approach - the ALBI grade. J Clin Oncol
    2015;33:550-558. Hiraoka A, Kumada T, Michitaka K, et al. Validation and potential of
    albumin-bilirubin grade and prognostication in a nationwide survey of 46,681 hepatocellular
    carcinoma patients in Japan: the need for a more detailed evaluation of hepatic function.
    Liver Cancer 2017;6:325-336.

    Examples
    --------
    >>> from hepatrial.units import g_per_l, umol_per_l
    >>> result = albi(bilirubin=umol_per_l(10), albumin=g_per_l(40))
    >>> round(result.score, 3), result.grade
    (-2.74, 1)
    """
    scalar = all_scalar(bilirubin, albumin)
    bili, alb = broadcast(lab(bilirubin, "bilirubin"), lab(albumin, "albumin"))
    score = albi_engine(bili, alb)
    grade = np.where(score <= ALBI_GRADE_1_MAX, 1, np.where(score <= ALBI_GRADE_2_MAX, 2, 3))
    modified = np.where(grade == 2, np.where(score <= MALBI_2A_MAX, "2a", "2b"), grade.astype(str))
    return AlbiResult(
        score=finish(score, scalar),
        grade=finish(grade.astype(np.int64), scalar),
        modified_grade=finish(modified, scalar),
    )


def fib4(*, age: Any, ast: Any, alt: Any, platelets: Any) -> Number:
    """Fibrosis-4 index.

    Formula (Sterling 2006)::

        FIB-4 = age [years] x AST [U/L] / (platelets [10^9/L] x sqrt(ALT [U/L]))

    Usual cut-offs: < 1.45 and > 3.25 (HCV, Sterling 2006); < 1.30 and > 2.67 (NAFLD, Shah
    2009); lower cut-off 2.0 from age 65 (McPherson 2017). No clamps; the result is unrounded.

    Parameters
    ----------
    age
        Years.
    ast, alt
        Aminotransferases, U/L.
    platelets
        10^9/L (= 10^3/µL). A count per µL such as 200000 is refused as implausible; give
        ``Quantity(200000, "cells/µL")`` instead.

    References
    ----------
    Sterling RK, Lissen E, Clumeck N, et al. Development of a simple noninvasive index to
    predict significant fibrosis in patients with HIV/HCV coinfection. Hepatology
    2006;43:1317-1325.

    Examples
    --------
    >>> round(fib4(age=50, ast=40, alt=25, platelets=200), 4)
    2.0
    """
    scalar = all_scalar(age, ast, alt, platelets)
    age_, ast_, alt_, plt = broadcast(
        lab(age, "age"), lab(ast, "ast"), lab(alt, "alt"), lab(platelets, "platelets")
    )
    return finish(age_ * ast_ / (plt * np.sqrt(alt_)), scalar)  # type: ignore[no-any-return]


def apri(*, ast: Any, platelets: Any, ast_uln: Any = 40) -> Number:
    """AST to platelet ratio index.

    Formula (Wai 2003)::

        APRI = (AST [U/L] / AST upper limit of normal [U/L]) x 100 / platelets [10^9/L]

    Parameters
    ----------
    ast
        U/L.
    platelets
        10^9/L.
    ast_uln
        The laboratory's upper limit of normal for AST, U/L; default 40 U/L (the WHO 2015
        hepatitis B guideline and most calculators). Give your laboratory's value.

    References
    ----------
    Wai CT, Greenson JK, Fontana RJ, et al. A simple noninvasive index can predict both
    significant fibrosis and cirrhosis in patients with chronic hepatitis C. Hepatology
    2003;38:518-526.

    Examples
    --------
    >>> round(apri(ast=160, platelets=75), 2)
    5.33
    """
    scalar = all_scalar(ast, platelets, ast_uln)
    ast_, plt, uln = broadcast(
        lab(ast, "ast"), lab(platelets, "platelets"), lab(ast_uln, "ast_uln")
    )
    return finish(ast_ / uln * 100.0 / plt, scalar)  # type: ignore[no-any-return]


_ELF_COEFFICIENTS: dict[str, tuple[float, float, float, float]] = {
    "2.494": (2.494, 0.846, 0.735, 0.391),
    "2.278": (2.278, 0.851, 0.751, 0.394),
}


def elf(*, ha: Any, piiinp: Any, timp1: Any, algorithm: ElfAlgorithm = "2.494") -> Number:
    """Enhanced Liver Fibrosis (ELF) score from HA, PIIINP and TIMP-1 (all ng/mL).

    Formulas (natural logarithms)::

        "2.494" (default): ELF = 2.494 + 0.846 ln(HA) + 0.735 ln(PIIINP) + 0.391 ln(TIMP-1)
        "2.278":           ELF = 2.278 + 0.851 ln(HA) + 0.751 ln(PIIINP) + 0.394 ln(TIMP-1)

    The default is the algorithm printed for the ADVIA Centaur ELF test and used with the
    Lichtinghagen 2013 cut-offs (< 7.7 none to mild, 7.7 to < 9.8 moderate, 9.8 to < 11.3
    severe fibrosis, >= 11.3 cirrhosis). The ``"2.278"`` coefficients are reported for a later
    revision of the manufacturer's algorithm; they could not be checked against the
    manufacturer's text and give values about 0.1-0.16 lower. A trial must fix one algorithm,
    and should keep the analyser's reported ELF when it has it.

    Parameters
    ----------
    ha, piiinp, timp1
        Hyaluronic acid, amino-terminal propeptide of type III procollagen and tissue inhibitor
        of metalloproteinases 1, ng/mL (= µg/L).
    algorithm
        ``"2.494"`` (default) or ``"2.278"``, named by the intercept.

    References
    ----------
    Lichtinghagen R, Pietsch D, Bantel H, et al. The Enhanced Liver Fibrosis (ELF) score:
    normal values, influence factors and proposed cut-off values. J Hepatol 2013;59:236-242.
    Rosenberg WM, Voelker M, Thiel R, et al. Serum markers detect the presence of liver
    fibrosis: a cohort study. Gastroenterology 2004;127:1704-1713.

    Examples
    --------
    >>> round(elf(ha=50, piiinp=10, timp1=250), 2)
    9.65
    """
    if algorithm not in _ELF_COEFFICIENTS:
        raise ValueError(f"algorithm={algorithm!r} is not an ELF algorithm; use '2.494' or '2.278'")
    intercept, b_ha, b_p3np, b_timp = _ELF_COEFFICIENTS[algorithm]
    scalar = all_scalar(ha, piiinp, timp1)
    ha_, p3np, timp = broadcast(lab(ha, "ha"), lab(piiinp, "piiinp"), lab(timp1, "timp1"))
    score = intercept + b_ha * np.log(ha_) + b_p3np * np.log(p3np) + b_timp * np.log(timp)
    return finish(score, scalar)  # type: ignore[no-any-return]
