"""JSON equality, types and serialised sizes (ws_routes.generate.values)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ws_routes.generate.awkward import json_strategy
from ws_routes.generate.values import (
    char_bytes,
    json_equal,
    json_key,
    json_size,
    json_type,
    string_bytes,
)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        (None, False, False),
        ([1, "a"], [1.0, "a"], True),
        ({"a": 1, "b": [True]}, {"b": [True], "a": 1.0}, True),
        ({"a": 1}, {"a": True}, False),
        ("1", 1, False),
    ],
)
def test_json_schema_equality(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert (json_key(a) == json_key(b)) is equal


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, "null"), (True, "boolean"), (3, "integer"), (3.0, "integer"), (3.5, "float"),
     ("", "string"), ([], "array"), ({}, "object")],
)  # fmt: skip
def test_json_types(value: Any, kind: str) -> None:
    assert json_type(value) == kind


def test_json_type_rejects_non_json() -> None:
    with pytest.raises(TypeError, match="not a JSON value"):
        json_type(object())


@given(st.characters(codec="utf-8"))
def test_char_bytes_match_json_dumps(char: str) -> None:
    assert char_bytes(char) == len(json.dumps(char, ensure_ascii=False).encode()) - 2


@given(st.text())
def test_string_bytes_match_json_dumps(text: str) -> None:
    assert string_bytes(text) == json_size(text)


@given(json_strategy())
def test_json_key_is_hashable_for_any_json(value: Any) -> None:
    assert json_key(value) == json_key(json.loads(json.dumps(value)))


def test_json_size_counts_a_lone_surrogate_as_its_escape() -> None:
    # A schema may hold "\ud800" (enum, const, a property name); it travels as a 6-byte escape.
    assert json_size("\ud800") == len('"\\ud800"')
    assert json_size({"\udc00": ["\ud800", "é"]}) == len('{"\\udc00": ["\\ud800", "é"]}'.encode())
