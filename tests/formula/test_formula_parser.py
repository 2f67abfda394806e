"""Example-based tests for the formula tokenizer/parser: trees, positions, errors, limits."""

from __future__ import annotations

import pytest

from trendcalc.errors import ValidationError
from trendcalc.formula import (
    Binary,
    Number,
    SeriesRef,
    Unary,
    clean_legacy_formula,
    depth,
    parse_formula,
)

A, B, C = SeriesRef(0, "A"), SeriesRef(1, "B"), SeriesRef(2, "C")


def num(v: float) -> Number:
    return Number(v)


def add(left, right):
    return Binary("+", left, right)


def sub(left, right):
    return Binary("-", left, right)


def mul(left, right):
    return Binary("*", left, right)


def pw(left, right):
    return Binary("**", left, right)


def neg(x):
    return Unary("-", x)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("A+2*B", add(A, mul(num(2), B))),
        ("(A+B)*C", mul(add(A, B), C)),
        ("A-B-C", sub(sub(A, B), C)),
        ("A/B*C", mul(Binary("/", A, B), C)),
        ("A%B*C", mul(Binary("%", A, B), C)),
        ("A*B%C", Binary("%", mul(A, B), C)),
        ("A-B+C", add(sub(A, B), C)),
        ("A-(B+C)", sub(A, add(B, C))),
        ("2**3**2", pw(num(2), pw(num(3), num(2)))),
        ("(2**3)**2", pw(pw(num(2), num(3)), num(2))),
        ("-A**2", neg(pw(A, num(2)))),
        ("(-A)**2", pw(neg(A), num(2))),
        ("A**-B", pw(A, neg(B))),
        ("A**-B**C", pw(A, neg(pw(B, C)))),
        ("2*-A", mul(num(2), neg(A))),
        ("--A", neg(neg(A))),
        ("-+-A", neg(Unary("+", neg(A)))),
        ("A--B", sub(A, neg(B))),
        ("+A", Unary("+", A)),
        ("((A))", A),
        ("-2", neg(num(2))),
    ],
)
def test_precedence_and_associativity(text: str, tree) -> None:
    assert parse_formula(text) == tree


@pytest.mark.parametrize(
    "text",
    ["a+b*c", "A + B * C", "  a\t+\nB *c  ", "(a)+(b*(c))", "A+b*C"],
)
def test_whitespace_and_case_do_not_matter(text: str) -> None:
    assert parse_formula(text) == add(A, mul(B, C))


def test_letters_map_to_indexes_case_insensitively() -> None:
    assert parse_formula("z") == SeriesRef(25, "Z")
    assert parse_formula("Z") == SeriesRef(25, "Z")
    assert parse_formula("c").index == 2
    assert parse_formula("c").letter == "C"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("1e+2", 100.0),
        ("2.5e1", 25.0),
        ("1.e2", 100.0),
        ("0", 0.0),
        ("00", 0.0),
        ("0.0", 0.0),
        ("007.5", 7.5),
        ("1_000", 1000.0),
        ("0x1F", 31.0),
        ("0o17", 15.0),
        ("0b101", 5.0),
        ("1e400", float("inf")),
    ],
)
def test_number_literals(text: str, value: float) -> None:
    assert parse_formula(text) == Number(value)


def test_positions_point_into_the_original_text() -> None:
    tree = parse_formula("  a + (2.5*B)")
    assert isinstance(tree, Binary)
    assert (tree.position, tree.left.position) == (4, 2)
    assert isinstance(tree.right, Binary)
    assert (tree.right.position, tree.right.left.position, tree.right.right.position) == (10, 7, 11)
    assert parse_formula("-a").position == 0


def error_message(text: str, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        parse_formula(text, **kwargs)
    assert info.value.path == kwargs.get("path", ("formula",))
    return info.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "formula is empty"),
        ("   ", "formula is empty"),
        ("a+b)", "unbalanced ')' at position 3: no matching '('"),
        ("(a+b", "unbalanced '(' at position 0: no matching ')'"),
        ("((a)", "unbalanced '(' at position 0: no matching ')'"),
        ("(a b)", "unexpected series 'b' at position 3; expected an operator or ')'"),
        ("a+)", "unexpected ')' at position 2; expected a series letter, number or '('"),
        ("()", "unexpected ')' at position 1; expected a series letter, number or '('"),
        ("a+", "unexpected end of formula at position 2; expected a series letter, number or '('"),
        ("a*", "unexpected end of formula at position 2"),
        ("a**", "unexpected end of formula at position 3"),
        ("-", "unexpected end of formula at position 1"),
        ("*a", "unexpected '*' at position 0; expected a series letter, number or '('"),
        ("a***b", "unexpected '*' at position 3"),
        ("a b", "unexpected series 'b' at position 2; expected an operator"),
        ("a 2", "unexpected number '2' at position 2; expected an operator"),
        ("AB", "unknown name 'AB' at position 0: series name must be a single letter"),
        ("a+bc", "unknown name 'bc' at position 2: series name must be a single letter"),
        ("a1", "unknown name 'a1' at position 0"),
        ("_", "unknown name '_' at position 0"),
        ("not a", "unknown name 'not' at position 0"),
        ("a^b", "'^' is not supported; use '**' for powers (at position 1)"),
        ("a//b", "floor division '//' is not supported (at position 1)"),
        ("a < b", "comparisons are not supported (at position 2)"),
        ("a>=b", "comparisons are not supported (at position 1)"),
        ("a==b", "comparisons are not supported (at position 1)"),
        ("a!=b", "comparisons are not supported (at position 1)"),
        ("a=b", "assignment is not supported (at position 1)"),
        ("a<<b", "bit shifts are not supported (at position 1)"),
        ("a&b", "bitwise operators are not supported (at position 1)"),
        ("~a", "bitwise operators are not supported (at position 0)"),
        ("a@b", "matrix multiplication is not supported (at position 1)"),
        ("a(b)", "function calls are not supported ('(' at position 1)"),
        ("(a)(b)", "function calls are not supported ('(' at position 3)"),
        ("2 (3)", "function calls are not supported ('(' at position 2)"),
        ("a+a**b(c)", "function calls are not supported ('(' at position 6)"),
        ("a,b", "unexpected character ',' at position 1"),
        ("a.b", "unexpected character '.' at position 1"),
        ("a#b", "unexpected character '#' at position 1"),
        ("é", "unexpected character 'é' at position 0"),
        ("01", "invalid number '01' at position 0"),
        ("1j", "invalid number '1j' at position 0"),
        ("2a", "invalid number '2a' at position 0"),
        ("1e", "invalid number '1e' at position 0"),
        ("1_", "invalid number '1_' at position 0"),
        ("1__0", "invalid number '1__0' at position 0"),
        ("1.5.2", "invalid number '1.5.2' at position 0"),
        ("a+0x", "invalid number '0x' at position 2"),
        ("0b12", "invalid number '0b12' at position 0"),
    ],
)
def test_errors_name_the_position(text: str, message: str) -> None:
    assert message in error_message(text)


def test_error_path_is_the_callers() -> None:
    assert error_message("a+", path=("series", 2, "formula")).startswith("unexpected end")


def test_max_length() -> None:
    assert parse_formula("a" + " " * 999) == A
    assert error_message("a" + " " * 1000) == (
        "formula is 1001 characters long; at most 1000 are allowed (excess starts at position 1000)"
    )
    assert "at most 3 are allowed" in error_message("a+b+c", max_length=3)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("(" * 100_000 + "a" + ")" * 100_000, 64),
        ("-" * 100_000 + "a", 64),
        ("a**" * 100_000 + "a", 193),
        ("a+" * 100_000 + "a", 127),  # a long chain is a tall tree, though parsed iteratively
    ],
)
def test_deep_input_fails_without_recursion_error(text: str, position: int) -> None:
    # speed is measured in benchmarks, not here: only the error (not RecursionError) is asserted
    message = error_message(text, max_length=len(text))
    assert message == f"formula nests deeper than 64 levels at position {position}"


def test_max_depth_boundary() -> None:
    assert depth(parse_formula("-" * 63 + "a")) == 64
    assert "deeper than 64" in error_message("-" * 64 + "a")
    assert parse_formula("(" * 64 + "a" + ")" * 64) == A
    assert "deeper than 64 levels at position 64" in error_message("(" * 65 + "a" + ")" * 65)
    assert depth(parse_formula("+".join("a" * 64))) == 64
    assert "deeper than 64" in error_message("+".join("a" * 65))
    assert "deeper than 2 levels" in error_message("a+b+c", max_depth=2)


def test_huge_max_depth_still_gives_validation_error() -> None:
    text = "(" * 50_000 + "a" + ")" * 50_000
    message = error_message(text, max_length=len(text), max_depth=10**9)
    assert message == "formula nests too deeply"


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("A+2*B", "A+2*B"),
        ("A % B", "A  B"),
        ("(A, B)", "(A B)"),
        ("a^b - 1.5/c", "a^b - 1.5/c"),
        ("A\t+\nB", "A+B"),
        ("A_1 == B", "A1  B"),
        ("Ä+é+٣", "++"),
        ("%%,", None),
        ("", None),
        ("   ", "   "),
    ],
)
def test_clean_legacy_formula(text: str, cleaned: str | None) -> None:
    assert clean_legacy_formula(text) == cleaned


def test_cleaned_modulo_becomes_a_multi_letter_name() -> None:
    cleaned = clean_legacy_formula("A%B")
    assert cleaned == "AB"
    assert "series name must be a single letter" in error_message(cleaned)
