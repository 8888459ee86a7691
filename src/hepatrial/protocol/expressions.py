"""A safe evaluator for eligibility expressions such as ``meld >= 10 and meld <= 17``.

The text is parsed with :mod:`ast` and only a small grammar is accepted; nothing is ever passed
to :func:`eval`. Allowed:

* comparisons ``==, !=, <, <=, >, >=`` (chains such as ``10 <= meld <= 17`` too),
* membership ``in`` / ``not in`` against a literal list or tuple
  (``aetiology in ["alcohol", "masld"]``),
* ``and``, ``or``, ``not`` and parentheses,
* variable names, numbers (optionally negative), strings, ``True`` and ``False``.

Anything else (calls, attributes, subscripts, arithmetic, lambdas, comprehensions) is refused with a
:class:`~hepatrial.exceptions.ProtocolError` naming the construct and its column.

Public API
----------
``parse_expression(text) -> Expression``; ``Expression.names``; ``Expression.evaluate(values)``;
``Expression.explain(values)`` (the expression with the values it used, for screening reasons).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from hepatrial.exceptions import EligibilityError, ProtocolError

Value: TypeAlias = bool | int | float | str
"""A value an expression can see: a number, a category (string) or a yes/no fact."""

_COMPARE: dict[type[ast.cmpop], Callable[[Value, Value], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _kind(value: Value | tuple[Value, ...]) -> str:
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "list"


@dataclass(frozen=True)
class Expression:
    """A parsed, validated criterion expression.

    Attributes
    ----------
    text : str
        The source text, as written in the protocol.
    names : frozenset of str
        Every variable the expression reads.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Value]) -> bool:
        """Evaluate; raise :class:`EligibilityError` if a value is missing or of the wrong kind.

        Examples
        --------
        >>> parse_expression("meld >= 10 and meld <= 17").evaluate({"meld": 12.4})
        True
        >>> parse_expression("not hcc").evaluate({"hcc": True})
        False
        """
        missing = sorted(self.names - set(values))
        if missing:
            raise EligibilityError(
                f"expression {self.text!r} needs {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not available"
            )
        return _as_bool(self, _eval(self, self.tree.body, values), "the whole expression")

    def explain(self, values: Mapping[str, Value]) -> str:
        """The expression followed by the values of the variables it read.

        Examples
        --------
        >>> parse_expression("age >= 18 and age <= 75").explain({"age": 80})
        'age >= 18 and age <= 75 with age=80'
        """
        shown = ", ".join(
            f"{name}={_show(values[name])}" for name in sorted(self.names & set(values))
        )
        return f"{self.text} with {shown}" if shown else self.text


def _show(value: Value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def parse_expression(text: str) -> Expression:
    """Parse and validate ``text``; raise :class:`ProtocolError` for anything outside the grammar.

    Examples
    --------
    >>> sorted(parse_expression('aclf_definition == "APASL" and not hcc').names)
    ['aclf_definition', 'hcc']
    """
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError(f"an expression must be non-empty text; got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ProtocolError(
            f"expression {text!r} is not valid: {error.msg} at column {error.offset}"
        ) from None
    names: set[str] = set()
    _check(text, tree.body, names)
    return Expression(text=text.strip(), tree=tree, names=frozenset(names))


def _refuse(text: str, node: ast.AST, what: str) -> ProtocolError:
    column = getattr(node, "col_offset", 0) + 1
    return ProtocolError(
        f"expression {text!r}: {what} at column {column} is not allowed; use comparisons "
        "(==, !=, <, <=, >, >=, in, not in), and/or/not, names, numbers, strings and lists"
    )


def _check(text: str, node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(text, value, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(text, node.operand, names)
    elif isinstance(node, ast.Compare):
        _check_compare(text, node, names)
    elif isinstance(node, ast.Name):
        names.add(node.id)
    elif not _is_literal(node):
        raise _refuse(text, node, type(node).__name__.lower())


def _check_compare(text: str, node: ast.Compare, names: set[str]) -> None:
    operands = [node.left, *node.comparators]
    for position, op in enumerate(node.ops):
        right = operands[position + 1]
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(right, ast.List | ast.Tuple) or not all(
                _is_literal(item) for item in right.elts
            ):
                raise _refuse(text, right, "'in' without a literal list on its right")
        elif type(op) not in _COMPARE:
            raise _refuse(text, node, f"the operator {type(op).__name__}")
    for operand in operands:
        if isinstance(operand, ast.List | ast.Tuple):
            continue
        if isinstance(operand, ast.Name):
            names.add(operand.id)
        elif not _is_literal(operand):
            raise _refuse(text, operand, type(operand).__name__.lower())


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool | int | float | str)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = node.operand
        return (
            isinstance(operand, ast.Constant)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        )
    return False


def _literal(node: ast.AST) -> Value:
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        number = node.operand.value
        if isinstance(number, int | float):
            return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
        return node.value
    raise ProtocolError(f"not a literal: {ast.dump(node)}")  # unreachable after _check


def _as_bool(expression: Expression, value: Value | tuple[Value, ...], where: str) -> bool:
    if not isinstance(value, bool):
        raise EligibilityError(
            f"expression {expression.text!r}: {where} must be yes/no, got {_kind(value)} {value!r}"
        )
    return value


def _eval(
    expression: Expression, node: ast.AST, values: Mapping[str, Value]
) -> Value | tuple[Value, ...]:
    if isinstance(node, ast.BoolOp):
        results = (
            _as_bool(expression, _eval(expression, v, values), "each operand") for v in node.values
        )
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _as_bool(expression, _eval(expression, node.operand, values), "'not' operand")
    if isinstance(node, ast.Compare):
        return _eval_compare(expression, node, values)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    return _literal(node)


def _eval_compare(expression: Expression, node: ast.Compare, values: Mapping[str, Value]) -> bool:
    left = _eval(expression, node.left, values)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _eval(expression, right_node, values)
        if not _compare(expression, op, left, right):
            return False
        left = right
    return True


def _compare(
    expression: Expression,
    op: ast.cmpop,
    left: Value | tuple[Value, ...],
    right: Value | tuple[Value, ...],
) -> bool:
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(right, tuple) or isinstance(left, tuple):
            raise EligibilityError(f"expression {expression.text!r}: 'in' needs a value and a list")
        found = any(_kind(left) == _kind(item) and left == item for item in right)
        return found if isinstance(op, ast.In) else not found
    if isinstance(left, tuple) or isinstance(right, tuple) or _kind(left) != _kind(right):
        raise EligibilityError(
            f"expression {expression.text!r} compares {_kind(left)} {left!r} with "
            f"{_kind(right)} {right!r}; both sides must be numbers, both text or both yes/no"
        )
    if isinstance(op, _ORDERING) and _kind(left) != "number":
        raise EligibilityError(
            f"expression {expression.text!r} orders {_kind(left)} values {left!r} and {right!r}; "
            "only numbers can be compared with <, <=, > or >="
        )
    return _COMPARE[type(op)](left, right)
