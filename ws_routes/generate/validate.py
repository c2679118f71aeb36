"""Check a value against a canonical node, as ``jsonschema`` would.

The compiler needs this in a few places: to keep the ``enum`` values that satisfy the other
keywords, to make a general ``oneOf`` produce values matching exactly one branch, and for
``not``. ``strict`` decides how ``format`` is read: ``True`` asks "surely valid?" (formats
asserted with our strict RFC checks) and ``False`` asks "might some validator accept it?"
(formats as annotations, which is what ``jsonschema`` does without a format checker).
"""

from __future__ import annotations

from typing import Any

from ws_routes.generate.formats import format_ok
from ws_routes.generate.merge import Resolve
from ws_routes.generate.node import Node
from ws_routes.generate.numbers import is_multiple
from ws_routes.generate.patterns import pattern_search
from ws_routes.generate.values import json_equal, json_key, json_type

__all__ = ["is_valid"]


def is_valid(node: Node, value: Any, resolve: Resolve, *, strict: bool) -> bool:
    """Whether ``value`` satisfies ``node``."""
    if node.ref is not None:
        node = resolve(node.ref, node.pointer)
    kind = json_type(value)
    if kind not in node.types:
        return False
    if node.enum is not None and not any(json_equal(value, v) for v in node.enum):
        return False
    if any(json_equal(value, v) for v in node.forbidden):
        return False
    if kind in ("integer", "float"):
        ok = _number_ok(node, value)
    elif kind == "string":
        ok = _string_ok(node, value, strict=strict)
    elif kind == "array":
        ok = _array_ok(node, value, resolve, strict=strict)
    elif kind == "object":
        ok = _object_ok(node, value, resolve, strict=strict)
    else:
        ok = True
    if not ok:
        return False
    for branches in node.any_of:
        if not any(is_valid(b, value, resolve, strict=strict) for b in branches):
            return False
    for branches in node.one_of:
        if sum(is_valid(b, value, resolve, strict=strict) for b in branches) != 1:
            return False
    return True


def _number_ok(node: Node, value: float) -> bool:
    if node.minimum is not None and (
        value < node.minimum or (node.exclusive_minimum and value == node.minimum)
    ):
        return False
    if node.maximum is not None and (
        value > node.maximum or (node.exclusive_maximum and value == node.maximum)
    ):
        return False
    return all(is_multiple(value, step) for step in node.multiple_of)


def _string_ok(node: Node, value: str, *, strict: bool) -> bool:
    if len(value) < node.min_length or (
        node.max_length is not None and len(value) > node.max_length
    ):
        return False
    if not all(pattern_search(p, value) for p in node.patterns):
        return False
    return not (strict and node.format is not None and not format_ok(node.format, value))


def _array_ok(node: Node, value: list[Any], resolve: Resolve, *, strict: bool) -> bool:
    if len(value) < node.min_items or (node.max_items is not None and len(value) > node.max_items):
        return False
    for index, item in enumerate(value):
        sub = node.prefix_items[index] if index < len(node.prefix_items) else node.items
        if sub is not None and not is_valid(sub, item, resolve, strict=strict):
            return False
    if node.unique_items and len({json_key(v) for v in value}) != len(value):
        return False
    if node.contains is not None:
        found = sum(is_valid(node.contains, v, resolve, strict=strict) for v in value)
        if found < node.min_contains or (
            node.max_contains is not None and found > node.max_contains
        ):
            return False
    return True


def _object_ok(node: Node, value: dict[str, Any], resolve: Resolve, *, strict: bool) -> bool:
    if len(value) < node.min_properties:
        return False
    if node.max_properties is not None and len(value) > node.max_properties:
        return False
    if any(key not in value for key in node.required):
        return False
    for key, needs in node.dependent_required.items():
        if key in value and any(n not in value for n in needs):
            return False
    for key, item in value.items():
        if node.property_names is not None and not is_valid(
            node.property_names, key, resolve, strict=strict
        ):
            return False
        if not all(is_valid(sub, item, resolve, strict=strict) for sub in node.schema_for_key(key)):
            return False
    return True
