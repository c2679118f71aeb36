"""Intersecting canonical nodes, the meaning of allOf (ws_routes.generate.merge)."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.merge import merge, merge_all
from ws_routes.generate.node import Node


def both(a: dict[str, Any], b: dict[str, Any]) -> Node:
    schema = {"allOf": [a, b]}
    canonicaliser = Canonicaliser(schema)
    return merge(
        canonicaliser.canon(a, "/allOf/0"),
        canonicaliser.canon(b, "/allOf/1"),
        canonicaliser.resolve,
    )


def test_number_and_integer_intersect_to_integer() -> None:
    assert both({"type": "number"}, {"type": ["integer", "string"]}).types == {"integer"}


def test_type_conflict_is_an_empty_node_that_says_why() -> None:
    node = both({"type": "string"}, {"type": "null"})
    assert node.is_false
    assert node.empty is not None
    assert node.empty.pointer == "/allOf/1/type"


def test_bounds_take_the_tighter_side_and_keep_its_pointer() -> None:
    node = both({"minimum": 1, "maximum": 10}, {"exclusiveMinimum": 1, "maximum": 20})
    assert (node.minimum, node.exclusive_minimum, node.maximum) == (1, True, 10)
    assert node.at("exclusiveMinimum") == "/allOf/1/exclusiveMinimum"
    assert node.at("maximum") == "/allOf/0/maximum"


def test_lengths_and_patterns_combine() -> None:
    node = both({"minLength": 2, "pattern": "a"}, {"maxLength": 4, "pattern": "b"})
    assert (node.min_length, node.max_length, node.patterns) == (2, 4, ("a", "b"))


def test_enums_intersect() -> None:
    assert both({"enum": [1, 2, 3]}, {"enum": [3.0, 2, 5]}).enum == (2, 3)


def test_a_property_the_other_side_forbids_becomes_false() -> None:
    node = both({"properties": {"a": {"type": "string"}}}, {"additionalProperties": False})
    assert node.properties["a"].is_false


def test_properties_merge_with_the_other_sides_patterns() -> None:
    node = both(
        {"properties": {"x-a": {"minLength": 1}}}, {"patternProperties": {"^x-": {"maxLength": 3}}}
    )
    assert (node.properties["x-a"].min_length, node.properties["x-a"].max_length) == (1, 3)


def test_prefix_items_merge_position_by_position() -> None:
    node = both({"prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
                {"prefixItems": [{}, {"minimum": 5}]})  # fmt: skip
    assert node.prefix_items[0].types == {"string"}
    assert node.prefix_items[1].types == {"integer"}
    assert node.prefix_items[1].minimum == 5


def test_required_and_combinators_accumulate() -> None:
    node = both({"required": ["a"], "anyOf": [{}]}, {"required": ["b", "a"], "anyOf": [{}, {}]})
    assert node.required == ("a", "b")
    assert len(node.any_of) == 2


def test_two_formats_cannot_merge() -> None:
    with pytest.raises(SchemaCompileError, match="allOf combines format 'date' and format 'uuid'"):
        both({"format": "date"}, {"format": "uuid"})


def test_merge_all_of_nothing_is_true() -> None:
    assert merge_all([], lambda ref, pointer: Node(), "/x") == Node(pointer="/x")
