"""Child-Pugh: inputs in words, result objects, vectorization and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatrial.exceptions import UnitError
from hepatrial.scores import ChildPughResult, child_pugh
from hepatrial.units import g_per_l


def test_scalar_result_has_python_values() -> None:
    result = child_pugh(bilirubin=2.5, albumin=3.0, inr=1.5, ascites="mild", encephalopathy=0)
    assert isinstance(result, ChildPughResult)
    assert result.points == 8 and isinstance(result.points, int)
    assert result.class_ == "B" and isinstance(result.class_, str)
    assert repr(result) == "ChildPughResult(points=8, class_='B')"


def test_words_and_numbers_agree() -> None:
    words = child_pugh(
        bilirubin=[1, 1, 1],
        albumin=4,
        inr=1,
        ascites=["none", "slight", "moderate-severe"],
        encephalopathy=["none", "grade 1-2", "grade 3-4"],
    )
    numbers = child_pugh(
        bilirubin=[1, 1, 1], albumin=4, inr=1, ascites=[0, 1, 2], encephalopathy=[0, 1, 2]
    )
    np.testing.assert_array_equal(words.points, numbers.points)
    np.testing.assert_array_equal(words.points, [5, 7, 9])


def test_array_result_and_summary() -> None:
    result = child_pugh(
        bilirubin=pd.Series([1.0, 2.5, 4.0]),
        albumin=np.array([4.0, 3.0, 2.5]),
        inr=[1.0, 2.0, 2.5],
        ascites=[0, 1, 2],
        encephalopathy=[0, 1, 2],
    )
    np.testing.assert_array_equal(result.points, [5, 10, 15])
    np.testing.assert_array_equal(result.class_, ["A", "C", "C"])
    summary = result.summary
    assert list(summary.columns) == [
        "bilirubin_points",
        "albumin_points",
        "inr_points",
        "ascites_points",
        "encephalopathy_points",
        "points",
        "class",
    ]
    assert summary["points"].tolist() == [5, 10, 15]
    assert repr(result) == "ChildPughResult(3 patients)"


def test_si_albumin_quantity() -> None:
    assert (
        child_pugh(
            bilirubin=1, albumin=g_per_l(28), inr=1, ascites=0, encephalopathy=0
        ).albumin_points
        == 2
    )


def test_bad_grades_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(UnitError, match=r"ascites='lots' is not a grade; use an integer 0-2"):
        child_pugh(bilirubin=1, albumin=4, inr=1, ascites="lots", encephalopathy=0)
    with pytest.raises(UnitError, match=r"encephalopathy=3 is not a grade"):
        child_pugh(bilirubin=1, albumin=4, inr=1, ascites=0, encephalopathy=3)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="albumin_band"):
        child_pugh(bilirubin=1, albumin=4, inr=1, ascites=0, encephalopathy=0, albumin_band="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bilirubin_bands"):
        child_pugh(bilirubin=1, albumin=4, inr=1, ascites=0, encephalopathy=0, bilirubin_bands="x")  # type: ignore[arg-type]


def test_implausible_lab_is_refused() -> None:
    with pytest.raises(UnitError, match="albumin=35 g/dL"):
        child_pugh(bilirubin=1, albumin=35, inr=1, ascites=0, encephalopathy=0)
