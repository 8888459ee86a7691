"""Input coercion shared by the score engines: labs, flags, ordinal grades, sex, rounding.

Every public score converts its arguments here (validating plausibility and converting
quantities to conventional units), runs a numpy engine over 1-D arrays, and hands the result
back through :func:`finish`, which gives a float for all-scalar input and an array otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hepatrial.exceptions import UnitError
from hepatrial.units import Quantity, check_plausible, plausible_range, to_conventional

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Number = float | FloatArray


def _raw(value: Any) -> Any:
    return value.value if isinstance(value, Quantity) else value


def all_scalar(*values: Any) -> bool:
    """True when every input (quantities unwrapped) is a single value, not an array."""
    return all(np.ndim(_raw(v)) == 0 for v in values if v is not None)


def lab(value: Any, analyte: str, field: str | None = None, *, check: bool = True) -> FloatArray:
    """A lab value in conventional units, as a float array of at least one element.

    Validated unless ``check`` is false; then the caller must validate, as :func:`blockwise`
    does block by block with its ``checks``.
    """
    if value is None:
        raise UnitError(f"{field or analyte} is required")
    if check:
        return check_plausible(value, analyte, field=field)
    try:
        return to_conventional(value, analyte)
    except (TypeError, ValueError):
        return check_plausible(value, analyte, field=field)  # raises the teaching error


def optional_lab(value: Any, analyte: str, field: str | None = None) -> FloatArray:
    """Like :func:`lab`, but ``None`` and NaN mean "not measured" and come back as NaN."""
    if value is None:
        return np.full(1, np.nan)
    unit = value.unit if isinstance(value, Quantity) else None
    raw = np.atleast_1d(np.asarray(_raw(value), dtype=np.float64))
    missing = np.isnan(raw)
    if not missing.any():
        return check_plausible(value, analyte, field=field)
    filled = np.where(missing, plausible_range(analyte, unit)[0], raw)
    checked = check_plausible(
        filled if unit is None else Quantity(filled, unit), analyte, field=field
    )
    return np.where(missing, np.nan, checked)


def finish(values: npt.NDArray[Any], scalar: bool) -> Any:
    """A Python scalar for scalar input, else the array itself."""
    if scalar:
        return values.reshape(-1)[0].item()
    return values


HALF_UP_TOLERANCE = 1e-9
"""Float noise tolerated below a half: 24.499999999999996 (meaning 24.5) rounds to 25."""


def round_half_up(values: FloatArray, decimals: int = 0) -> FloatArray:
    """Round half up, as OPTN does, for the non-negative values scores produce.

    Python's ``round`` and ``numpy.round`` round half to even (``round(2.5) == 2``); OPTN rounds
    2.5 up to 3. A value within :data:`HALF_UP_TOLERANCE` below a half counts as the half, so
    that a product such as ``10 * 2.45`` stored as ``24.499999999999996`` rounds as the decimal
    number it represents::

        round_half_up(x) = floor(x + 0.5 + 1e-9)
    """
    scale = 10.0**decimals
    shifted = values * scale if decimals else values + 0.0
    shifted += 0.5 + HALF_UP_TOLERANCE
    np.floor(shifted, out=shifted)
    if decimals:
        shifted /= scale
    return shifted


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def _not_yes_no(field: str, value: Any) -> str:
    return f"{field}={value.item()!r} is not a yes/no value; use True/False or 1/0"


def flag(value: Any, field: str) -> BoolArray:
    """A yes/no input (bool, 0/1, or the words yes/no/true/false) as a boolean array."""
    array = np.atleast_1d(np.asarray(value))
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iuf":
        ok = np.isin(array, (0, 1))
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            raise UnitError(_not_yes_no(field, array[first]))
        return array.astype(bool)
    words = pd.Series(array.astype(str)).str.strip().str.lower()
    result = words.isin(_TRUE).to_numpy()
    unknown = ~(result | words.isin(_FALSE).to_numpy())
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise UnitError(_not_yes_no(field, array[first]))
    return result


def ordinal(value: Any, field: str, words: Mapping[str, int], maximum: int) -> IntArray:
    """An ordinal grade 0..maximum given as integers or as the words in ``words``."""
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind in "iu" and array.size:
        # Fast path for integer codes: two reductions, no temporary arrays.
        if array.min() >= 0 and array.max() <= maximum:
            return array.astype(np.int64, copy=False)
        codes = array.astype(np.float64)
    elif array.dtype.kind in "iuf":
        codes = array.astype(np.float64)
    else:
        text = pd.Series(array.astype(str)).str.strip().str.lower()
        mapped = text.map(lambda t: words.get(t, _as_number(t)))
        codes = mapped.to_numpy(dtype=np.float64)
    ok = np.isin(codes, np.arange(maximum + 1))
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        allowed = ", ".join(sorted(words, key=words.__getitem__))
        raise UnitError(
            f"{field}={array[first].item()!r} is not a grade; "
            f"use an integer 0-{maximum} or one of: {allowed}"
        )
    return codes.astype(np.int64)


def _as_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


_FEMALE = {"f", "female", "w", "woman"}
_MALE = {"m", "male", "man"}


def female(value: Any, field: str = "sex") -> BoolArray:
    """Sex given as "M"/"F" (or male/female, any case) as a boolean array, True = female."""
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind not in "UO":
        raise UnitError(f"{field} must be 'M' or 'F'; got values of type {array.dtype}")
    if array.dtype.kind == "U" and array.dtype.itemsize == 4:
        # One-character codes: compare code points as integers (much faster than strings).
        points = array.view(np.uint32)
        is_female: BoolArray = (points == ord("F")) | (points == ord("f"))
        is_male: BoolArray = (points == ord("M")) | (points == ord("m"))
    else:
        is_female = np.asarray(array == "F", dtype=bool)
        is_male = np.asarray(array == "M", dtype=bool)
    if not np.all(is_female | is_male):
        words = pd.Series(array.astype(str)).str.strip().str.lower()
        is_female = words.isin(_FEMALE).to_numpy()
        is_male = words.isin(_MALE).to_numpy()
    unknown = ~(is_female | is_male)
    if unknown.any():
        first = int(np.flatnonzero(unknown)[0])
        raise UnitError(f"{field}={array[first].item()!r} is not a sex; use 'M' or 'F'")
    return is_female


BLOCK_ROWS = 1 << 15
"""Rows per block in :func:`blockwise`: temporaries of a block stay in the CPU cache."""


Checks = Mapping[int, tuple[str, Any]]
"""Deferred plausibility checks: argument index -> (analyte, the value as the caller gave it)."""


def _check_all(checks: Checks) -> None:
    for analyte, value in checks.values():
        check_plausible(value, analyte)


def blockwise(
    engine: Callable[..., FloatArray], *arrays: npt.NDArray[Any], checks: Checks | None = None
) -> FloatArray:
    """Apply a float engine to consecutive blocks of 1-D arrays of one length.

    Same result as ``engine(*arrays)``; large inputs are cut into blocks of
    :data:`BLOCK_ROWS` so that the engine's temporary arrays are reused from the cache instead
    of allocating (and page-faulting) several full-length arrays. Still vectorized: one numpy
    call per operation per block, never per row.

    ``checks`` names arguments whose plausibility is still to be checked; the check runs on
    each block while it is in the cache (a min and a max), and any failure is raised after the
    loop by :func:`~hepatrial.units.check_plausible` on the whole value, so the message names
    the first offending index as usual.
    """
    checks = checks or {}
    shape = arrays[0].shape
    if len(shape) != 1:
        flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
        return blockwise(engine, *flat, checks=checks).reshape(shape)
    n = shape[0]
    if n <= BLOCK_ROWS:
        _check_all(checks)
        return engine(*arrays)
    bounds = {i: plausible_range(analyte) for i, (analyte, _) in checks.items()}
    failed: set[int] = set()
    out = np.empty(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        for start in range(0, n, BLOCK_ROWS):
            block = slice(start, start + BLOCK_ROWS)
            parts = [a[block] for a in arrays]
            for i, (low, high) in bounds.items():
                if not (parts[i].min() >= low and parts[i].max() <= high):
                    failed.add(i)
            out[block] = engine(*parts)
    if failed:
        _check_all({i: checks[i] for i in sorted(failed)})
    return out


def broadcast(*arrays: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
    """Broadcast inputs to one shape, or raise naming the shapes."""
    try:
        return tuple(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        message = f"inputs must have the same length (or be single values); got {shapes}"
        raise UnitError(message) from None
