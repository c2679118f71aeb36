"""Serialised-size estimates of schemas, and splitting a byte budget among parts of a value.

``max_size`` is honoured by construction: a container's byte budget is divided among its
children before they are compiled, and each child is compiled to fit its share. The
estimates here decide the split: :func:`min_bytes` is a lower bound of the smallest valid
value's size, :func:`max_bytes` an upper bound of the largest (``INF`` when unbounded). They
only steer the split; a child that cannot fit its share says so when compiled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.formats import format_lengths
from ws_routes.generate.merge import Resolve
from ws_routes.generate.node import Node
from ws_routes.generate.patterns import pattern_max_char_bytes, pattern_width
from ws_routes.generate.values import json_size

__all__ = ["INF", "allocate", "entry_overhead", "max_bytes", "min_bytes"]

INF = math.inf
_FLOAT_REPR = 24  # len(repr(-2.2250738585072014e-308)), the longest float repr


# Hypothesis keeps at most 8 KiB of choices per example and discards ("overruns") any draw past
# it. Objects with more properties, and arrays with more required items, than LEAN_COUNT are
# drawn lean (no edge draws, small byte shares) so that their parts share CHOICE_BUDGET bytes.
LEAN_COUNT = 64
CHOICE_BUDGET = 4096
# The largest minLength / minItems / minProperties generated: Hypothesis refuses collections
# whose minimum exceeds its 8 KiB buffer, and every item costs choices.
MAX_MIN_COUNT = 4096


def too_many(keyword: str, count: int, pointer: str) -> SchemaCompileError:
    """The error for a ``keyword`` minimum over :data:`MAX_MIN_COUNT`."""
    return SchemaCompileError(
        f"{keyword} {count} is more than ws_routes can generate (at most {MAX_MIN_COUNT}:"
        " Hypothesis draws at most 8 KiB of choices per value)",
        pointer=pointer,
        keyword=keyword,
    )


def entry_overhead(key: str) -> int:
    """Bytes an object entry takes besides its value: the key, ``": "`` and ``", "``."""
    return json_size(key) + 4


def _digits(value: float) -> int:
    return len(str(int(value)))


def min_bytes(node: Node, resolve: Resolve, seen: frozenset[str] = frozenset()) -> float:
    """A lower bound of the serialised size of the smallest value valid against ``node``."""
    if node.ref is not None:
        if node.ref in seen:
            return INF
        return min_bytes(resolve(node.ref, node.pointer), resolve, seen | {node.ref})
    if not node.types:
        return INF
    if node.enum is not None:
        return min((json_size(v) for v in node.enum), default=INF)
    own = min(_type_min(node, kind, resolve, seen) for kind in node.types)
    for group in (*node.any_of, *node.one_of):
        own = max(own, min(min_bytes(b, resolve, seen) for b in group))
    return own


def _type_min(node: Node, kind: str, resolve: Resolve, seen: frozenset[str]) -> float:
    if kind == "null":
        return 4
    if kind == "boolean":
        return 4
    if kind == "integer":
        low, high = node.minimum, node.maximum
        if low is not None and low > 0:
            return _digits(math.ceil(low))
        if high is not None and high < 0:
            return _digits(math.floor(high))
        return 1
    if kind == "float":
        return 3
    if kind == "string":
        low = node.min_length
        if node.format is not None:
            low = max(low, format_lengths(node.format)[0])
        for pattern in node.patterns:
            low = max(low, pattern_width(pattern)[0])
        return 2 + low
    if kind == "array":
        if node.min_items == 0:
            return 2
        prefix = node.prefix_items[: node.min_items]
        smallest: float = sum(min_bytes(item, resolve, seen) + 2 for item in prefix)
        # Items past the prefix share one schema: multiply, never loop (minItems: 1e9).
        rest = node.min_items - len(prefix)
        if rest:
            smallest += rest * (min_bytes(node.items or Node(), resolve, seen) + 2)
        return smallest
    # objects: braces, then each entry with its ", " (which the last entry does not have)
    total: float = 0 if node.required else 2
    for key in node.required:
        parts = node.schema_for_key(key)
        total += entry_overhead(key) + max((min_bytes(p, resolve, seen) for p in parts), default=1)
    return total


def max_bytes(node: Node, resolve: Resolve, seen: frozenset[str] = frozenset()) -> float:
    """An upper bound of the serialised size of the largest value valid against ``node``."""
    if node.ref is not None:
        if node.ref in seen:
            return INF
        return max_bytes(resolve(node.ref, node.pointer), resolve, seen | {node.ref})
    if not node.types:
        return 0
    if node.enum is not None:
        return max((json_size(v) for v in node.enum), default=0)
    own = max(_type_max(node, kind, resolve, seen) for kind in node.types)
    for group in (*node.any_of, *node.one_of):
        own = min(own, max(max_bytes(b, resolve, seen) for b in group))
    return own


def _type_max(node: Node, kind: str, resolve: Resolve, seen: frozenset[str]) -> float:
    if kind == "null":
        return 4
    if kind == "boolean":
        return 5
    if kind == "integer":
        if node.minimum is None or node.maximum is None:
            return INF
        return max(_digits(node.minimum), _digits(node.maximum)) + 1
    if kind == "float":
        return _FLOAT_REPR
    if kind == "string":
        longest = None if node.format is None else format_lengths(node.format)[1]
        if longest is not None:
            return 2 + longest
        width: float = INF if node.max_length is None else node.max_length * 6
        for pattern in node.patterns:
            high = pattern_width(pattern)[1]
            if high is not None:
                width = min(width, high * pattern_max_char_bytes(pattern))
        return 2 + width
    if kind == "array":
        if node.max_items is None:
            return INF
        total: float = 2
        for item in node.prefix_items[: node.max_items]:
            total += 2 + max_bytes(item, resolve, seen)
        rest = node.max_items - min(node.max_items, len(node.prefix_items))
        if rest:  # multiplied, never looped: maxItems may be 1e9
            total += rest * (
                2 + (INF if node.items is None else max_bytes(node.items, resolve, seen))
            )
        return total
    if node.pattern_properties or node.additional is None or node.additional.types:
        return INF
    total = 2
    for key, sub in node.properties.items():
        total += entry_overhead(key) + max_bytes(sub, resolve, seen)
    return total


def allocate(budget: int, needs: Sequence[float], wants: Sequence[float]) -> list[int] | None:
    """Split ``budget`` bytes: each part gets at least its need, and the slack is shared.

    Each part may use ``want - need`` more bytes (an unbounded part: the whole slack). When
    all of that fits, everyone gets what they want; otherwise the slack is shared in
    proportion, so a part that could use twice as much gets twice the share. Returns None
    when the needs do not fit.
    """
    if any(math.isinf(n) for n in needs) or sum(needs) > budget:
        return None
    given = [int(n) for n in needs]
    slack = budget - sum(given)
    extra = [
        min(float(slack), max(0.0, want - need)) for need, want in zip(needs, wants, strict=True)
    ]
    total = sum(extra)
    scale = 1.0 if total <= slack else slack / total
    # Bounded parts round up, unbounded ones down: rounding a one-byte share of a huge slack
    # down to nothing starved small parts (an enum ["no", "yes"] beside free extra properties
    # only ever got "no").
    shares = [
        int(e * scale) if math.isinf(want) else math.ceil(e * scale)
        for e, want in zip(extra, wants, strict=True)
    ]
    excess = sum(shares) - slack
    # Give back what rounding up overspent: unbounded parts first, then the largest shares.
    for i in sorted(range(len(shares)), key=lambda i: (not math.isinf(wants[i]), -shares[i])):
        if excess <= 0:
            break
        take = min(excess, shares[i])
        shares[i] -= take
        excess -= take
    return [g + e for g, e in zip(given, shares, strict=True)]
