"""References, recursion, combinators and enums (ws_routes.generate.compiler)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from tests.schema_strategies import RECURSIVE_SCHEMAS, reaches, validator
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.generate.compiler import RECURSION_LIMIT

TREE = RECURSIVE_SCHEMAS[0]


def _depth(node: dict[str, Any]) -> int:
    return 1 + max((_depth(c) for c in node.get("children", [])), default=0)


@settings(max_examples=100, deadline=None)
@given(from_schema(TREE))
def test_recursion_is_bounded(value: dict[str, Any]) -> None:
    assert validator(TREE)(value) == []
    assert _depth(value) <= RECURSION_LIMIT + 1


def test_recursion_reaches_the_deepest_level() -> None:
    assert reaches(from_schema(TREE), lambda v: _depth(v) == RECURSION_LIMIT + 1, 300)


@pytest.mark.parametrize("schema", RECURSIVE_SCHEMAS[1:], ids=["list", "mutual", "json"])
def test_other_recursive_shapes_terminate_and_validate(schema: dict[str, Any]) -> None:
    errors = validator(schema)

    @settings(max_examples=50, deadline=None, database=None)
    @given(from_schema(schema))
    def check(value: Any) -> None:
        assert errors(value) == []

    check()


def test_anyof_recursion_takes_the_terminating_branch_at_the_bound() -> None:
    linked = RECURSIVE_SCHEMAS[1]

    def length(value: Any) -> int:
        return 0 if value is None else 1 + length(value["tail"])

    assert reaches(from_schema(linked), lambda v: length(v) >= RECURSION_LIMIT, 300)


OVERLAPPING = {"oneOf": [{"type": "integer", "maximum": 10}, {"type": "integer", "minimum": 5}]}


@given(from_schema(OVERLAPPING))
def test_overlapping_one_of_yields_values_matching_exactly_one_branch(value: int) -> None:
    assert validator(OVERLAPPING)(value) == []
    assert not 5 <= value <= 10


def test_a_one_of_branch_inside_another_is_dropped() -> None:
    schema = {"oneOf": [{"type": "number"}, {"type": "integer"}]}

    @settings(max_examples=30, database=None)
    @given(from_schema(schema))
    def check(value: float) -> None:
        assert isinstance(value, float)
        assert not value.is_integer()

    check()


@pytest.mark.parametrize("value", ["red", "green", "blue", 7])
def test_every_enum_value_is_reached(value: Any) -> None:
    assert reaches(from_schema({"enum": ["red", "green", "blue", 7, None], "not": {"type": "null"}}),
                   lambda v: v == value, 100)  # fmt: skip


@given(from_schema({"enum": [1, 2, "x", 3.5], "type": "integer", "minimum": 2}))
def test_enum_values_are_filtered_by_the_other_keywords(value: int) -> None:
    assert value == 2


@given(from_schema({"type": "integer", "minimum": 0, "maximum": 3, "not": {"enum": [1, 2]}}))
def test_not_enum_excludes_values(value: int) -> None:
    assert value in (0, 3)


def test_anyof_branches_are_all_reached() -> None:
    schema = {"anyOf": [{"type": "string", "maxLength": 0}, {"type": "boolean"}, {"type": "null"}]}
    for expected in ("", True, None):
        assert reaches(from_schema(schema), lambda v, e=expected: v is e or v == e, 100)


def test_no_satisfiable_branch_is_an_error() -> None:
    with pytest.raises(SchemaCompileError, match="no branch of anyOf can be satisfied"):
        from_schema({"type": "string", "anyOf": [{"type": "integer"}, {"type": "null"}]})
