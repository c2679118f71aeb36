"""Object keywords (ws_routes.generate.objects, through from_schema)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.schema_strategies import reaches, validator
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.generate.values import json_size

PATTERNED = {
    "type": "object",
    "properties": {"id": {"type": "integer"}},
    "required": ["id"],
    "patternProperties": {"^x-": {"type": "string"}, "^n_[0-9]+$": {"type": "number"}},
    "additionalProperties": False,
}


@settings(max_examples=50)
@given(from_schema(PATTERNED))
def test_pattern_properties(value: dict[str, Any]) -> None:
    assert validator(PATTERNED)(value) == []
    for key in value:
        assert key == "id" or re.search("^x-|^n_[0-9]+$", key)


def test_pattern_properties_are_generated() -> None:
    assert reaches(from_schema(PATTERNED), lambda v: any(k.startswith("x-") for k in v), 100)


NAMED = {"type": "object", "propertyNames": {"pattern": "^[a-z]{1,3}$"}, "minProperties": 2,
         "additionalProperties": {"type": "boolean"}}  # fmt: skip


@given(from_schema(NAMED))
def test_property_names_and_counts(value: dict[str, Any]) -> None:
    assert validator(NAMED)(value) == []
    assert len(value) >= 2


COUNTED = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in "abcdef"},
    "minProperties": 2,
    "maxProperties": 3,
    "additionalProperties": False,
    "dependentRequired": {"a": ["b"]},
}


@given(from_schema(COUNTED))
def test_min_max_properties_and_dependent_required(value: dict[str, Any]) -> None:
    assert validator(COUNTED)(value) == []


def test_a_dependency_is_followed() -> None:
    assert reaches(from_schema(COUNTED), lambda v: "a" in v, 100)


OPTIONAL = {"type": "object", "properties": {k: {"type": "null"} for k in "abcde"},
            "additionalProperties": False}  # fmt: skip


@pytest.mark.parametrize("size", [0, 5])
def test_empty_and_full_objects_are_edges(size: int) -> None:
    assert reaches(from_schema(OPTIONAL), lambda v: len(v) == size, 60)


@given(from_schema({"type": "object", "properties": {"gone": False, "kept": {"type": "null"}}}))
def test_false_properties_never_appear(value: dict[str, Any]) -> None:
    assert "gone" not in value


@settings(max_examples=100, deadline=None)
@given(max_size=st.integers(20, 800), data=st.data())
def test_objects_fit_the_budget(max_size: int, data: st.DataObject) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array"}},
              "required": ["name"]}  # fmt: skip
    value = data.draw(from_schema(schema, max_size=max_size))
    assert json_size(value) <= max_size
    assert validator(schema)(value) == []


QUERIES = ["subscription { countdown(from: 3) }", "{ hello }", "{ nope }",
           "query Long { " + "field " * 20 + "}"]  # fmt: skip


def graphql_payload(others: int, *, optional_enum: bool = False) -> dict[str, Any]:
    free: list[Any] = [{"type": "string"}, {"type": "object"}, {}, {"type": "array"}]
    props = {f"p{i}": free[i % len(free)] for i in range(others)}
    return {"type": "object", "properties": {"query": {"enum": QUERIES}, **props},
            "required": [] if optional_enum else ["query"]}  # fmt: skip


@pytest.mark.parametrize("others", [2, 3, 5])
@pytest.mark.parametrize("max_size", [256, 65536])
@pytest.mark.parametrize("optional_enum", [False, True])
def test_every_enum_value_is_reachable_beside_free_properties(
    others: int, max_size: int, optional_enum: bool
) -> None:
    # The user trial's bug: the slack went to the free properties in proportion to what they
    # could use (everything), and the enum's longest values never fit the rest of its share.
    schema = graphql_payload(others, optional_enum=optional_enum)
    strategy = from_schema(schema, max_size=max_size)
    for query in QUERIES:

        def asks(value: dict[str, Any], query: str = query) -> bool:
            return value.get("query") == query

        assert reaches(strategy, asks, 100), query


@settings(max_examples=50, deadline=None)
@given(max_size=st.integers(30, 300), data=st.data())
def test_enum_shares_keep_values_valid_and_within_max_size(
    max_size: int, data: st.DataObject
) -> None:
    schema = graphql_payload(3)
    value = data.draw(from_schema(schema, max_size=max_size))
    assert json_size(value) <= max_size
    assert validator(schema)(value) == []


@pytest.mark.parametrize(
    ("schema", "message", "pointer"),
    [
        ({"type": "object", "minProperties": 3, "maxProperties": 1},
         "minProperties 3 is greater than maxProperties 1", "/minProperties"),
        ({"type": "object", "required": ["a", "b"], "maxProperties": 1},
         "2 properties are required but maxProperties is 1", "/maxProperties"),
        ({"type": "object", "required": ["Ab"], "propertyNames": {"pattern": "^[a-z]+$"}},
         "required property 'Ab' does not satisfy propertyNames", "/propertyNames"),
        ({"type": "object", "properties": {"a": {}}, "additionalProperties": False, "minProperties": 2},
         "minProperties 2 cannot be met: at most 1 properties are allowed", "/minProperties"),
    ],
)  # fmt: skip
def test_contradictions(schema: dict[str, Any], message: str, pointer: str) -> None:
    with pytest.raises(SchemaCompileError) as raised:
        from_schema(schema)
    assert raised.value.message.startswith(message)
    assert raised.value.pointer == pointer


def _required_object(count: int, leaf: dict[str, Any]) -> dict[str, Any]:
    names = [f"p{i}" for i in range(count)]
    return {"type": "object", "properties": dict.fromkeys(names, leaf), "required": names}


@pytest.mark.parametrize("leaf", [{"type": "integer"}, {"type": "string"}, {"enum": ["a", "b"]}])
def test_a_thousand_required_properties_generate(leaf: dict[str, Any]) -> None:
    # Before the lean drawing these overran Hypothesis's choice buffer nearly every time.
    schema = _required_object(1000, leaf)
    check = validator(schema)

    # The runner suppresses the large-base-example health check too: such values are large.
    @settings(
        max_examples=5,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow],
    )
    @given(from_schema(schema, max_size=65536))
    def test(value: dict[str, Any]) -> None:
        assert set(value) >= set(schema["required"])
        assert not check(value)

    test()


def test_more_required_properties_than_can_be_drawn_is_an_error_at_required() -> None:
    with pytest.raises(SchemaCompileError, match="1001 required properties: ws_routes") as info:
        from_schema(_required_object(1001, {"type": "integer"}))
    assert info.value.pointer == "/required"


def test_values_nested_deeper_than_hypothesis_draws_are_an_error_or_left_out() -> None:
    deep: dict[str, Any] = {"type": "integer"}
    for _ in range(100):
        deep = {"type": "object", "properties": {"a": deep}, "required": ["a"]}
    with pytest.raises(SchemaCompileError, match="values nest too deep here for Hypothesis to draw"):
        from_schema(deep)
    optional: dict[str, Any] = {"type": "integer"}
    for _ in range(100):
        optional = {"type": "object", "properties": {"a": optional}}

    @settings(max_examples=10, database=None, deadline=None)
    @given(from_schema(optional))
    def test(value: dict[str, Any]) -> None:
        assert isinstance(value, dict)

    test()
