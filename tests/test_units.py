"""Units: conversions, spellings, quantities and plausibility errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatrial.exceptions import UnitError
from hepatrial.units import (
    ANALYTES,
    Quantity,
    accepted_units,
    check_plausible,
    conventional_unit,
    convert,
    display_unit,
    g_per_l,
    mix_up_hint,
    plausible_range,
    si_unit,
    system_unit,
    to_conventional,
    umol_per_l,
)


@pytest.mark.parametrize(
    ("value", "analyte", "from_unit", "to_unit", "expected", "digits"),
    [
        # transplantr tests/testthat/test_units.R (johnasher/transplantr, commit 9662038)
        (18, "bilirubin", "umol/L", "mg/dL", 1.1, 1),
        (5.4, "bilirubin", "mg/dL", "µmol/L", 92, 0),
        (270, "creatinine", "µmol/L", "mg/dL", 3.1, 1),
        (3.5, "creatinine", "mg/dL", "umol/L", 309, 0),
        (3.2, "urea", "mmol/L", "mg/dL", 9.0, 1),
        (12, "urea", "mg/dL", "mmol/L", 4.3, 1),
        # definitions: albumin g/L = 10 g/dL; counts 10^3/µL = 10^9/L; 1000 cells/µL = 1 x 10^9/L
        (3.5, "albumin", "g/dL", "g/L", 35.0, 10),
        (150, "platelets", "10^3/uL", "10^9/L", 150.0, 10),
        (150000, "platelets", "cells/µL", "10^9/L", 150.0, 10),
        (140, "sodium", "mEq/L", "mmol/L", 140.0, 10),
        # lactate mg/dL = mmol/L x 9.01
        (18.02, "lactate", "mg/dL", "mmol/L", 2.0, 10),
        (100, "ha", "µg/L", "ng/mL", 100.0, 10),
    ],
)
def test_convert_matches_published_conversions(
    value: float, analyte: str, from_unit: str, to_unit: str, expected: float, digits: int
) -> None:
    assert round(convert(value, analyte, from_unit, to_unit), digits) == expected


def test_convert_factors_are_the_standard_ones() -> None:
    assert convert(1, "bilirubin", "mg/dL", "µmol/L") == pytest.approx(17.1)
    assert convert(1, "creatinine", "mg/dL", "µmol/L") == pytest.approx(88.4)
    assert convert(1, "urea", "mg/dL", "mmol/L") == pytest.approx(0.357)
    # urea 1 mmol/L = 6.006 mg/dL of urea = 1/0.357 mg/dL of urea nitrogen
    assert convert(6.006, "urea", "mg/dL urea", "mmol/L") == pytest.approx(1.0)


def test_micro_sign_greek_mu_and_u_are_one_unit() -> None:
    values = [convert(100, "creatinine", unit, "mg/dL") for unit in ("µmol/L", "μmol/L", "umol/l")]
    assert values[0] == values[1] == values[2]
    assert display_unit("umol/l") == "µmol/L"


def test_convert_is_vectorized_and_keeps_series_values() -> None:
    series = pd.Series([17.1, 34.2, 51.3])
    out = convert(series, "bilirubin", "µmol/L", "mg/dL")
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [1.0, 2.0, 3.0])
    assert isinstance(convert(17.1, "bilirubin", "µmol/L", "mg/dL"), float)


def test_round_trip_is_identity() -> None:
    values = np.linspace(0.2, 40, 50)
    back = convert(convert(values, "bilirubin", "mg/dL", "µmol/L"), "bilirubin", "µmol/L", "mg/dL")
    np.testing.assert_allclose(back, values, rtol=1e-14)


def test_unknown_unit_and_analyte_are_named() -> None:
    with pytest.raises(UnitError, match=r"'mmol/L' is not a unit of bilirubin; accepted: mg/dL"):
        convert(1, "bilirubin", "mmol/L", "mg/dL")
    with pytest.raises(UnitError, match="unknown analyte 'bilirubn'"):
        convert(1, "bilirubn", "mg/dL", "mg/dL")


def test_unit_lookups() -> None:
    assert conventional_unit("albumin") == "g/dL"
    assert si_unit("albumin") == "g/L"
    assert system_unit("creatinine", "si") == "µmol/L"
    assert system_unit("inr", "si") == "ratio"
    assert "µmol/L" in accepted_units("bilirubin")
    assert set(ANALYTES) >= {"bilirubin", "creatinine", "albumin", "sodium", "inr", "platelets"}
    with pytest.raises(UnitError, match="not a unit system"):
        system_unit("inr", "metric")  # type: ignore[arg-type]


def test_plausible_range_in_other_units() -> None:
    assert plausible_range("creatinine") == (0.1, 25.0)
    low, high = plausible_range("creatinine", "µmol/L")
    assert low == pytest.approx(8.84) and high == pytest.approx(2210.0)


def test_quantity_helpers_and_conversion() -> None:
    assert umol_per_l(18) == Quantity(18, "µmol/L")
    assert g_per_l(35).to("albumin", "g/dL") == pytest.approx(3.5)
    np.testing.assert_allclose(to_conventional(umol_per_l([17.1, 34.2]), "bilirubin"), [1, 2])
    with pytest.raises(UnitError, match="do not give unit"):
        to_conventional(umol_per_l(17.1), "bilirubin", "mg/dL")


def test_implausible_creatinine_names_field_value_range_and_mix_up() -> None:
    with pytest.raises(UnitError) as info:
        check_plausible(88, "creatinine")
    assert str(info.value) == (
        "creatinine=88 mg/dL is implausible (allowed 0.1-25 mg/dL); 88 µmol/L would be 1.0 mg/dL"
    )
    assert isinstance(info.value, ValueError)


def test_implausible_albumin_in_g_l_typed_as_g_dl() -> None:
    with pytest.raises(UnitError, match=r"albumin=35 g/dL .*; 35 g/L would be 3.5 g/dL"):
        check_plausible(35, "albumin")


def test_implausible_si_value_suggests_conventional() -> None:
    with pytest.raises(UnitError, match=r"bilirubin=0.5 µmol/L .*; 0.5 mg/dL would be 8.6 µmol/L"):
        check_plausible(umol_per_l(0.5), "bilirubin")


def test_platelets_in_cells_per_microlitre_typed_as_10e9() -> None:
    with pytest.raises(UnitError, match=r"200000 cells/µL would be 200 10\^9/L"):
        check_plausible(200000, "platelets")


def test_array_error_names_first_index_and_count() -> None:
    values = np.array([1.0, 0.9, 88.0, 1.2, 150.0])
    with pytest.raises(UnitError) as info:
        check_plausible(values, "creatinine")
    message = str(info.value)
    assert message.startswith("creatinine[2]=88 mg/dL is implausible")
    assert message.endswith("(2 of 5 values are missing or implausible)")


def test_missing_value_is_an_error_naming_the_field() -> None:
    with pytest.raises(UnitError, match=r"sodium\[1\] is missing"):
        check_plausible([135, np.nan], "sodium")


def test_text_is_refused_as_not_a_number() -> None:
    with pytest.raises(UnitError, match="bilirubin='abc' is not a number"):
        check_plausible("abc", "bilirubin")


def test_infinite_value_is_named() -> None:
    with pytest.raises(UnitError, match="inr=inf ratio is not a finite number"):
        check_plausible(float("inf"), "inr")


def test_no_hint_when_no_other_unit_fits() -> None:
    assert mix_up_hint(500, "inr", "ratio") == ""
    with pytest.raises(UnitError, match="check the value and its unit"):
        check_plausible(500, "inr")


def test_plausible_values_come_back_in_conventional_units() -> None:
    np.testing.assert_allclose(check_plausible(umol_per_l([88.4]), "creatinine"), [1.0])
    np.testing.assert_allclose(check_plausible(g_per_l(30), "albumin"), [3.0])
    # both ends of the range are allowed
    np.testing.assert_allclose(check_plausible([0.1, 25], "creatinine"), [0.1, 25])


def test_empty_input_is_valid_and_stays_empty() -> None:
    assert check_plausible([], "creatinine").shape == (0,)


def test_liver_stiffness_is_in_kpa_within_the_transient_elastography_range() -> None:
    # FibroScan reports liver stiffness in kPa and reads at most 75 kPa; below 2 kPa is not
    # a liver measurement (normal livers read about 4-6 kPa).
    assert conventional_unit("liver_stiffness") == "kPa"
    assert si_unit("liver_stiffness") == "kPa"
    assert display_unit("KPA") == "kPa"
    assert plausible_range("liver_stiffness") == (2.0, 75.0)
    np.testing.assert_allclose(
        check_plausible([2.0, 16.4, 75.0], "liver_stiffness", "kPa"), [2.0, 16.4, 75.0]
    )
    with pytest.raises(UnitError, match="liver_stiffness"):
        check_plausible(80.0, "liver_stiffness", "kPa", field="liver_stiffness")
    with pytest.raises(UnitError, match="not a unit of liver_stiffness"):
        convert(12.0, "liver_stiffness", "m/s", "kPa")
