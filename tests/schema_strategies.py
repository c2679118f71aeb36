"""Hypothesis strategies *of JSON Schemas*, to property-test ``ws_routes.generate``.

In the spirit of hypothesis-jsonschema's ``gen_schemas``: every keyword the compiler supports
appears, nested and combined, with values chosen so that most schemas are satisfiable (bounds
drawn in order, lengths that patterns can meet). Some still are not (an ``allOf`` of
disjoint types, a ``oneOf`` whose branches coincide); tests skip those when the compiler says
so with a :class:`~ws_routes.errors.SchemaCompileError`.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any

import jsonschema
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

__all__ = [
    "RECURSIVE_SCHEMAS",
    "examples",
    "gen_schemas",
    "json_leaves",
    "reaches",
    "scalar_schemas",
    "validator",
]

Schema = dict[str, Any]

# Patterns as people write them: anchored and not, classes, repeats, alternation, escapes.
PATTERNS = (
    "^[a-z]+$",
    "^[A-Z]{2,4}-[0-9]{1,3}$",
    "a",
    "^x",
    "y$",
    "^(foo|bar)$",
    r"\d{3}",
    r"^[^\s]*$",
    "^.{2,5}$",
    "^[a-f0-9]{8}$",
    "\u00e9",
    r"^\w+@\w+\.com$",
    r"^[a-z][a-z0-9_.-]{0,7}$",
    r"^\+?[1-9][0-9]{2,6}$",
    r"^\S{1,8}$",
    r"\D\W",
)
FORMATS = ("date", "time", "date-time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname")
KEYS = ("a", "b", "c", "id", "type", "x-y", "", "\u00e9")
_STEPS = (1, 2, 3, 5, 10, 0.5, 0.25, 0.1, 0.01, 2.5)

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(-1000, 1000, allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
_json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=5,
)


@st.composite
def _numbers(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": draw(st.sampled_from(["integer", "number"]))}
    low = draw(st.none() | st.integers(-(2**40), 2**40) | st.floats(-1e6, 1e6, allow_nan=False))
    high = draw(st.none() | st.integers(-(2**40), 2**40) | st.floats(-1e6, 1e6, allow_nan=False))
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is not None and high is not None and high - low < 10:
        high = low + 10  # leave room for multipleOf and exclusive bounds
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    if draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from(_STEPS))
    return schema


@st.composite
def _strings(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    kind = draw(st.sampled_from(["plain", "pattern", "format"]))
    if kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
        if draw(st.booleans()):
            schema["maxLength"] = draw(st.integers(8, 40))
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(0, 3))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
        if draw(st.booleans()):
            schema["maxLength"] = 60
    else:
        low = draw(st.integers(0, 10))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 20))
    return schema


@st.composite
def _enums(draw: st.DrawFn) -> Schema:
    values = draw(st.lists(_json_values, min_size=1, max_size=4))
    if len(values) == 1 and draw(st.booleans()):
        return {"const": values[0]}
    schema: Schema = {"enum": values}
    if draw(st.booleans()):
        # A type that keeps at least one value (or none: an error the tests skip).
        schema["type"] = draw(
            st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])
        )
    return schema


scalar_schemas: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [{}, True, {"type": "null"}, {"type": "boolean"}, {"type": ["string", "null"]}]
    ),
    _numbers(),
    _strings(),
    _enums(),
    st.sampled_from(
        [
            {"not": {"type": "string"}},
            {"type": "integer", "not": {"const": 0}},
            {"type": "string", "not": {"enum": ["", "a"]}},
            {"not": {"type": ["object", "array"]}},
        ]
    ),
)


def _arrays(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    @st.composite
    def build(draw: st.DrawFn) -> Schema:
        schema: Schema = {"type": "array"}
        shape = draw(st.sampled_from(["items", "prefix", "contains", "bare"]))
        if shape == "items":
            schema["items"] = draw(children)
        elif shape == "prefix":
            schema["prefixItems"] = draw(st.lists(children, min_size=1, max_size=3))
            schema["items"] = draw(st.sampled_from([False, True, {"type": "integer"}]))
        elif shape == "contains":
            schema["contains"] = draw(children)
            if draw(st.booleans()):
                schema["minContains"] = draw(st.integers(0, 2))
            if draw(st.booleans()):
                schema["maxContains"] = draw(st.integers(2, 3))
        low = draw(st.integers(0, 3))
        if draw(st.booleans()):
            schema["minItems"] = low
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 4))
        if draw(st.booleans()):
            schema["uniqueItems"] = True
        return schema

    return build()


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    @st.composite
    def build(draw: st.DrawFn) -> Schema:
        schema: Schema = {"type": "object"}
        properties = draw(st.dictionaries(st.sampled_from(KEYS), children, max_size=4))
        if properties:
            schema["properties"] = properties
            names = list(properties)
            schema["required"] = draw(
                st.lists(st.sampled_from(names), unique=True, max_size=len(names))
            )
        if draw(st.booleans()):
            schema["patternProperties"] = draw(
                st.dictionaries(
                    st.sampled_from(["^x-", "^[0-9]+$", "z"]), children, min_size=1, max_size=2
                )
            )
        schema["additionalProperties"] = draw(
            st.sampled_from([True, False, {"type": "integer"}, {"type": "string"}])
        )
        if draw(st.integers(0, 5)) == 0:
            schema["propertyNames"] = draw(
                st.sampled_from([{"maxLength": 3}, {"pattern": "^[a-z-]*$"}])
            )
        if draw(st.integers(0, 3)) == 0:
            schema["minProperties"] = draw(st.integers(0, 2))
        if draw(st.integers(0, 3)) == 0:
            schema["maxProperties"] = draw(st.integers(2, 5))
        if properties and draw(st.integers(0, 4)) == 0:
            first, *others = list(properties)
            schema["dependentRequired"] = {first: others[:1]}
        return schema

    return build()


def _combinators(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    branches = st.lists(children, min_size=1, max_size=3)
    discriminated = st.lists(
        st.sampled_from(["p", "q", "r", "s"]), min_size=1, max_size=3, unique=True
    ).map(
        lambda tags: {
            "oneOf": [
                {"type": "object", "properties": {"kind": {"const": t}}, "required": ["kind"]}
                for t in tags
            ]
        }
    )
    return st.one_of(
        branches.map(lambda b: {"anyOf": b}),
        branches.map(lambda b: {"oneOf": b}),
        branches.map(lambda b: {"allOf": b}),
        discriminated,
        st.tuples(children, scalar_schemas).map(
            lambda pair: {**_as_dict(pair[0]), "anyOf": [pair[1], {"type": "null"}]}
        ),
    )


def _as_dict(schema: Any) -> Schema:
    if schema is True:
        return {}
    if schema is False:
        return {"not": {}}
    return dict(schema)


def _with_refs(schema: Any) -> st.SearchStrategy[Any]:
    """The same schema, reached through ``$defs`` / ``definitions`` references."""
    if not isinstance(schema, dict) or "$defs" in schema:
        return st.just(schema)
    return st.sampled_from(
        [
            schema,
            {"$defs": {"target": schema}, "$ref": "#/$defs/target"},
            {
                "definitions": {"x y": schema},
                "type": "array",
                "items": {"$ref": "#/definitions/x%20y"},
            },
            {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": schema}, "allOf": [{"$ref": "#/$defs/a"}]},
        ]
    )


# Recursive schemas: trees, linked lists, mutual recursion, a JSON-like value.
RECURSIVE_SCHEMAS: tuple[Schema, ...] = (
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3},
                },
                "required": ["value"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    },
    {
        "$defs": {
            "list": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "properties": {
                            "head": {"type": "string", "maxLength": 3},
                            "tail": {"$ref": "#/$defs/list"},
                        },
                        "required": ["head", "tail"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
        "$ref": "#/$defs/list",
    },
    {
        "$defs": {
            "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}},
            "b": {"type": "array", "items": {"$ref": "#/$defs/a"}, "maxItems": 2},
        },
        "$ref": "#/$defs/a",
    },
    {
        "$defs": {
            "value": {
                "oneOf": [
                    {"type": ["null", "boolean", "number", "string"]},
                    {"type": "array", "items": {"$ref": "#/$defs/value"}, "maxItems": 3},
                    {
                        "type": "object",
                        "additionalProperties": {"$ref": "#/$defs/value"},
                        "maxProperties": 3,
                    },
                ]
            }
        },
        "$ref": "#/$defs/value",
    },
)

_DRAFT7: tuple[Schema, ...] = (
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "array",
        "items": [{"type": "integer"}, {"type": "string", "maxLength": 2}],
        "additionalItems": False,
    },
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "array",
        "items": [{"const": "x"}],
        "additionalItems": {"type": "boolean"},
        "minItems": 2,
    },
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"n": {"type": "integer"}},
        "type": "object",
        "properties": {"n": {"$ref": "#/definitions/n", "type": "string"}},
        "dependencies": {"n": ["m"]},
    },
)


def gen_schemas(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """JSON Schemas combining every keyword ``ws_routes.generate`` supports."""
    nested = st.recursive(
        scalar_schemas,
        lambda children: st.one_of(_arrays(children), _objects(children), _combinators(children)),
        max_leaves=max_leaves,
    )
    return st.one_of(
        nested.flatmap(_with_refs),
        st.sampled_from(RECURSIVE_SCHEMAS),
        st.sampled_from(_DRAFT7),
    )


# -- helpers shared by the tests of ws_routes.generate ----------------------------------------


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` values drawn the way a test run draws them, derandomized (same on every run)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def reaches(
    strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool], within: int
) -> bool:
    """Whether ``condition`` holds for one of ``within`` values, drawn as fixed-seed test runs.

    The values come from several short runs with different fixed seeds rather than one long
    run: within a run Hypothesis's engine keeps mutating the values it has already drawn, so a
    single trajectory can linger in one ``oneOf`` branch for hundreds of examples.
    """
    runs = 5
    for attempt in range(runs):
        try:
            find(
                # Search over the verdicts, so Hypothesis never prints a (possibly huge) value.
                strategy.map(condition),
                bool,
                settings=settings(
                    max_examples=max(1, within // runs),
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                ),
                random=Random(attempt),
            )
        except NoSuchExample:
            continue
        return True
    return False


def validator(schema: Any) -> Callable[[Any], list[str]]:
    """A function listing why a value is invalid against ``schema`` (empty: valid).

    Uses the draft's own format checker: ``FormatChecker()`` mixes in draft 3's ``time``
    check (``%H:%M:%S``, no offset), which rejects every RFC 3339 time that drafts 7 to 2020-12
    require.
    """
    cls = jsonschema.validators.validator_for(schema)
    checker = cls(schema, format_checker=cls.FORMAT_CHECKER)

    def errors(value: Any) -> list[str]:
        return [f"{e.json_path}: {e.message}" for e in checker.iter_errors(value)]

    return errors
