"""The public API of ws_routes.generate: every generated value is valid, every failure explained."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

import ws_routes.generate as generate
from tests.schema_strategies import gen_schemas, validator
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import check_schema, from_schema
from ws_routes.generate.values import json_size

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_public_api_is_explicit_and_sorted() -> None:
    assert generate.__all__ == sorted(generate.__all__)
    assert set(generate.__all__) == {
        "any_json",
        "awkward_bytes",
        "awkward_text",
        "check_schema",
        "from_schema",
        "json_messages",
        "register_format",
    }


def _compile_or_skip(schema: Any, **options: Any) -> Any:
    try:
        return from_schema(schema, **options)
    except SchemaCompileError as error:
        # An unsatisfiable schema is fine to meet; an error must still say where and why.
        problem = error
    assert problem.message
    assert problem.pointer == "" or problem.pointer.startswith("/")
    reject()


@PROPERTY
@given(schema=gen_schemas(), boundaries=st.booleans(), data=st.data())
def test_every_generated_value_is_valid(schema: Any, boundaries: bool, data: st.DataObject) -> None:
    note(json.dumps(schema))
    strategy = _compile_or_skip(schema, boundaries=boundaries)
    errors = validator(schema)
    for _ in range(3):
        value = data.draw(strategy)
        assert errors(value) == []


@PROPERTY
@given(schema=gen_schemas(), max_size=st.integers(16, 4000), data=st.data())
def test_max_size_bounds_the_serialised_value(
    schema: Any, max_size: int, data: st.DataObject
) -> None:
    note(json.dumps(schema))
    strategy = _compile_or_skip(schema, max_size=max_size)
    value = data.draw(strategy)
    assert json_size(value) <= max_size
    assert validator(schema)(value) == []


@settings(max_examples=50, deadline=None, database=None)
@given(gen_schemas())
def test_check_schema_agrees_with_from_schema(schema: Any) -> None:
    try:
        from_schema(schema)
    except SchemaCompileError as error:
        expected: SchemaCompileError | None = error
    else:
        expected = None
    if expected is None:
        check_schema(schema)
        return
    with pytest.raises(SchemaCompileError) as checked:
        check_schema(schema)
    assert (checked.value.message, checked.value.pointer) == (expected.message, expected.pointer)


@settings(max_examples=20, database=None)
@given(from_schema(True))
def test_the_true_schema_allows_any_json(value: Any) -> None:
    assert json.loads(json.dumps(value)) == value or value != value


def test_the_false_schema_allows_nothing() -> None:
    with pytest.raises(SchemaCompileError, match="the schema is false"):
        from_schema(False)


def test_strategies_have_short_reprs() -> None:
    schema = {"title": "Chat", "type": "object", "properties": {"a": {"type": "string"}}}
    assert (
        repr(from_schema(schema)) == "deferred(from_schema('Chat', max_size=None, boundaries=True))"
    )


@pytest.mark.parametrize("max_size", [0, -1, 1.5, True])
def test_max_size_must_be_a_positive_integer(max_size: Any) -> None:
    with pytest.raises(ValueError, match="max_size must be a positive integer"):
        from_schema({}, max_size=max_size)


_RECURSIVE_FOREVER = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/$defs/node"}},
            "required": ["next"],
        }
    },
    "$ref": "#/$defs/node",
}

# (schema, max_size, the start of the message, pointer, keyword)
ERRORS: list[tuple[Any, int | None, str, str, str | None]] = [
    (
        {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 5, "maxLength": 2}},
        },
        None,
        "minLength 5 is greater than maxLength 2: no string satisfies both",
        "/properties/name/minLength",
        "minLength",
    ),
    (
        {"type": "integer", "minimum": 5, "maximum": 1},
        None,
        "minimum 5 is greater than maximum 1: no number satisfies both",
        "/minimum",
        "minimum",
    ),
    (
        {"type": "number", "exclusiveMinimum": 3, "maximum": 3},
        None,
        "exclusiveMinimum 3 is equal to maximum 3: no number satisfies both",
        "/exclusiveMinimum",
        "exclusiveMinimum",
    ),
    (
        {
            "type": "object",
            "properties": {"a": {}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
        None,
        "required property 'b' is forbidden by additionalProperties false",
        "/required/1",
        "required",
    ),
    (
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
        None,
        "allOf requires types [string] and [integer] at once: no value has both",
        "/allOf/1/type",
        "type",
    ),
    (
        {"type": "integer", "enum": ["a", "b"]},
        None,
        "enum has no value of type integer: found 'a', 'b'",
        "/enum",
        "enum",
    ),
    (
        {"type": "array", "items": {"enum": [1, 2]}, "minItems": 3, "uniqueItems": True},
        None,
        "uniqueItems needs 3 distinct items, but items allows only 2 distinct values",
        "/uniqueItems",
        "uniqueItems",
    ),
    (
        {"type": "string", "pattern": "^[a-z]{5}$", "maxLength": 3},
        None,
        "pattern '^[a-z]{5}$' only matches strings of 5 to 5 characters, but minLength/maxLength allow 0 to 3",
        "/pattern",
        "pattern",
    ),
    (
        {"type": "string", "format": "uuid", "maxLength": 10},
        None,
        "format 'uuid' strings have at least 36 characters, but maxLength is 10",
        "/maxLength",
        "maxLength",
    ),
    (
        {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        None,
        "unsupported keyword 'if' (supported: $defs, $ref, additionalItems",
        "/if",
        "if",
    ),
    (
        {"properties": {"a": {"unevaluatedProperties": False}}},
        None,
        "unsupported keyword 'unevaluatedProperties'",
        "/properties/a/unevaluatedProperties",
        "unevaluatedProperties",
    ),
    (
        {"not": {"minimum": 3}},
        None,
        "unsupported 'not' subschema constraining minimum",
        "/not",
        "not",
    ),
    (
        {"$defs": {"mising": {}}, "$ref": "#/$defs/missing"},
        None,
        "$ref '#/$defs/missing' does not resolve (did you mean '#/$defs/mising'?)",
        "/$ref",
        "$ref",
    ),
    (
        {"properties": {"a": {"$ref": "https://example.com/a.json"}}},
        None,
        "remote $ref 'https://example.com/a.json' is not supported: copy the schema into a local file",
        "/properties/a/$ref",
        "$ref",
    ),
    (
        _RECURSIVE_FOREVER,
        None,
        "$ref '#/$defs/node' recurses without end: every value it allows contains another",
        "/$defs/node/properties/next/$ref",
        "$ref",
    ),
    (
        {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
        None,
        "$ref '#/$defs/a' is merged into itself",
        "/$defs/a/allOf/0/$ref",
        "$ref",
    ),
    (
        {
            "type": "object",
            "properties": {"s": {"type": "string", "minLength": 100}},
            "required": ["s"],
        },
        50,
        "max_size 50 is too small: the smallest value this schema allows takes 109 bytes as JSON",
        "",
        None,
    ),
    ({"type": "strin"}, None, "unknown type 'strin' (did you mean 'string'?)", "/type", "type"),
    (
        {"pattern": "("},
        None,
        "pattern '(' is not a valid regular expression",
        "/pattern",
        "pattern",
    ),
    (
        {"minLength": -1},
        None,
        "minLength must be a non-negative integer, found -1",
        "/minLength",
        "minLength",
    ),
    (
        {"exclusiveMinimum": True},
        None,
        "exclusiveMinimum must be a number, found True (the draft-04 boolean form is not supported)",
        "/exclusiveMinimum",
        "exclusiveMinimum",
    ),
    ({"items": [{}]}, None, "items must be a schema in draft 2020-12", "/items", "items"),
    (
        {"dependentRequired": {"a": ["b"]}, "dependencies": {"a": {"required": ["b"]}}},
        None,
        "dependencies with a schema (dependentSchemas) is not supported",
        "/dependencies/a",
        "dependencies",
    ),
    (
        {"$schema": "http://json-schema.org/draft-04/schema#"},
        None,
        "$schema 'http://json-schema.org/draft-04/schema#' is not supported",
        "/$schema",
        "$schema",
    ),
]


@pytest.mark.parametrize(
    ("schema", "max_size", "message", "pointer", "keyword"), ERRORS, ids=[e[2][:40] for e in ERRORS]
)
def test_errors_say_what_and_where(
    schema: Any, max_size: int | None, message: str, pointer: str, keyword: str | None
) -> None:
    with pytest.raises(SchemaCompileError) as raised:
        from_schema(schema, max_size=max_size)
    assert raised.value.message.startswith(message), raised.value.message
    assert (raised.value.pointer, raised.value.keyword) == (pointer, keyword)
    with pytest.raises(SchemaCompileError) as checked:
        check_schema(schema, max_size=max_size)
    assert checked.value.message == raised.value.message
