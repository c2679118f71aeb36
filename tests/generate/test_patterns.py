"""Strings matching patterns, with length bounds (ws_routes.generate.patterns)."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.schema_strategies import PATTERNS, reaches
from ws_routes.generate.patterns import (
    PatternError,
    pattern_error,
    pattern_max_char_bytes,
    pattern_search,
    pattern_strategy,
    pattern_width,
    translate,
)


@pytest.mark.parametrize(
    ("pattern", "translated"),
    [
        ("^a$", r"^a\Z"),
        (r"a\$", r"a\$"),
        ("[$]$", r"[$]\Z"),
        ("[]$]b", "[]$]b"),
        ("a|b$", r"a|b\Z"),
    ],
)
def test_dollar_becomes_end_of_string(pattern: str, translated: str) -> None:
    assert translate(pattern) == translated


@pytest.mark.parametrize(
    ("pattern", "width"),
    [("^[a-z]{2,4}$", (2, 4)), ("^a+$", (1, None)), ("abc", (3, None)), ("^(ab|c)$", (1, 2))],
)
def test_pattern_width(pattern: str, width: tuple[int, int | None]) -> None:
    assert pattern_width(pattern) == width


def test_invalid_patterns_are_reported() -> None:
    assert pattern_error("(") is not None
    assert pattern_error("^[a-z]+$") is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    pattern=st.sampled_from(PATTERNS),
    low=st.integers(0, 6),
    extra=st.none() | st.integers(0, 30),
    data=st.data(),
)
def test_generated_strings_match_with_lengths_in_bounds(
    pattern: str, low: int, extra: int | None, data: st.DataObject
) -> None:
    high = None if extra is None else low + extra
    try:
        strategy = pattern_strategy(pattern, low, high, edges=True)
    except PatternError:
        return
    text = data.draw(strategy)
    assert pattern_search(pattern, text)
    assert low <= len(text)
    assert high is None or len(text) <= high
    if pattern.endswith("$"):
        assert not text.endswith("\n")  # ECMA's $ is the end of the string


@given(pattern_strategy(r"^\d{3}\w$", 0, None, edges=True))
def test_classes_are_ascii_as_in_ecma(text: str) -> None:
    assert re.fullmatch(r"[0-9]{3}[A-Za-z0-9_]", text)


@pytest.mark.parametrize("length", [4, 12])
def test_linear_patterns_reach_both_length_bounds(length: int) -> None:
    # The pattern's shortest match (4) is above minLength 3, so 4 is the lower edge.
    strategy = pattern_strategy("^[A-Z]{2,4}-[0-9]{1,20}$", 3, 12, edges=True)
    assert reaches(strategy, lambda text: len(text) == length, 100)


def test_unanchored_patterns_get_padding() -> None:
    assert reaches(pattern_strategy("ab", 0, None, edges=True), lambda t: t != "ab", 100)


def test_impossible_lengths_raise() -> None:
    with pytest.raises(PatternError):
        pattern_strategy("^[a-z]{5}$", 0, 3, edges=True)
    with pytest.raises(PatternError):
        pattern_strategy("^(ab|cd)$", 3, None, edges=True)


def test_max_char_bytes() -> None:
    assert pattern_max_char_bytes("^[a-z]+$") == 1
    assert pattern_max_char_bytes('^["]+$') == 2
    assert pattern_max_char_bytes("^[\u00e9]$") == 2
    assert pattern_max_char_bytes("^.$") == 4
    assert pattern_max_char_bytes("a") == 6  # unanchored: any text around it


@pytest.mark.parametrize(
    "pattern", [r"^[^\s]*$", r"^\S+$", r"^\D{2,5}$", r"^\W+$", r"^[^\d\w]{1,3}$", r"^x\s?y$"]
)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_categories_satisfy_python_and_ecma_alike(pattern: str, data: st.DataObject) -> None:
    # Python (jsonschema) reads \d \w \s with Unicode meanings, ECMA 262 (jsonschema-rs, browsers)
    # with ASCII ones but a wider \s: generated strings must match in both dialects.
    text = data.draw(pattern_strategy(pattern, 0, None, edges=True))
    assert pattern_search(pattern, text)
    assert jsonschema_rs.validator_for({"pattern": pattern}).is_valid(text)
