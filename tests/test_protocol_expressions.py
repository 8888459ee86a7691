"""The criterion-expression evaluator: what it accepts, what it refuses, how it evaluates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import EligibilityError, ProtocolError
from hepatrial.protocol.expressions import parse_expression


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("meld >= 10 and meld <= 17", {"meld": 10.0}, True),
        ("meld >= 10 and meld <= 17", {"meld": 17.0}, True),
        ("meld >= 10 and meld <= 17", {"meld": 17.01}, False),
        ("meld >= 10 and meld <= 17", {"meld": 9.99}, False),
        ("10 <= meld <= 17", {"meld": 12}, True),
        ("10 <= meld <= 17", {"meld": 18}, False),
        ('aclf_definition == "APASL"', {"aclf_definition": "APASL"}, True),
        ('aclf_definition == "APASL"', {"aclf_definition": "EASL-CLIF"}, False),
        ("not hcc", {"hcc": False}, True),
        ("not hcc", {"hcc": True}, False),
        ("hcc or transplant", {"hcc": False, "transplant": True}, True),
        ('aetiology in ["alcohol", "masld"]', {"aetiology": "masld"}, True),
        ('aetiology not in ["alcohol", "masld"]', {"aetiology": "masld"}, False),
        ("temperature > -1.5", {"temperature": -1.0}, True),
        ("flag == True", {"flag": True}, True),
        ("(a > 1 or b > 1) and not c", {"a": 0, "b": 2, "c": False}, True),
    ],
)
def test_evaluates(text: str, values: dict[str, object], expected: bool) -> None:
    assert parse_expression(text).evaluate(values) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        ("__import__('os').system('true')", "call"),
        ("meld.real > 1", "attribute"),
        ("meld + 1 > 10", "binop"),
        ("labs[0] > 1", "subscript"),
        ("(lambda: 1)()", "call"),
        ("meld is None", "IsNot|Is"),
        ("[x for x in y]", "listcomp"),
        ("meld in allowed", "'in' without a literal list"),
        ("meld in [a, 2]", "'in' without a literal list"),
    ],
)
def test_refuses_everything_outside_the_grammar(text: str, construct: str) -> None:
    with pytest.raises(ProtocolError, match=construct):
        parse_expression(text)


def test_syntax_error_names_the_column() -> None:
    with pytest.raises(ProtocolError, match="not valid"):
        parse_expression("meld >= ")


def test_names_are_collected() -> None:
    assert parse_expression("age >= 18 and not hcc and 10 <= meld").names == {"age", "hcc", "meld"}


def test_missing_value_is_named() -> None:
    with pytest.raises(EligibilityError, match="needs meld, which is not available"):
        parse_expression("meld >= 10").evaluate({})


def test_text_compared_with_number_is_refused() -> None:
    with pytest.raises(EligibilityError, match="compares text 'ten' with number 10"):
        parse_expression("meld >= 10").evaluate({"meld": "ten"})


def test_bare_number_is_not_a_yes_no() -> None:
    with pytest.raises(EligibilityError, match="must be yes/no"):
        parse_expression("not meld").evaluate({"meld": 12})


def test_ordering_text_is_refused() -> None:
    with pytest.raises(EligibilityError, match="only numbers"):
        parse_expression('sex > "female"').evaluate({"sex": "male"})


def test_yes_no_does_not_equal_a_number() -> None:
    # True == 1 in Python; a criterion must not silently rely on that.
    with pytest.raises(EligibilityError, match="compares yes/no"):
        parse_expression("hcc == 1").evaluate({"hcc": True})


def test_explain_shows_values() -> None:
    expression = parse_expression("meld >= 10 and meld <= 17")
    assert expression.explain({"meld": 18.23456, "age": 40}) == (
        "meld >= 10 and meld <= 17 with meld=18.23"
    )


def _comparisons() -> st.SearchStrategy[str]:
    numbers = st.integers(-20, 20).map(str) | st.sampled_from(["0.5", "-1.5", "10.25"])
    operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    compare = st.builds(lambda n, o, v: f"{n} {o} {v}", st.sampled_from("xyz"), operators, numbers)
    chained = st.builds(
        lambda lo, n, hi: f"{lo} <= {n} < {hi}", numbers, st.sampled_from("xyz"), numbers
    )
    member = st.builds(
        lambda n, items: f"{n} in [{', '.join(items)}]",
        st.sampled_from("xyz"),
        st.lists(numbers, min_size=1, max_size=3),
    )
    return compare | chained | member | st.just("flag")


def _expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        _comparisons(),
        lambda inner: (
            st.builds(lambda a, b: f"({a}) and ({b})", inner, inner)
            | st.builds(lambda a, b: f"({a}) or ({b})", inner, inner)
            | inner.map(lambda a: f"not ({a})")
        ),
        max_leaves=8,
    )


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    text=_expressions(),
    x=st.integers(-25, 25),
    y=st.floats(-25, 25, allow_nan=False),
    z=st.sampled_from([0.5, -1.5, 10.25, 3.0]),
    flag=st.booleans(),
)
def test_agrees_with_python_semantics(text: str, x: int, y: float, z: float, flag: bool) -> None:
    """Within the grammar the evaluator must agree with Python itself (used here only as the
    oracle, on generated text; the library never calls eval)."""
    values = {"x": x, "y": y, "z": z, "flag": flag}
    expected = eval(text, {"__builtins__": {}}, dict(values))  # noqa: S307
    assert parse_expression(text).evaluate(values) is bool(expected)
