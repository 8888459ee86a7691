"""ALBI, FIB-4, APRI, ELF and the Mayo PBC score: API behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from hepatrial.exceptions import UnitError
from hepatrial.scores import AlbiResult, albi, apri, elf, fib4, mayo_pbc
from hepatrial.units import Quantity, g_per_l, umol_per_l


def test_albi_accepts_conventional_and_si() -> None:
    conventional = albi(bilirubin=1.0, albumin=4.0)
    si = albi(bilirubin=umol_per_l(17.1), albumin=g_per_l(40))
    assert isinstance(conventional, AlbiResult)
    assert conventional.score == pytest.approx(si.score, abs=1e-12)
    # 0.66 log10(17.1) - 0.085 x 40 = 0.8138 - 3.4 = -2.586: grade 2 (modified 2a)
    assert conventional.grade == si.grade == 2
    assert conventional.modified_grade == "2a"


def test_albi_arrays_and_summary() -> None:
    result = albi(bilirubin=[1.0, 2.0, 6.0], albumin=[4.5, 3.2, 2.2])
    assert result.grade.tolist() == [1, 2, 3]
    assert list(result.summary.columns) == ["albi", "albi_grade", "malbi_grade"]


def test_fib4_platelets_per_microlitre_are_refused_with_a_hint() -> None:
    with pytest.raises(UnitError, match=r"200000 cells/µL would be 200 10\^9/L"):
        fib4(age=50, ast=40, alt=25, platelets=200000)
    per_ul = fib4(age=50, ast=40, alt=25, platelets=Quantity(200000, "cells/µL"))
    assert per_ul == pytest.approx(fib4(age=50, ast=40, alt=25, platelets=200))


def test_apri_default_uln_is_40() -> None:
    assert apri(ast=80, platelets=100) == pytest.approx(2.0)
    assert apri(ast=80, platelets=100, ast_uln=35) == pytest.approx(80 / 35 * 100 / 100)


def test_elf_algorithms_differ_and_unknown_is_refused() -> None:
    a = elf(ha=50, piiinp=10, timp1=250)
    b = elf(ha=50, piiinp=10, timp1=250, algorithm="2.278")
    assert 0.1 < a - b < 0.2
    with pytest.raises(ValueError, match="algorithm='2020'"):
        elf(ha=50, piiinp=10, timp1=250, algorithm="2020")  # type: ignore[arg-type]


def test_mayo_edema_words_and_refusals() -> None:
    kwargs = dict(age=50, bilirubin=2.0, albumin=3.5, prothrombin_time=11.0)
    words = mayo_pbc(**kwargs, edema=["none", "resolved", "despite diuretics"])
    numbers = mayo_pbc(**kwargs, edema=[0, 0.5, 1])
    np.testing.assert_allclose(words, numbers)
    with pytest.raises(UnitError, match="edema=2 is not an edema code"):
        mayo_pbc(**kwargs, edema=2)


def test_vectorized_outputs_are_arrays() -> None:
    out = fib4(age=[40, 60], ast=[30, 90], alt=[25, 36], platelets=[250, 90])
    assert isinstance(out, np.ndarray) and out.shape == (2,)
    assert isinstance(fib4(age=40, ast=30, alt=25, platelets=250), float)
