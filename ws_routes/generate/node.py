"""The canonical form of a schema: one flat record per (sub)schema.

Canonicalising turns the many ways JSON Schema can say one thing (``const`` vs a one-value
``enum``, ``minimum`` vs ``exclusiveMinimum``, draft-07 tuple ``items``, ``allOf``) into one
:class:`Node`, so the strategy compiler handles each constraint in exactly one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ws_routes.generate.patterns import pattern_search

__all__ = ["ALL_TYPES", "NUMBER_TYPES", "TYPE_NAMES", "Node", "Reason", "Number"]

Number = int | float

# "float" means a number that is not an integer, so that "number" is {"integer", "float"} and
# intersecting types (allOf, `not`) is plain set intersection.
ALL_TYPES = frozenset({"null", "boolean", "integer", "float", "string", "array", "object"})
NUMBER_TYPES = frozenset({"integer", "float"})
TYPE_NAMES: Mapping[str, frozenset[str]] = {
    "null": frozenset({"null"}),
    "boolean": frozenset({"boolean"}),
    "integer": frozenset({"integer"}),
    "number": NUMBER_TYPES,
    "string": frozenset({"string"}),
    "array": frozenset({"array"}),
    "object": frozenset({"object"}),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why no value can satisfy a schema: what the error will say and where."""

    message: str
    pointer: str
    keyword: str | None
    # A deliberate "nothing here" (`false`, `not: {}`) rather than contradicting keywords: where
    # a value is optional (a property, further array items) it just means "leave it out".
    deliberate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One canonical (sub)schema. ``Node()`` is the ``true`` schema (anything).

    ``src`` maps a keyword to the JSON pointer it was written at, so that an error found after
    merging ``allOf`` still points at the keyword the user wrote.
    """

    pointer: str = ""
    src: Mapping[str, str] = field(default_factory=dict)
    # A pure local $ref, left unresolved so recursive schemas stay finite.
    ref: str | None = None
    types: frozenset[str] = ALL_TYPES
    # Set when `types` is empty: why nothing validates (a `false` schema, an allOf conflict...).
    empty: Reason | None = None
    enum: tuple[Any, ...] | None = None
    # Values excluded by `not: {const}` / `not: {enum}`.
    forbidden: tuple[Any, ...] = ()
    # numbers
    minimum: Number | None = None
    exclusive_minimum: bool = False
    maximum: Number | None = None
    exclusive_maximum: bool = False
    multiple_of: tuple[Number, ...] = ()
    # strings
    min_length: int = 0
    max_length: int | None = None
    patterns: tuple[str, ...] = ()
    format: str | None = None
    # arrays
    prefix_items: tuple[Node, ...] = ()
    items: Node | None = None  # None: anything
    min_items: int = 0
    max_items: int | None = None
    unique_items: bool = False
    contains: Node | None = None
    min_contains: int = 1
    max_contains: int | None = None
    # objects
    properties: Mapping[str, Node] = field(default_factory=dict)
    pattern_properties: tuple[tuple[str, Node], ...] = ()
    additional: Node | None = None  # None: anything
    required: tuple[str, ...] = ()
    min_properties: int = 0
    max_properties: int | None = None
    property_names: Node | None = None
    dependent_required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # combinators: a conjunction of disjunctions (allOf of anyOfs / oneOfs)
    any_of: tuple[tuple[Node, ...], ...] = ()
    one_of: tuple[tuple[Node, ...], ...] = ()

    @property
    def is_false(self) -> bool:
        """Whether nothing at all validates against this node."""
        return not self.types

    def at(self, keyword: str) -> str:
        """The pointer of ``keyword`` as written (falls back to this node's pointer + keyword)."""
        return self.src.get(keyword) or f"{self.pointer}/{keyword}"

    def schema_for_key(self, key: str) -> list[Node]:
        """The subschemas a property named ``key`` must satisfy (an empty list: anything)."""
        found: list[Node] = []
        if key in self.properties:
            found.append(self.properties[key])
        matched = False
        for pattern, sub in self.pattern_properties:
            if pattern_search(pattern, key):
                found.append(sub)
                matched = True
        if key not in self.properties and not matched and self.additional is not None:
            found.append(self.additional)
        return found


FALSE_REASON = Reason("the schema is false: no value is valid", "", None, deliberate=True)
