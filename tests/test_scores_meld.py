"""MELD, MELD-Na and MELD 3.0: API behaviour (published examples are in tests/validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatrial.exceptions import UnitError
from hepatrial.scores import meld, meld_3, meld_na
from hepatrial.scores._inputs import round_half_up
from hepatrial.units import g_per_l, umol_per_l


def test_round_half_up_differs_from_python_round() -> None:
    # Python's round() rounds half to even: round(2.5) == 2, round(24.5) == 24.
    assert round(2.5) == 2
    np.testing.assert_array_equal(
        round_half_up(np.array([2.5, 24.5, 0.49999, 6.43])), [3, 25, 0, 6]
    )
    # 10 * 2.45 is 24.500000000000004 and 2.45 * 10 in other orders can be 24.499999999999996;
    # both must round as the decimal number 24.5 does.
    np.testing.assert_array_equal(round_half_up(np.array([24.499999999999996])), [25])
    np.testing.assert_array_equal(round_half_up(np.array([2.449999999999999]), 1), [2.5])


def test_scalar_in_float_out_and_array_in_array_out() -> None:
    single = meld(bilirubin=4.2, inr=1.2, creatinine=1.9)
    assert isinstance(single, float)
    many = meld(bilirubin=[4.2, 1.0], inr=np.array([1.2, 1.0]), creatinine=pd.Series([1.9, 1.0]))
    assert isinstance(many, np.ndarray)
    np.testing.assert_array_equal(many, [20.0, 6.0])


def test_scalars_broadcast_against_arrays() -> None:
    out = meld(bilirubin=[1.0, 2.0, 3.0], inr=1.0, creatinine=1.0, dialysis=[False, True, 0])
    assert out.shape == (3,)
    assert out[1] == meld(bilirubin=2.0, inr=1.0, creatinine=4.0)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(UnitError, match="same length"):
        meld(bilirubin=[1.0, 2.0], inr=[1.0, 1.1, 1.2], creatinine=1.0)


def test_quantities_give_the_same_score_as_conventional_numbers() -> None:
    si = meld_3(
        sex="F",
        bilirubin=umol_per_l(34.2),
        sodium=130,
        inr=1.5,
        creatinine=umol_per_l(106.08),
        albumin=g_per_l(30),
    )
    conventional = meld_3(sex="F", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0)
    assert si == conventional


def test_implausible_input_raises_unit_error() -> None:
    with pytest.raises(UnitError, match="88 µmol/L would be 1.0 mg/dL"):
        meld(bilirubin=1.0, inr=1.0, creatinine=88)
    with pytest.raises(UnitError, match="30 g/L would be 3.0 g/dL"):
        meld_3(sex="M", bilirubin=1, sodium=135, inr=1, creatinine=1, albumin=30)


def test_bad_options_and_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="rounding='nearest'"):
        meld(bilirubin=1, inr=1, creatinine=1, rounding="nearest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variant='unos'"):
        meld_na(bilirubin=1, inr=1, creatinine=1, sodium=130, variant="unos")  # type: ignore[arg-type]
    with pytest.raises(UnitError, match="dialysis='maybe' is not a yes/no value"):
        meld(bilirubin=1, inr=1, creatinine=1, dialysis="maybe")
    with pytest.raises(UnitError, match="dialysis=2 is not a yes/no value"):
        meld(bilirubin=1, inr=1, creatinine=1, dialysis=2)
    with pytest.raises(UnitError, match="sex='X' is not a sex"):
        meld_3(sex="X", bilirubin=1, sodium=135, inr=1, creatinine=1, albumin=3)
    with pytest.raises(UnitError, match="sex must be 'M' or 'F'"):
        meld_3(sex=1, bilirubin=1, sodium=135, inr=1, creatinine=1, albumin=3)


def test_dialysis_words_are_accepted() -> None:
    words = meld(bilirubin=[1, 1], inr=1, creatinine=1, dialysis=["yes", "no"])
    np.testing.assert_array_equal(words, meld(bilirubin=[1, 1], inr=1, creatinine=[4, 1]))


def test_sex_spellings() -> None:
    kwargs = dict(bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0)
    values = meld_3(sex=["F", "female", " Female ", "w"], **kwargs)
    assert len(set(values.tolist())) == 1
    assert meld_3(sex="m", **kwargs) == meld_3(sex="MALE", **kwargs)


def test_meld_3_children_under_12_are_refused() -> None:
    with pytest.raises(ValueError, match="PELD"):
        meld_3(sex="M", bilirubin=1, sodium=135, inr=1, creatinine=1, albumin=3, age=11)


def test_blockwise_evaluation_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large inputs are scored in blocks; tiny blocks must give exactly the one-block result.
    from hepatrial.scores import _inputs

    rng = np.random.default_rng(7)
    n = 1000
    kwargs = dict(
        sex=np.where(rng.random(n) < 0.5, "F", "M"),
        bilirubin=rng.uniform(0.3, 40, n).round(1),
        sodium=rng.uniform(118, 150, n).round(),
        inr=rng.uniform(0.9, 5, n).round(2),
        creatinine=rng.uniform(0.4, 6, n).round(2),
        albumin=rng.uniform(1.2, 5, n).round(1),
        dialysis=rng.random(n) < 0.1,
    )
    labs = {k: kwargs[k] for k in ("bilirubin", "inr", "creatinine", "dialysis")}
    whole = (meld_3(**kwargs), meld(**labs), meld_na(**labs, sodium=kwargs["sodium"]))
    monkeypatch.setattr(_inputs, "BLOCK_ROWS", 7)
    blocks = (meld_3(**kwargs), meld(**labs), meld_na(**labs, sodium=kwargs["sodium"]))
    for a, b in zip(whole, blocks, strict=True):
        np.testing.assert_array_equal(a, b)


def test_lower_case_single_letter_sex_codes() -> None:
    kwargs = dict(bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0)
    np.testing.assert_array_equal(
        meld_3(sex=np.array(["f", "m"]), **kwargs), meld_3(sex=["F", "M"], **kwargs)
    )


def test_two_dimensional_arrays_keep_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from hepatrial.scores import _inputs

    monkeypatch.setattr(_inputs, "BLOCK_ROWS", 4)
    bili = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    out = meld(bilirubin=bili, inr=1.5, creatinine=1.2)
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out[1], meld(bilirubin=bili[1], inr=1.5, creatinine=1.2))


def test_block_checks_report_the_first_bad_index(monkeypatch: pytest.MonkeyPatch) -> None:
    # In the block path plausibility is checked block by block; the error is the usual one.
    from hepatrial.scores import _inputs

    monkeypatch.setattr(_inputs, "BLOCK_ROWS", 7)
    creatinine = np.ones(50)
    creatinine[[33, 41]] = 88.0
    with pytest.raises(UnitError, match=r"creatinine\[33\]=88 mg/dL .*\(2 of 50 values"):
        meld(bilirubin=np.ones(50), inr=1.0, creatinine=creatinine)
    sodium = np.full(50, 135.0)
    sodium[20] = np.nan
    with pytest.raises(UnitError, match=r"sodium\[20\] is missing"):
        meld_3(sex="F", bilirubin=1.0, sodium=sodium, inr=1.0, creatinine=1.0, albumin=3.0)
    si = meld_3(
        sex="M",
        bilirubin=umol_per_l(np.full(50, 34.2)),
        sodium=130,
        inr=1.5,
        creatinine=umol_per_l(106.08),
        albumin=g_per_l(30),
    )
    assert (
        si == meld_3(sex="M", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0)
    ).all()
