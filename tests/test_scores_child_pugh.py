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


def test_blocks_give_the_one_block_result_and_the_usual_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Large inputs are scored in blocks with per-block range checks; tiny blocks must give
    # exactly the one-block result, and a bad value in a late block the usual error.
    from hepatrial.scores import _inputs

    rng = np.random.default_rng(11)
    n = 200
    kwargs = dict(
        bilirubin=rng.uniform(0.3, 12, n).round(1),
        albumin=rng.uniform(1.5, 5, n).round(1),
        inr=rng.uniform(0.9, 4, n).round(1),
        ascites=rng.integers(0, 3, n),
        encephalopathy=rng.integers(0, 3, n),
    )
    whole = child_pugh(**kwargs).summary
    monkeypatch.setattr(_inputs, "BLOCK_ROWS", 7)
    pd.testing.assert_frame_equal(child_pugh(**kwargs).summary, whole)
    # Row 150 by hand: bilirubin 2.0 (2 points, 2-3 inclusive), albumin 2.8 (2, 2.8-3.5),
    # INR 2.3 (2, 1.7-2.3), ascites 2 (3), encephalopathy 0 (1): 10 points, class C.
    row = {"bilirubin": 2.0, "albumin": 2.8, "inr": 2.3, "ascites": 2, "encephalopathy": 0}
    for name, value in row.items():
        kwargs[name][150] = value
    result = child_pugh(**kwargs)
    assert (result.points[150], result.class_[150]) == (10, "C")
    kwargs["ascites"][170] = -1
    with pytest.raises(UnitError, match=r"ascites=-1 is not a grade"):
        child_pugh(**kwargs)
    kwargs["bilirubin"][180] = np.nan
    with pytest.raises(UnitError, match=r"bilirubin\[180\] is missing"):
        child_pugh(**kwargs)
    empty = child_pugh(**{k: np.asarray(v)[:0] for k, v in kwargs.items()})
    assert empty.points.shape == (0,) and empty.summary.empty
