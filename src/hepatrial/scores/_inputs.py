"""Input coercion shared by the score engines: labs, flags, ordinal grades, sex, rounding.

Every public score converts its arguments here (validating plausibility and converting
quantities to conventional units), runs a numpy engine over 1-D arrays, and hands the result
back through :func:`finish`, which gives a float for all-scalar input and an array otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
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

    Validated unless ``check`` is false; then the caller must validate, as
    :func:`blockwise_into` does block by block with :func:`lab_bounds`.
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


def ordinal(
    value: Any, field: str, words: Mapping[str, int], maximum: int, *, check: bool = True
) -> IntArray:
    """An ordinal grade 0..maximum given as integers or as the words in ``words``.

    With ``check`` false, integer codes are returned unchecked: the caller must check them, as
    :func:`blockwise_into` does block by block with a :func:`grade_bound`.
    """
    array = np.atleast_1d(np.asarray(value))
    if not check and array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
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


_CASE_BIT = 0x20
"""Setting this bit of "F" or "M" gives "f" or "m"; no other code point maps to those two."""


def _single_letter_female(points: npt.NDArray[np.uint32]) -> BoolArray | None:
    """True for "F"/"f", False for "M"/"m", from one-character code points; None if any other.

    Compares code points as integers, block by block with reused buffers (much faster than
    comparing strings): each letter is lower-cased by setting its case bit, and a block is
    valid when its counts of "f" and "m" add up to its length.
    """
    n = points.size
    is_female = np.empty(n, dtype=bool)
    size = max(1, min(n, BLOCK_ROWS))
    lowered = np.empty(size, dtype=np.uint32)
    is_male = np.empty(size, dtype=bool)
    for start in range(0, n, size):
        stop = min(start + size, n)
        low, male, fem = lowered[: stop - start], is_male[: stop - start], is_female[start:stop]
        np.bitwise_or(points[start:stop], _CASE_BIT, out=low)
        np.equal(low, ord("f"), out=fem)
        np.equal(low, ord("m"), out=male)
        if np.count_nonzero(fem) + np.count_nonzero(male) != stop - start:
            return None
    return is_female


def female(value: Any, field: str = "sex") -> BoolArray:
    """Sex given as "M"/"F" (or male/female, any case) as a boolean array, True = female."""
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind not in "UO":
        raise UnitError(f"{field} must be 'M' or 'F'; got values of type {array.dtype}")
    if array.dtype.kind == "U" and array.dtype.itemsize == 4:
        letters = _single_letter_female(array.reshape(-1).view(np.uint32))
        if letters is not None:
            return letters.reshape(array.shape)
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


BLOCK_ROWS = 1 << 16
"""Rows per block in :func:`blockwise_into`: temporaries of a block stay in the CPU cache."""


Checks = Mapping[int, tuple[str, Any]]
"""Deferred plausibility checks: argument index -> (analyte, the value as the caller gave it)."""


@dataclass(frozen=True)
class Bound:
    """A deferred range check of one engine argument, run block by block.

    ``low <= block.min()`` and ``block.max() <= high`` is tested on every block while it is in
    the cache (false for a NaN); on failure ``fail()`` re-validates the value as the caller gave
    it, which raises the usual teaching error naming the first offending index.
    """

    low: float
    high: float
    fail: Callable[[], object]

    def holds(self, block: npt.NDArray[Any]) -> bool:
        """True when every value of a non-empty ``block`` is within the bound (NaN is not)."""
        if self.low == 0 and block.dtype == np.int64:
            # Negative integers are huge as unsigned: one reduction checks both ends.
            return bool(block.view(np.uint64).max() <= self.high)
        return bool(block.min() >= self.low and block.max() <= self.high)


def lab_bounds(checks: Checks) -> dict[int, Bound]:
    """:class:`Bound` checks for lab values: their plausible range in conventional units."""
    return {
        i: Bound(*_conventional_range(analyte), partial(check_plausible, value, analyte))
        for i, (analyte, value) in checks.items()
    }


def unchecked_labs(first: int, **values: Any) -> tuple[list[FloatArray], dict[int, Bound]]:
    """Lab values in conventional units, unchecked, and the bounds that check them block by block.

    The labs are the arguments of :func:`blockwise_into` from position ``first`` on, in keyword
    order; each keyword names the analyte.
    """
    arrays = [lab(value, analyte, check=False) for analyte, value in values.items()]
    return arrays, lab_bounds({first + i: item for i, item in enumerate(values.items())})


@cache
def _conventional_range(analyte: str) -> tuple[float, float]:
    return plausible_range(analyte)


def grade_bound(value: Any, field: str, words: Mapping[str, int], maximum: int) -> Bound:
    """A :class:`Bound` for an ordinal grade 0..maximum (see :func:`ordinal`)."""
    return Bound(0, maximum, partial(ordinal, value, field, words, maximum))


def _check_block(
    bounds: Mapping[int, Bound], parts: list[npt.NDArray[Any]], failed: set[int]
) -> None:
    """Add to ``failed`` the index of every argument whose block is outside its bound."""
    if not parts or not parts[0].size:
        return
    for i, bound in bounds.items():
        if not bound.holds(parts[i]):
            failed.add(i)


def _flat(arrays: tuple[npt.NDArray[Any], ...]) -> list[npt.NDArray[Any]]:
    return [np.ascontiguousarray(a).reshape(-1) for a in arrays]


def blockwise_into(
    kernel: Callable[..., None],
    *arrays: npt.NDArray[Any],
    outputs: Sequence[npt.DTypeLike],
    scratch: Sequence[npt.DTypeLike] = (),
    bounds: Mapping[int, Bound] | None = None,
) -> tuple[npt.NDArray[Any], ...]:
    """Run ``kernel(outs, buffers, *parts)`` over consecutive blocks of 1-D arrays of one length.

    The kernel writes its results into ``outs`` (slices of the arrays returned, one per dtype in
    ``outputs``) and may use ``buffers`` (one per dtype in ``scratch``, allocated once and reused
    by every block) for its temporaries, so that the loop allocates nothing and every temporary
    stays in the CPU cache. Still vectorized: one numpy call per operation per block of
    :data:`BLOCK_ROWS` rows, never per row. N-dimensional inputs are scored flat and reshaped.

    ``bounds`` are range checks of arguments, tested on each block (a min and a max); any
    failure is raised after the loop by the bound's ``fail``, which names the first offending
    index as usual, so nothing is returned for invalid input.
    """
    bounds = bounds or {}
    shape = arrays[0].shape
    flat = list(arrays) if len(shape) == 1 else _flat(arrays)
    n = flat[0].shape[0]
    results = [np.empty(n, dtype=dtype) for dtype in outputs]
    size = max(1, min(n, BLOCK_ROWS))
    buffers = [np.empty(size, dtype=dtype) for dtype in scratch]
    failed: set[int] = set()
    with np.errstate(invalid="ignore", divide="ignore"):
        if n <= size:  # one block: no slicing
            _check_block(bounds, flat, failed)
            kernel(results, [b[:n] for b in buffers], *flat)
        for start in range(0, n if n > size else 0, size):
            block = slice(start, min(start + size, n))
            parts = [a[block] for a in flat]
            _check_block(bounds, parts, failed)
            rows = block.stop - block.start
            kernel([r[block] for r in results], [b[:rows] for b in buffers], *parts)
    for i in sorted(failed):
        bounds[i].fail()
    if len(shape) == 1:
        return tuple(results)
    return tuple(r.reshape(shape) for r in results)


_CLIP_FROM = 256
"""Rows from which :func:`clip_into` calls ``numpy.clip`` rather than two ufuncs."""


def clip_into(values: FloatArray, low: float, high: float, out: FloatArray) -> None:
    """``out = min(max(values, low), high)``, as ``numpy.clip`` gives it.

    ``numpy.clip`` has the fastest loop per element, but a Python wrapper that costs a few
    microseconds a call; for a few rows (a single patient) ``maximum`` and ``minimum``, which
    give the same values, are faster.
    """
    if values.size >= _CLIP_FROM:
        np.clip(values, low, high, out=out)
        return
    np.maximum(values, low, out=out)
    if high < np.inf:
        np.minimum(out, high, out=out)


def broadcast(*arrays: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
    """Broadcast inputs to one shape, or raise naming the shapes."""
    try:
        return tuple(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        message = f"inputs must have the same length (or be single values); got {shapes}"
        raise UnitError(message) from None
