"""Decide (conservatively) that two schemas share no value, so ``oneOf`` needs no filter.

A ``oneOf`` value must match exactly one branch. When every pair of branches is disjoint,
drawing from any one branch is enough. The usual case is a discriminated union: objects that
all require a property whose ``const`` differs, or that require a property the others forbid
(JSON-RPC's ``result`` vs ``error``). ``False`` means "could not prove it", never "overlap".
"""

from __future__ import annotations

from dataclasses import replace

from ws_routes.generate.merge import Resolve, merge_all
from ws_routes.generate.node import ALL_TYPES, Node
from ws_routes.generate.validate import is_valid

__all__ = ["covers", "disjoint"]

_DEPTH = 4


def disjoint(a: Node, b: Node, resolve: Resolve, depth: int = 0) -> bool:
    """Whether no value satisfies both ``a`` and ``b`` (False when unsure)."""
    if depth > _DEPTH:
        return False
    if a.ref is not None:
        a = resolve(a.ref, a.pointer)
    if b.ref is not None:
        b = resolve(b.ref, b.pointer)
    common = a.types & b.types
    if not common:
        return True
    if a.enum is not None and not any(is_valid(b, v, resolve, strict=False) for v in a.enum):
        return True
    if b.enum is not None and not any(is_valid(a, v, resolve, strict=False) for v in b.enum):
        return True
    return all(_disjoint_as(kind, a, b, resolve, depth) for kind in common)


def covers(outer: Node, inner: Node, resolve: Resolve) -> bool:
    """Whether every value of ``inner`` also satisfies ``outer`` (False when unsure).

    Only the plain case: ``outer`` constrains nothing but the type. In a ``oneOf`` such an
    ``inner`` branch can never match alone, so the compiler drops it instead of filtering
    every one of its values away.
    """
    if outer.ref is not None:
        outer = resolve(outer.ref, outer.pointer)
    if inner.ref is not None:
        inner = resolve(inner.ref, inner.pointer)
    plain = replace(outer, types=ALL_TYPES, pointer="", src={}) == Node()
    return plain and inner.types <= outer.types


def _disjoint_as(kind: str, a: Node, b: Node, resolve: Resolve, depth: int) -> bool:
    """Whether no value of JSON type ``kind`` satisfies both."""
    if kind == "object":
        return _objects(a, b, resolve, depth) or _objects(b, a, resolve, depth)
    if kind == "string":
        return _ranges(a.min_length, a.max_length, b.min_length, b.max_length)
    if kind == "array":
        return _ranges(a.min_items, a.max_items, b.min_items, b.max_items)
    if kind in ("integer", "float"):
        return _numbers(a, b) or _numbers(b, a)
    return False  # null, boolean: only an enum tells them apart (handled above)


def _ranges(a_low: int, a_high: int | None, b_low: int, b_high: int | None) -> bool:
    return (a_high is not None and a_high < b_low) or (b_high is not None and b_high < a_low)


def _numbers(a: Node, b: Node) -> bool:
    """Whether every number of ``a`` lies below every number of ``b``."""
    if a.maximum is None or b.minimum is None:
        return False
    if a.maximum < b.minimum:
        return True
    return a.maximum == b.minimum and (a.exclusive_maximum or b.exclusive_minimum)


def _forbids(node: Node, key: str) -> bool:
    return any(not part.types for part in node.schema_for_key(key))


def _objects(a: Node, b: Node, resolve: Resolve, depth: int) -> bool:
    """Whether a property ``a`` requires is forbidden by ``b`` or held to disjoint schemas."""
    for key in a.required:
        if _forbids(b, key):
            return True
        if key in b.required:
            mine = merge_all(a.schema_for_key(key), resolve, a.pointer)
            theirs = merge_all(b.schema_for_key(key), resolve, b.pointer)
            if disjoint(mine, theirs, resolve, depth + 1):
                return True
    return False
