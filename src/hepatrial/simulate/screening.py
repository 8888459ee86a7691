"""Screening of virtual candidates through the protocol's own eligibility expressions.

The protocol's parsed criteria (:class:`hepatrial.protocol.Expression`) are evaluated column-wise
over arrays of candidates, with the same grammar and semantics as the single-patient
``Expression.evaluate`` (a test checks both agree patient by patient). Screening variables are
computed as in real screening: laboratory values converted by :mod:`hepatrial.units` and MELD by
:func:`hepatrial.scores.meld` in the protocol's ``meld_variant``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from hepatrial.exceptions import ProtocolError
from hepatrial.protocol import Expression, Protocol
from hepatrial.scores import meld
from hepatrial.units import convert

Array = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_MELD_ROUNDING = {"unos_unrounded": "continuous", "unos": "optn"}
_SI = {
    "bilirubin_umol_l": ("bilirubin", "mg/dL", "µmol/L"),
    "creatinine_umol_l": ("creatinine", "mg/dL", "µmol/L"),
}


def evaluate_many(expression: Expression, values: Mapping[str, Array]) -> Mask:
    """Evaluate a parsed criterion on arrays of candidates; returns a boolean array."""
    missing = sorted(expression.names - set(values))
    if missing:
        raise ProtocolError(
            f"criterion {expression.text!r} reads {', '.join(missing)}, which the patient model "
            "does not simulate; add it to the model's items"
        )
    return np.asarray(_eval(expression.tree.body, values), dtype=bool)


def _eval(node: ast.AST, values: Mapping[str, Array]) -> Any:
    if isinstance(node, ast.BoolOp):
        parts = [np.asarray(_eval(v, values), dtype=bool) for v in node.values]
        return (
            np.logical_and.reduce(parts)
            if isinstance(node.op, ast.And)
            else np.logical_or.reduce(parts)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~np.asarray(_eval(node.operand, values), dtype=bool)
    if isinstance(node, ast.Compare):
        return _eval_compare(node, values)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(item, values) for item in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        number: Any = node.operand.value  # the parser admits signs only before numbers
        return -number if isinstance(node.op, ast.USub) else +number
    if isinstance(node, ast.Constant):
        return node.value
    raise ProtocolError(f"unsupported expression node {ast.dump(node)}")


def _eval_compare(node: ast.Compare, values: Mapping[str, Array]) -> Mask:
    left = _eval(node.left, values)
    result: Mask | None = None
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _eval(right_node, values)
        if isinstance(op, ast.In | ast.NotIn):
            part = np.isin(left, np.asarray(right))
            part = part if isinstance(op, ast.In) else ~part
        else:
            part = np.asarray(_COMPARE[type(op)](left, right), dtype=bool)
        result = part if result is None else result & part
        left = right
    return np.asarray(result, dtype=bool)


def _meld(values: Mapping[str, Array], rounding: str) -> Array:
    shape = np.shape(values["bilirubin_mg_dl"])
    score = meld(
        bilirubin=np.ravel(values["bilirubin_mg_dl"]),
        inr=np.ravel(values["inr"]),
        creatinine=np.ravel(values["creatinine_mg_dl"]),
        rounding=rounding,  # type: ignore[arg-type]
    )
    return np.asarray(score).reshape(shape)


def screening_values(protocol: Protocol, candidates: Mapping[str, Array]) -> dict[str, Array]:
    """Candidates' values plus the screening variables the protocol reads.

    Adds SI laboratory values that criteria read, ``meld`` in the protocol's variant and
    ``meld_continuous`` (the unrounded UNOS MELD the patient models' hazards use).
    """
    values = dict(candidates)
    read = {name for c in protocol.eligibility.inclusion for name in c.parsed.names}
    read |= {name for c in protocol.eligibility.exclusion for name in c.parsed.names}
    for name, (analyte, unit_from, unit_to) in _SI.items():
        source = f"{analyte}_mg_dl"
        if name in read and source in values:
            values[name] = np.asarray(convert(values[source], analyte, unit_from, unit_to))
    variant = protocol.eligibility.meld_variant
    if variant not in _MELD_ROUNDING:
        raise ProtocolError(
            f"meld_variant={variant!r} cannot be simulated yet; use 'unos_unrounded' or 'unos'"
        )
    values["meld_continuous"] = _meld(values, "continuous")
    if _MELD_ROUNDING[variant] == "continuous":
        values["meld"] = values["meld_continuous"]
    else:
        values["meld"] = _meld(values, _MELD_ROUNDING[variant])
    return values


def eligible(protocol: Protocol, values: Mapping[str, Array]) -> Mask:
    """Inclusion criteria all true and exclusion criteria all false, per candidate."""
    mask = np.ones(np.shape(values["meld"]), dtype=bool)
    for criterion in protocol.eligibility.inclusion:
        mask &= evaluate_many(criterion.parsed, values)
    for criterion in protocol.eligibility.exclusion:
        mask &= ~evaluate_many(criterion.parsed, values)
    return mask


def first_eligible(mask: Mask, n: int) -> tuple[Array, Array]:
    """Row and column indices of the first ``n`` eligible candidates of every row.

    Raises ``ValueError`` if a row has fewer than ``n`` eligible candidates.
    """
    counts = mask.sum(axis=1)
    if counts.min(initial=n) < n:
        raise ValueError(f"a trial screened only {int(counts.min())} eligible candidates for n={n}")
    rank = np.cumsum(mask, axis=1)
    keep = mask & (rank <= n)
    rows, cols = np.nonzero(keep)
    return rows.reshape(mask.shape[0], n), cols.reshape(mask.shape[0], n)
