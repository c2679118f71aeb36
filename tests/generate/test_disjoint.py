"""Proving oneOf branches disjoint, so no filter is needed (ws_routes.generate.disjoint)."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.disjoint import covers, disjoint


def _pair(a: Any, b: Any) -> tuple[Any, Any, Any]:
    schema = {"$defs": {"a": a, "b": b}}
    canonicaliser = Canonicaliser(schema)
    return (
        canonicaliser.resolve("#/$defs/a", ""),
        canonicaliser.resolve("#/$defs/b", ""),
        canonicaliser.resolve,
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"type": "string"}, {"type": "integer"}, True),
        ({"type": "number"}, {"type": "integer"}, False),
        ({"const": 1}, {"const": 2}, True),
        ({"enum": [1, 2]}, {"type": "integer", "minimum": 2}, False),
        ({"type": "string", "maxLength": 2}, {"type": "string", "minLength": 3}, True),
        ({"type": "integer", "maximum": 2}, {"type": "integer", "exclusiveMinimum": 2}, True),
        ({"type": "array", "maxItems": 0}, {"type": "array", "minItems": 1}, True),
        # discriminated unions: a const on a property both require
        ({"type": "object", "properties": {"t": {"const": "a"}}, "required": ["t"]},
         {"type": "object", "properties": {"t": {"const": "b"}}, "required": ["t"]}, True),
        # one requires a property the other forbids (JSON-RPC result vs error)
        ({"type": "object", "required": ["result"]},
         {"type": "object", "properties": {"error": {}}, "additionalProperties": False}, True),
        ({"type": "object", "required": ["a"]}, {"type": "object", "required": ["b"]}, False),
    ],
)  # fmt: skip
def test_disjoint(a: Any, b: Any, expected: bool) -> None:
    left, right, resolve = _pair(a, b)
    assert disjoint(left, right, resolve) is expected
    assert disjoint(right, left, resolve) is expected


def test_covers_only_type_only_outer_schemas() -> None:
    number, integer, resolve = _pair({"type": "number"}, {"type": "integer", "minimum": 3})
    assert covers(number, integer, resolve)
    assert not covers(integer, number, resolve)
