"""String keywords and the byte budget (ws_routes.generate.strings)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schema_strategies import reaches
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.failures import CutOff, Unsatisfiable
from ws_routes.generate.strings import string_strategy
from ws_routes.generate.values import json_size


def node(schema: dict[str, Any]) -> Any:
    return Canonicaliser(schema).canon(schema)


@settings(max_examples=100, deadline=None)
@given(low=st.integers(0, 20), extra=st.integers(0, 50), data=st.data())
def test_lengths_count_code_points(low: int, extra: int, data: st.DataObject) -> None:
    text = data.draw(
        string_strategy(node({"minLength": low, "maxLength": low + extra}), None, edges=True)
    )
    assert low <= len(text) <= low + extra
    text.encode()  # never a lone surrogate


def test_exact_length_edges_are_reached() -> None:
    strategy = string_strategy(node({"minLength": 3, "maxLength": 40}), None, edges=True)
    assert reaches(strategy, lambda t: len(t) == 3, 100)
    assert reaches(strategy, lambda t: len(t) == 40, 100)
    assert reaches(strategy, lambda t: any(ord(c) > 0xFFFF for c in t), 100)


@settings(max_examples=100, deadline=None)
@given(budget=st.integers(2, 400), low=st.integers(0, 50), data=st.data())
def test_the_budget_bounds_the_serialised_string(
    budget: int, low: int, data: st.DataObject
) -> None:
    try:
        strategy = string_strategy(node({"minLength": low}), budget, edges=True)
    except CutOff:
        assert low + 2 > budget
        return
    assert json_size(data.draw(strategy)) <= budget


@given(string_strategy(node({"minLength": 30}), 40, edges=True))
def test_a_tight_budget_falls_back_to_one_byte_characters(text: str) -> None:
    assert json_size(text) <= 40
    assert len(text) >= 30


@given(string_strategy(node({"format": "uuid", "pattern": "^[0-9a-f-]+$"}), None, edges=True))
def test_a_pattern_beside_a_format_is_checked(text: str) -> None:
    assert len(text) == 36


@given(string_strategy(node({"allOf": [{"pattern": "^[a-z]{2,6}$"}, {"pattern": "^[^q]*$"}]}), None,
                      edges=True))  # fmt: skip
def test_several_patterns_all_hold(text: str) -> None:
    # The first pattern builds the string, the others filter it: fine when they mostly agree.
    assert 2 <= len(text) <= 6
    assert "q" not in text


@pytest.mark.parametrize(
    ("schema", "message", "pointer"),
    [
        ({"minLength": 3, "maxLength": 1}, "minLength 3 is greater than maxLength 1", "/minLength"),
        (
            {"format": "date", "minLength": 11},
            "format 'date' strings have at most 10",
            "/minLength",
        ),
        ({"pattern": "^a{3}$", "minLength": 4}, "pattern '^a{3}$' only matches", "/pattern"),
    ],
)
def test_contradictions(schema: dict[str, Any], message: str, pointer: str) -> None:
    with pytest.raises(Unsatisfiable) as raised:
        string_strategy(node(schema), None, edges=True)
    assert raised.value.message.startswith(message)
    assert raised.value.pointer == pointer


def test_a_budget_too_small_is_a_cut_off() -> None:
    with pytest.raises(CutOff, match="max_size leaves 10 bytes here"):
        string_strategy(node({"format": "uuid"}), 10, edges=True)
