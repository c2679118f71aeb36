"""Array keywords (ws_routes.generate.arrays, through from_schema)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.schema_strategies import reaches, validator
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.generate.values import json_key, json_size

UNIQUE_MIXED = {"type": "array", "items": {"enum": [1, 1.0, True, "1"]}, "uniqueItems": True}


@given(from_schema(UNIQUE_MIXED))
def test_unique_items_use_json_equality(value: list[Any]) -> None:
    assert len({json_key(v) for v in value}) == len(value)  # 1 and 1.0 never both


def test_unique_items_reach_all_distinct_values() -> None:
    # 1 == 1.0 but True != 1 in JSON Schema: three distinct values.
    assert reaches(from_schema(UNIQUE_MIXED), lambda v: len(v) == 3, 100)
    with pytest.raises(SchemaCompileError, match="only 3 distinct values"):
        from_schema({**UNIQUE_MIXED, "minItems": 4})


@given(from_schema({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 5},
                    "uniqueItems": True, "minItems": 2}))  # fmt: skip
def test_unique_numbers(value: list[int]) -> None:
    assert len(set(value)) == len(value) >= 2


TUPLE = {
    "type": "array",
    "prefixItems": [{"type": "integer"}, {"type": "string"}, {"type": "boolean"}],
    "items": False,
    "minItems": 1,
}


@given(from_schema(TUPLE))
def test_prefix_items_with_no_more_items(value: list[Any]) -> None:
    assert validator(TUPLE)(value) == []
    assert 1 <= len(value) <= 3


def test_prefix_items_reach_every_length() -> None:
    for length in (1, 2, 3):
        assert reaches(from_schema(TUPLE), lambda v, n=length: len(v) == n, 100)


CONTAINS = {"type": "array", "contains": {"type": "string"}, "minContains": 2, "maxContains": 3,
            "items": {"type": ["string", "integer"]}}  # fmt: skip


@given(from_schema(CONTAINS))
def test_contains_counts(value: list[Any]) -> None:
    assert 2 <= sum(isinstance(v, str) for v in value) <= 3
    assert validator(CONTAINS)(value) == []


@pytest.mark.parametrize("length", [0, 7])
def test_empty_and_full_arrays_are_edges(length: int) -> None:
    strategy = from_schema({"type": "array", "items": {"type": "integer"}, "maxItems": 7})
    assert reaches(strategy, lambda v: len(v) == length, 60)


@settings(max_examples=100, deadline=None)
@given(max_size=st.integers(30, 600), data=st.data())
def test_arrays_fit_the_budget(max_size: int, data: st.DataObject) -> None:
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 2}
    value = data.draw(from_schema(schema, max_size=max_size))
    assert json_size(value) <= max_size
    assert len(value) >= 2


def test_contradictions() -> None:
    with pytest.raises(SchemaCompileError, match="minItems 3 is greater than maxItems 1"):
        from_schema({"type": "array", "minItems": 3, "maxItems": 1})
    with pytest.raises(SchemaCompileError, match="minContains 3 is greater than maxContains 2"):
        from_schema({"type": "array", "contains": {}, "minContains": 3, "maxContains": 2})
    with pytest.raises(SchemaCompileError, match="contains together with prefixItems"):
        from_schema({"type": "array", "contains": {}, "prefixItems": [{}]})


def test_unique_items_beyond_the_values_a_combinator_allows_is_an_error() -> None:
    # Found by the schema property test: anyOf narrowed `null` items to one distinct value.
    schema = {
        "type": "array",
        "items": {"type": "null", "anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "minItems": 2,
        "uniqueItems": True,
    }
    with pytest.raises(SchemaCompileError, match="needs 2 distinct items") as info:
        from_schema(schema)
    assert info.value.pointer == "/uniqueItems"


@pytest.mark.parametrize(
    ("items", "lengths"),
    [
        ({"anyOf": [{"type": "null"}]}, {0, 1}),
        ({"oneOf": [{"const": 1}, {"enum": [2, "x"]}]}, {0, 1, 2, 3}),
        ({"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/nothing"}]}, {0, 1, 2, 3}),
        # st.just([]) and the like: one value each.
        ({"type": "array", "maxItems": 0}, {0, 1}),
        ({"type": "integer", "minimum": 7, "maximum": 7}, {0, 1}),
    ],
)
def test_unique_items_of_few_values_stop_at_them(
    items: dict[str, Any], lengths: set[int]
) -> None:
    # Found by the schema property test (tests/generate/test_sizes.py): unique items of
    # {"anyOf": [{"type": "null"}]} were drawn as lists of two nulls, which Hypothesis refuses.
    schema = {
        "type": "array",
        "items": items,
        "maxItems": 4,
        "uniqueItems": True,
        "$defs": {"nothing": {"type": "null"}},
    }
    seen: set[int] = set()

    @settings(max_examples=200, database=None, deadline=None)
    @given(from_schema(schema))
    def draw(value: list[Any]) -> None:
        assert validator(schema)(value) == []
        seen.add(len(value))

    draw()
    assert seen == lengths


def test_arrays_with_thousands_of_required_items_generate_lean() -> None:
    # 2,048 required integers took 40 s for 5 examples before lean drawing (buffer overruns).
    schema = {"type": "array", "minItems": 2048, "items": {"type": "integer"}}

    @settings(
        max_examples=3,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow],
    )
    @given(from_schema(schema, max_size=65536))
    def test(value: list[Any]) -> None:
        assert len(value) >= 2048
        assert all(isinstance(v, int) for v in value)

    test()


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "array", "minItems": 5000}, "minItems"),
        ({"type": "string", "minLength": 5000}, "minLength"),
        ({"type": "object", "minProperties": 5000}, "minProperties"),
    ],
)
def test_minimums_hypothesis_cannot_draw_are_errors_at_the_keyword(
    schema: dict[str, Any], keyword: str
) -> None:
    with pytest.raises(SchemaCompileError, match=f"{keyword} 5000 is more than ws_routes can") as e:
        from_schema(schema, max_size=67108864)
    assert e.value.pointer == f"/{keyword}"
