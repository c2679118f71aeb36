"""Parsing schemas into canonical nodes (ws_routes.generate.canonical)."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.canonical import Canonicaliser, is_trivial
from ws_routes.generate.node import ALL_TYPES, NUMBER_TYPES, Node

DRAFT7 = "http://json-schema.org/draft-07/schema#"


def canon(schema: Any) -> Node:
    return Canonicaliser(schema).canon(schema)


def test_annotations_and_unknown_keywords_are_ignored() -> None:
    schema = {
        "title": "t", "description": "d", "$comment": "c", "examples": [1], "default": 1,
        "deprecated": True, "readOnly": True, "writeOnly": False, "$id": "x", "$anchor": "a",
        "$schema": "https://json-schema.org/draft/2020-12/schema", "x-vendor": {"any": 1},
    }  # fmt: skip
    assert is_trivial(canon(schema))


def test_type_names_become_type_sets() -> None:
    assert canon({"type": "number"}).types == NUMBER_TYPES
    assert canon({"type": ["integer", "null"]}).types == {"integer", "null"}
    assert canon({}).types == ALL_TYPES


def test_const_and_enum_intersect_with_json_equality() -> None:
    assert canon({"enum": [1, True, "a"], "const": 1.0}).enum == (1,)
    empty = canon({"enum": [1], "const": 2})
    assert empty.is_false
    assert empty.empty is not None
    assert empty.empty.pointer == "/const"


@pytest.mark.parametrize(
    ("schema", "bound", "exclusive", "source"),
    [
        ({"minimum": 3, "exclusiveMinimum": 3}, 3, True, "/exclusiveMinimum"),
        ({"minimum": 5, "exclusiveMinimum": 3}, 5, False, "/minimum"),
        ({"exclusiveMinimum": 2.5}, 2.5, True, "/exclusiveMinimum"),
    ],
)
def test_the_tighter_lower_bound_wins(
    schema: dict[str, Any], bound: float, exclusive: bool, source: str
) -> None:
    node = canon(schema)
    assert (node.minimum, node.exclusive_minimum) == (bound, exclusive)
    assert node.at("exclusiveMinimum" if exclusive else "minimum") == source


def test_local_refs_resolve_through_pointers_anchors_and_escapes() -> None:
    schema = {
        "$defs": {
            "a b": {"type": "string"},
            "x/y": {"type": "integer"},
            "anchored": {"$anchor": "here", "type": "boolean"},
            "alias": {"$ref": "#/$defs/x~1y"},
        },
        "type": "array",
        "prefixItems": [
            {"$ref": "#/$defs/a%20b"},
            {"$ref": "#/$defs/alias"},
            {"$ref": "#here"},
            {"$ref": "#"},
        ],
    }
    canonicaliser = Canonicaliser(schema)
    node = canonicaliser.canon(schema)
    resolved = [canonicaliser.resolve(p.ref or "", p.pointer) for p in node.prefix_items]
    assert [r.types for r in resolved] == [{"string"}, {"integer"}, {"boolean"}, {"array"}]


def test_ref_siblings_merge_in_2020_and_are_ignored_in_draft7() -> None:
    defs = {"n": {"type": "integer", "minimum": 0}}
    modern = canon({"$defs": defs, "properties": {"a": {"$ref": "#/$defs/n", "maximum": 9}}})
    assert (modern.properties["a"].minimum, modern.properties["a"].maximum) == (0, 9)
    legacy_schema = {"$schema": DRAFT7, "definitions": defs,
                     "properties": {"a": {"$ref": "#/definitions/n", "maximum": 9}}}  # fmt: skip
    legacy = canon(legacy_schema)
    assert legacy.properties["a"].ref == "#/definitions/n"


def test_draft7_tuples_become_prefix_items() -> None:
    node = canon({"$schema": DRAFT7, "items": [{"type": "string"}], "additionalItems": False})
    assert [p.types for p in node.prefix_items] == [{"string"}]
    assert node.items is not None
    assert node.items.is_false


def test_2019_09_also_reads_items_arrays() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2019-09/schema", "items": [{}, {}]}
    assert len(canon(schema).prefix_items) == 2


def test_allof_merges_into_one_node() -> None:
    node = canon({"allOf": [{"type": "string", "minLength": 2}, {"maxLength": 5}], "minLength": 1})
    assert (node.types, node.min_length, node.max_length) == ({"string"}, 2, 5)
    assert node.at("minLength") == "/allOf/0/minLength"


def test_anyof_and_oneof_stay_as_groups() -> None:
    node = canon({"anyOf": [{"type": "null"}, {}], "oneOf": [{"type": "string"}]})
    assert [len(g) for g in node.any_of] == [2]
    assert [len(g) for g in node.one_of] == [1]


def test_not_of_simple_schemas() -> None:
    assert canon({"type": "number", "not": {"type": "integer"}}).types == {"float"}
    assert canon({"not": {"const": 0}}).forbidden == (0,)
    assert canon({"not": {"type": "string", "enum": ["a", 1]}}).forbidden == ("a",)
    assert canon({"not": {"required": ["x"]}}).properties["x"].is_false
    assert is_trivial(canon({"not": False}))
    nothing = canon({"not": {}})
    assert nothing.is_false
    assert nothing.empty is not None
    assert nothing.empty.deliberate


def test_dependencies_array_form_is_dependent_required() -> None:
    node = canon({"dependencies": {"a": ["b"]}, "dependentRequired": {"a": ["c"], "d": ["e"]}})
    assert dict(node.dependent_required) == {"a": ("c", "b"), "d": ("e",)}


def test_true_additional_properties_means_no_constraint() -> None:
    assert canon({"additionalProperties": True}).additional is None
    assert canon({"additionalProperties": {"title": "anything"}}).additional is None


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"enum": "a"}, "enum must be an array, found 'a'"),
        ({"anyOf": []}, "anyOf must be a non-empty array of schemas"),
        ({"required": "a"}, "required must be an array of strings"),
        ({"properties": []}, "properties must be an object"),
        ({"uniqueItems": 1}, "uniqueItems must be a boolean"),
        ({"multipleOf": 0}, "multipleOf must be greater than 0"),
        ({"$ref": 1}, "$ref must be a string"),
        ({"type": []}, "type must be a type name or a non-empty list"),
        ({"properties": {"a": 3}}, "a schema must be an object or a boolean, found 3"),
        ({"patternProperties": {"(": {}}}, "patternProperties key '(' is not a valid regular"),
    ],
)
def test_malformed_keyword_values_are_errors(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaCompileError) as raised:
        canon(schema)
    assert raised.value.message.startswith(message)
