"""Intersect two canonical nodes: the meaning of ``allOf``, and of a subschema in its parent.

``merge(a, b)`` allows exactly the values both allow, with one deliberate exception: a key
that matches a ``patternProperties`` pattern of one side and is governed by the other side's
``additionalProperties`` is held to both (slightly stricter than JSON Schema, which would
not apply the other side's ``additionalProperties`` if one of *its* patterns also matches).
Stricter is safe for generation: every value produced is still valid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.node import Node, Number, Reason
from ws_routes.generate.values import json_equal

__all__ = ["Resolve", "merge", "merge_all"]

Resolve = Callable[[str, str], Node]


def merge_all(nodes: Sequence[Node], resolve: Resolve, pointer: str = "") -> Node:
    """The intersection of ``nodes`` (the ``true`` schema when there are none)."""
    if not nodes:
        return Node(pointer=pointer)
    result = nodes[0]
    for node in nodes[1:]:
        result = merge(result, node, resolve)
    return result


def _optional(a: Node | None, b: Node | None, resolve: Resolve) -> Node | None:
    if a is None:
        return b
    if b is None:
        return a
    return merge(a, b, resolve)


def _lower(a: Node, b: Node) -> tuple[Number | None, bool, str | None]:
    """The tighter lower bound, whether it is exclusive, and the keyword that set it."""
    if b.minimum is None or (
        a.minimum is not None
        and (a.minimum > b.minimum or (a.minimum == b.minimum and a.exclusive_minimum))
    ):
        node = a
    else:
        node = b
    if node.minimum is None:
        return None, False, None
    keyword = "exclusiveMinimum" if node.exclusive_minimum else "minimum"
    return node.minimum, node.exclusive_minimum, node.src.get(keyword)


def _upper(a: Node, b: Node) -> tuple[Number | None, bool, str | None]:
    if b.maximum is None or (
        a.maximum is not None
        and (a.maximum < b.maximum or (a.maximum == b.maximum and a.exclusive_maximum))
    ):
        node = a
    else:
        node = b
    if node.maximum is None:
        return None, False, None
    keyword = "exclusiveMaximum" if node.exclusive_maximum else "maximum"
    return node.maximum, node.exclusive_maximum, node.src.get(keyword)


def _pick(src: dict[str, str], keyword: str, a: Node, b: Node, b_wins: bool) -> None:
    origin = (b if b_wins else a).src.get(keyword)
    if origin is not None:
        src[keyword] = origin


def _unique(values: Sequence[Any]) -> tuple[Any, ...]:
    seen: list[Any] = []
    for value in values:
        if not any(v is value or v == value for v in seen):
            seen.append(value)
    return tuple(seen)


def merge(a: Node, b: Node, resolve: Resolve) -> Node:
    """Intersect ``a`` and ``b``; ``resolve(ref, pointer)`` inlines ``$ref`` nodes."""
    if a.ref is not None:
        a = resolve(a.ref, a.pointer)
    if b.ref is not None:
        b = resolve(b.ref, b.pointer)
    src: dict[str, str] = {**b.src, **a.src}
    fields: dict[str, Any] = {"pointer": a.pointer, "src": src}

    types = a.types & b.types
    fields["types"] = types
    if not types:
        fields["empty"] = (
            a.empty
            or b.empty
            or Reason(
                f"allOf requires types {_types(a.types)} and {_types(b.types)} at once: no value"
                " has both",
                b.src.get("type") or a.src.get("type") or b.pointer,
                "type",
            )
        )
    if a.enum is not None and b.enum is not None:
        both = tuple(v for v in a.enum if any(json_equal(v, w) for w in b.enum))
        fields["enum"] = both
        if not both and types:
            fields["types"] = frozenset()
            fields["empty"] = Reason(
                "allOf combines enum/const values that have no value in common",
                b.src.get("enum") or b.src.get("const") or b.pointer,
                "enum",
            )
    else:
        fields["enum"] = a.enum if a.enum is not None else b.enum
    fields["forbidden"] = a.forbidden + b.forbidden

    low, low_ex, low_src = _lower(a, b)
    high, high_ex, high_src = _upper(a, b)
    fields.update(minimum=low, exclusive_minimum=low_ex, maximum=high, exclusive_maximum=high_ex)
    if low_src:
        src["exclusiveMinimum" if low_ex else "minimum"] = low_src
    if high_src:
        src["exclusiveMaximum" if high_ex else "maximum"] = high_src
    fields["multiple_of"] = _unique(a.multiple_of + b.multiple_of)

    fields["min_length"] = max(a.min_length, b.min_length)
    _pick(src, "minLength", a, b, b.min_length > a.min_length)
    fields["max_length"] = _min(a.max_length, b.max_length)
    _pick(src, "maxLength", a, b, a.max_length is None or (b.max_length or 0) < a.max_length)
    fields["patterns"] = _unique(a.patterns + b.patterns)
    if a.format and b.format and a.format != b.format:
        raise SchemaCompileError(
            f"allOf combines format {a.format!r} and format {b.format!r}: we cannot generate a"
            " string in two formats at once",
            pointer=b.at("format"),
            keyword="format",
        )
    fields["format"] = a.format or b.format

    _merge_arrays(a, b, resolve, fields, src)
    _merge_objects(a, b, resolve, fields, src)
    fields["any_of"] = a.any_of + b.any_of
    fields["one_of"] = a.one_of + b.one_of
    return Node(**fields)


def _min(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _types(types: frozenset[str]) -> str:
    names = sorted(types)
    if {"integer", "float"} <= types:
        names = sorted((types - {"integer", "float"}) | {"number"})
    return "[" + ", ".join(names) + "]" if names else "[] (nothing)"


def _merge_arrays(
    a: Node, b: Node, resolve: Resolve, fields: dict[str, Any], src: dict[str, str]
) -> None:
    def item_at(node: Node, index: int) -> Node | None:
        return node.prefix_items[index] if index < len(node.prefix_items) else node.items

    length = max(len(a.prefix_items), len(b.prefix_items))
    prefix = []
    for index in range(length):
        merged = _optional(item_at(a, index), item_at(b, index), resolve)
        prefix.append(merged if merged is not None else Node(pointer=a.pointer))
    fields["prefix_items"] = tuple(prefix)
    fields["items"] = _optional(a.items, b.items, resolve)
    fields["min_items"] = max(a.min_items, b.min_items)
    _pick(src, "minItems", a, b, b.min_items > a.min_items)
    fields["max_items"] = _min(a.max_items, b.max_items)
    _pick(src, "maxItems", a, b, a.max_items is None or (b.max_items or 0) < a.max_items)
    fields["unique_items"] = a.unique_items or b.unique_items
    if a.contains is not None and b.contains is not None:
        raise SchemaCompileError(
            "allOf combines two 'contains' keywords: not supported (merge them into one)",
            pointer=b.at("contains"),
            keyword="contains",
        )
    owner = a if a.contains is not None else b
    fields.update(
        contains=owner.contains, min_contains=owner.min_contains, max_contains=owner.max_contains
    )


def _merge_objects(
    a: Node, b: Node, resolve: Resolve, fields: dict[str, Any], src: dict[str, str]
) -> None:
    properties: dict[str, Node] = {}
    for key in dict.fromkeys([*a.properties, *b.properties]):
        parts = a.schema_for_key(key) + b.schema_for_key(key)
        properties[key] = _fold(parts, resolve, a.pointer)
    fields["properties"] = properties
    pairs: list[tuple[str, Node]] = []
    for own, other in ((a, b), (b, a)):
        for pattern, sub in own.pattern_properties:
            # Held to the other side's additionalProperties too: see the module docstring.
            extra = (
                [other.additional]
                if other.additional is not None
                and not any(p == pattern for p, _ in other.pattern_properties)
                else []
            )
            pairs.append((pattern, _fold([sub, *extra], resolve, a.pointer)))
    fields["pattern_properties"] = tuple(pairs)
    fields["additional"] = _optional(a.additional, b.additional, resolve)
    fields["required"] = tuple(dict.fromkeys([*a.required, *b.required]))
    fields["min_properties"] = max(a.min_properties, b.min_properties)
    _pick(src, "minProperties", a, b, b.min_properties > a.min_properties)
    fields["max_properties"] = _min(a.max_properties, b.max_properties)
    _pick(
        src,
        "maxProperties",
        a,
        b,
        a.max_properties is None or (b.max_properties or 0) < a.max_properties,
    )
    fields["property_names"] = _optional(a.property_names, b.property_names, resolve)
    dependent: dict[str, tuple[str, ...]] = dict(a.dependent_required)
    for key, needs in b.dependent_required.items():
        dependent[key] = tuple(dict.fromkeys((*dependent.get(key, ()), *needs)))
    fields["dependent_required"] = dependent


def _fold(parts: Sequence[Node], resolve: Resolve, pointer: str) -> Node:
    return merge_all(list(parts), resolve, pointer)
