"""Awkward text and bytes, and arbitrary JSON (ws_routes.generate.awkward)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schema_strategies import reaches
from ws_routes.generate import any_json, awkward_bytes, awkward_text
from ws_routes.generate.values import json_size


@given(awkward_text())
def test_text_is_valid_utf8(text: str) -> None:
    text.encode("utf-8")  # raises on lone surrogates


@settings(max_examples=100, deadline=None)
@given(low=st.integers(0, 10), extra=st.integers(0, 30), data=st.data())
def test_text_lengths_are_within_bounds(low: int, extra: int, data: st.DataObject) -> None:
    text = data.draw(awkward_text(min_size=low, max_size=low + extra))
    assert low <= len(text) <= low + extra


@pytest.mark.parametrize(
    "condition",
    [
        lambda t: t == "",
        lambda t: "\x00" in t,
        lambda t: any(ord(c) > 0xFFFF for c in t),
        lambda t: any("\u0590" <= c <= "\u08ff" for c in t),  # Hebrew, Arabic
        lambda t: any("\u0300" <= c <= "\u036f" for c in t),  # combining marks
        lambda t: "\u200d" in t,  # zero width joiner (emoji sequences)
        lambda t: len(t) >= 4096,  # very long
    ],
    ids=["empty", "nul", "astral", "rtl", "combining", "zwj", "long"],
)
def test_text_reaches_awkward_cases(condition: Any) -> None:
    assert reaches(awkward_text(), condition, 200)


def test_text_reaches_the_exact_maximum() -> None:
    assert reaches(awkward_text(min_size=2, max_size=9), lambda t: len(t) == 9, 100)


def test_text_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="max_size 1 is less than min_size 2"):
        awkward_text(min_size=2, max_size=1)


@given(awkward_bytes(min_size=1, max_size=20))
def test_bytes_lengths(data: bytes) -> None:
    assert 1 <= len(data) <= 20


def test_bytes_reach_invalid_utf8() -> None:
    def invalid(data: bytes) -> bool:
        try:
            data.decode()
        except UnicodeDecodeError:
            return True
        return False

    assert reaches(awkward_bytes(), invalid, 100)
    assert reaches(awkward_bytes(), lambda b: b == b"", 100)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


@given(any_json())
def test_any_json_round_trips(value: Any) -> None:
    assert _finite(value)
    assert json.loads(json.dumps(value)) == value


@settings(max_examples=100, deadline=None)
@given(max_size=st.integers(1, 500), data=st.data())
def test_any_json_respects_max_size(max_size: int, data: st.DataObject) -> None:
    assert json_size(data.draw(any_json(max_size=max_size))) <= max_size


def test_any_json_nests() -> None:
    assert reaches(
        any_json(),
        lambda v: isinstance(v, dict) and any(isinstance(x, list) for x in v.values()),
        200,
    )


def test_strategies_have_short_reprs() -> None:
    assert repr(any_json(max_size=10)) == "deferred(any_json(max_size=10))"
