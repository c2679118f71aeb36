"""Where a drawn value can be broken, family by family.

A value is walked breadth first together with its canonical schema (:mod:`ws_routes.generate`'s
nodes: ``allOf`` merged, ``$ref`` s resolved on the way, the ``anyOf``/``oneOf`` branch the value
takes followed), so every node of the value knows the constraints that hold there. Each family
turns a node into zero or more :class:`Site` s, top of the value first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ws_routes.errors import pointer_join
from ws_routes.generate.node import ALL_TYPES, Node
from ws_routes.generate.patterns import pattern_search
from ws_routes.generate.values import json_equal, json_type
from ws_routes.mutate.oracle import Shape
from ws_routes.spec.model import Kind

__all__ = [
    "CHARS",
    "DELETE",
    "FRAME_FAMILIES",
    "MUTATION_FAMILIES",
    "SITES",
    "STRING_FAMILIES",
    "STRUCTURAL",
    "Ctx",
    "Position",
    "Site",
    "Types",
    "applicable",
    "apply",
    "is_free",
    "positions",
    "tag_keys",
]

MUTATION_FAMILIES: tuple[str, ...] = (
    "wrong_frame_kind", "not_json", "wrong_type", "missing_required", "unknown_discriminator",
    "extra_field", "out_of_bounds", "nul", "lone_surrogate", "non_bmp", "empty_frame", "oversize",
)  # fmt: skip
STRUCTURAL = frozenset(
    {"wrong_type", "missing_required", "unknown_discriminator", "extra_field", "out_of_bounds"}
)
STRING_FAMILIES = ("nul", "lone_surrogate", "non_bmp")
# Mutants of the whole frame: what they break is no longer a message of the type they came from.
FRAME_FAMILIES = frozenset({"wrong_frame_kind", "not_json", "empty_frame", "oversize"})
_FAMILIES_BY_KIND: dict[Kind, frozenset[str]] = {
    "json": frozenset(MUTATION_FAMILIES),
    "text": frozenset(MUTATION_FAMILIES) - STRUCTURAL - {"not_json"} | {"out_of_bounds"},
    "bytes": frozenset({"wrong_frame_kind", "empty_frame", "oversize"}),
}
# Enums this small are tags (a discriminator) rather than open vocabularies.
_SMALL_ENUM = 8
# What protocols name the property that tells their message types apart: such a property is a
# tag even on a route that declares one message type (its server still dispatches on it).
_TAG_NAMES = frozenset(
    {"type", "op", "opcode", "kind", "method", "event", "action", "command", "cmd", "tag",
     "msgtype", "msg_type", "messagetype", "message_type", "@type", "$type"}
)  # fmt: skip

Path = tuple[str | int, ...]
DELETE = object()


@dataclass(frozen=True, slots=True)
class Position:
    """A node of a drawn value and every canonical schema node that applies to it there."""

    path: Path
    value: Any
    nodes: tuple[Node, ...]

    @property
    def where(self) -> str:
        return pointer_join("", *self.path) if self.path else "(root)"


@dataclass(frozen=True, slots=True)
class Site:
    """One mutation: put ``new`` at ``path`` (``DELETE``: remove it)."""

    mutation: str
    path: Path
    new: Any


def _flatten(shape: Shape, nodes: Sequence[Node], value: Any) -> tuple[Node, ...]:
    """``nodes`` resolved, plus the anyOf/oneOf branches ``value`` takes, recursively."""
    out: list[Node] = []
    seen: set[int] = set()
    stack = list(nodes)
    while stack:
        node = shape.node(stack.pop())
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        for group in (*node.any_of, *node.one_of):
            # The first branch the value takes: breaking it breaks the value, unless another
            # branch accepts the result (the oracle finds that out).
            taken = next((b for b in group if shape.valid(b, value)), None)
            if taken is not None:
                stack.append(taken)
    return tuple(out)


def positions(shape: Shape, value: Any) -> Iterator[Position]:
    """Every node of ``value``, breadth first: the root, its children, their children..."""
    queue = [Position((), value, _flatten(shape, [shape.root], value))]
    for pos in queue:  # grows while we iterate
        yield pos
        if isinstance(pos.value, dict):
            for key, child in pos.value.items():
                subs = [s for n in pos.nodes for s in n.schema_for_key(key)]
                queue.append(Position((*pos.path, key), child, _flatten(shape, subs, child)))
        elif isinstance(pos.value, list):
            for index, child in enumerate(pos.value):
                subs = []
                for n in pos.nodes:
                    sub = n.prefix_items[index] if index < len(n.prefix_items) else n.items
                    if sub is not None:
                        subs.append(sub)
                queue.append(Position((*pos.path, index), child, _flatten(shape, subs, child)))


def is_free(pos: Position) -> bool:
    """Whether the string at ``pos`` has no pattern, format or enum: changing its characters
    (not its length) keeps the value valid, which is what awkward-character mutants want."""
    return not any(n.patterns or n.format or n.enum is not None for n in pos.nodes)


def apply(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``path``; only the containers on the path are copied."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    out: Any = dict(value) if isinstance(value, dict) else list(value)
    if not rest and new is DELETE:
        del out[head]
    else:
        out[head] = apply(value.get(head) if isinstance(value, dict) else value[head], rest, new)
    return out


class Types:
    """The JSON types each schema node allows, counting every anyOf/oneOf branch."""

    def __init__(self, shape: Shape):
        self.shape = shape
        self._memo: dict[int, tuple[Node, frozenset[str]]] = {}

    def allowed(self, node: Node) -> frozenset[str]:
        node = self.shape.node(node)
        hit = self._memo.get(id(node))
        if hit is not None:
            return hit[1]
        self._memo[id(node)] = (node, ALL_TYPES)  # a cycle through branches: assume anything
        types = node.types
        if node.enum is not None:
            types &= frozenset(json_type(v) for v in node.enum)
        for group in (*node.any_of, *node.one_of):
            types &= frozenset().union(*(self.allowed(b) for b in group))
        self._memo[id(node)] = (node, types)
        return types


_TYPE_ORDER = ("null", "boolean", "integer", "float", "string", "array", "object")
_WRONG: tuple[tuple[str, str, Callable[[], Any]], ...] = (
    ("null", "null", lambda: None),
    ("boolean", "boolean", lambda: False),
    ("integer", "integer", lambda: 0),
    ("float", "number", lambda: 0.5),
    ("string", "string", lambda: ""),
    ("array", "array", lambda: []),
    ("object", "object", lambda: {}),
)


def _kind(value: Any) -> str:
    try:
        return json_type(value)
    except TypeError:  # a user's strategy may draw things JSON has no name for
        return "other"


def _type_names(types: frozenset[str]) -> str:
    names = ["number" if t == "float" else t for t in _TYPE_ORDER if t in types]
    if "integer" in types and "float" in types:
        names.remove("integer")
    return " or ".join(names) or "nothing"


def _unknown(enum: Sequence[Any], base: str = "x-unknown") -> str:
    candidate, n = base, 0
    while any(json_equal(candidate, v) for v in enum):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _outside_enum(enum: Sequence[Any]) -> Any:
    """A value close to ``enum``'s but not in it: ``"enx"`` for ``["en", "de"]``."""
    strings = [v for v in enum if isinstance(v, str)]
    numbers = [v for v in enum if json_type(v) in ("integer", "float")]
    candidates: list[Any] = []
    if strings:
        candidates.append(_unknown(enum, strings[0] + "x"))
    if numbers:
        candidates.append(max(numbers) + 1)
    candidates += [False, True, None, _unknown(enum)]
    return next(c for c in candidates if not any(json_equal(c, v) for v in enum))


def _below(bound: float, exclusive: bool, integral: bool) -> float:
    if integral:
        return math.floor(bound) if exclusive else math.ceil(bound) - 1
    out = bound if exclusive else bound - 1
    return out if out < bound or exclusive else math.nextafter(bound, -math.inf)


def _above(bound: float, exclusive: bool, integral: bool) -> float:
    if integral:
        return math.ceil(bound) if exclusive else math.floor(bound) + 1
    out = bound if exclusive else bound + 1
    return out if out > bound or exclusive else math.nextafter(bound, math.inf)


# -- mutation sites, family by family ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ctx:
    shape: Shape
    types: Types
    limit: int  # the route's max_message_size
    char: str = ""  # what the string families insert
    tags: frozenset[str] = frozenset()  # the route's tag properties (tag_keys)


def _wrong_type(ctx: Ctx, pos: Position) -> list[Site]:
    allowed = ALL_TYPES
    for node in pos.nodes:
        allowed &= ctx.types.allowed(node)
    if allowed == ALL_TYPES:
        return []
    expected = _type_names(allowed)
    return [
        Site(f"wrong type at {pos.where}: {name} instead of {expected}", pos.path, make())
        for type_, name, make in _WRONG
        # 0.5 says nothing 0 does not when integers are wrong too.
        if type_ not in allowed and not (type_ == "float" and "integer" not in allowed)
    ]


def _missing_required(ctx: Ctx, pos: Position) -> list[Site]:
    if not isinstance(pos.value, dict):
        return []
    keys = dict.fromkeys(k for n in pos.nodes for k in n.required if k in pos.value)
    return [
        Site(f"missing required field {pointer_join('', *pos.path, k)}", (*pos.path, k), DELETE)
        for k in keys
    ]


def _unknown_discriminator(ctx: Ctx, pos: Position) -> list[Site]:
    if not pos.path or pos.path[-1] not in ctx.tags:
        return []  # a tag is an object property; another constant is only out of bounds
    enums = [n.enum for n in pos.nodes if n.enum is not None and 0 < len(n.enum) <= _SMALL_ENUM]
    if not enums:
        return []
    new = _unknown([v for enum in enums for v in enum])
    return [Site(f"unknown discriminator {pos.where} = {new!r}", pos.path, new)]


def _extra_field(ctx: Ctx, pos: Position) -> list[Site]:
    if not isinstance(pos.value, dict):
        return []
    for node in pos.nodes:
        if node.additional is None or not ctx.shape.node(node.additional).is_false:
            continue
        taken = [*pos.value, *node.properties]
        # A key no patternProperties claims (a pattern like ".*" claims them all: no site).
        for base in ("x-unknown", "x_unknown", "XUNKNOWN", "0", "-"):
            key = _unknown(taken, base)
            if not any(pattern_search(p, key) for p, _ in node.pattern_properties):
                path = (*pos.path, key)
                return [Site(f"extra field {pointer_join('', *path)}", path, "x")]
    return []


def _out_of_bounds(ctx: Ctx, pos: Position) -> list[Site]:
    value, found = pos.value, {}
    kind = _kind(value)
    for n in pos.nodes:
        if kind in ("integer", "float"):
            integral = kind == "integer"
            if n.minimum is not None:
                keyword = "exclusiveMinimum" if n.exclusive_minimum else "minimum"
                new = _below(n.minimum, n.exclusive_minimum, integral)
                found[f"{new!r} ({keyword} {n.minimum!r})"] = new
            if n.maximum is not None:
                keyword = "exclusiveMaximum" if n.exclusive_maximum else "maximum"
                new = _above(n.maximum, n.exclusive_maximum, integral)
                found[f"{new!r} ({keyword} {n.maximum!r})"] = new
        elif kind == "string":
            if n.min_length > 0:
                found[f"{n.min_length - 1} characters (minLength {n.min_length})"] = value[
                    : n.min_length - 1
                ]
            if n.max_length is not None and len(value) <= n.max_length < ctx.limit:
                grown = value + "a" * (n.max_length + 1 - len(value))
                found[f"{len(grown)} characters (maxLength {n.max_length})"] = grown
        elif kind == "array":
            if n.min_items > 0:
                found[f"{n.min_items - 1} items (minItems {n.min_items})"] = value[
                    : n.min_items - 1
                ]
            if n.max_items is not None and len(value) <= n.max_items < ctx.limit:
                filler = value[-1] if value else None
                grown_list = value + [filler] * (n.max_items + 1 - len(value))
                found[f"{len(grown_list)} items (maxItems {n.max_items})"] = grown_list
        if n.enum:
            new = _outside_enum(n.enum)
            label = f"not the const {n.enum[0]!r}" if len(n.enum) == 1 else "not in the enum"
            found[f"{new!r} ({label})"] = new
    return [
        Site(f"out of bounds at {pos.where}: {what}", pos.path, new) for what, new in found.items()
    ]


_CHAR_NAMES = {"nul": "NUL", "lone_surrogate": "lone surrogate", "non_bmp": "non-BMP character"}


def _in_string(family: str) -> Callable[[Ctx, Position], list[Site]]:
    def sites(ctx: Ctx, pos: Position) -> list[Site]:
        if not isinstance(pos.value, str):
            return []
        middle = len(pos.value) // 2
        new = pos.value[:middle] + ctx.char + pos.value[middle:]
        what = _CHAR_NAMES[family] + ("" if family == "nul" else f" U+{ord(ctx.char):04X}")
        return [Site(f"{what} inside the string at {pos.where}", pos.path, new)]

    return sites


SITES: dict[str, Callable[[Ctx, Position], list[Site]]] = {
    "wrong_type": _wrong_type,
    "missing_required": _missing_required,
    "unknown_discriminator": _unknown_discriminator,
    "extra_field": _extra_field,
    "out_of_bounds": _out_of_bounds,
    **{family: _in_string(family) for family in STRING_FAMILIES},
}
# What each family inserts; the others insert nothing.
CHARS: dict[str, tuple[str, ...]] = {
    **{family: ("",) for family in STRUCTURAL},
    "nul": ("\x00",),
    "lone_surrogate": ("\ud800", "\udfff"),
    "non_bmp": ("\U0001f600", "\U0010ffff"),
}


def _schema_nodes(shape: Shape) -> Iterator[Node]:
    """Every node reachable from the root, each once."""
    seen: set[int] = set()
    stack = [shape.root]
    while stack:
        node = shape.node(stack.pop())
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack += [*node.properties.values(), *(sub for _, sub in node.pattern_properties)]
        stack += [n for n in (node.additional, node.items) if n is not None]
        stack += [*node.prefix_items, *(b for group in node.any_of for b in group)]
        stack += [b for group in node.one_of for b in group]


def _small_enum(shape: Shape, node: Node) -> tuple[Any, ...] | None:
    enum = shape.node(node).enum
    return tuple(enum) if enum is not None and 0 < len(enum) <= _SMALL_ENUM else None


def tag_keys(shapes: Iterable[Shape]) -> frozenset[str]:
    """The properties that tell a route's message types apart: constant (a const or a small
    enum) in several message types, or ``oneOf`` branches, with different values, or named as
    protocols name their tags. A constant in one message type only (``"id": {"const": "x"}``)
    is not one: breaking it is a value out of bounds, not an unknown message type."""
    values: dict[str, set[frozenset[str]]] = {}
    for shape in shapes:
        for node in _schema_nodes(shape):
            for key, sub in node.properties.items():
                enum = _small_enum(shape, sub)
                if enum is not None:
                    canonical = frozenset(json.dumps(v, sort_keys=True) for v in enum)
                    values.setdefault(key, set()).add(canonical)
    return frozenset(k for k, seen in values.items() if len(seen) > 1 or k.lower() in _TAG_NAMES)


def applicable(
    shape: Shape,
    types: Types,
    kind: Kind,
    lone_surrogates: bool,
    tags: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The families that may find a site in some value of ``shape``, in shrinking order."""
    found = {"wrong_frame_kind", "not_json", "empty_frame", "oversize"}
    for node in _schema_nodes(shape) if kind != "bytes" else ():
        allowed = types.allowed(node)
        if "string" in allowed:
            found.update(STRING_FAMILIES)
        if allowed != ALL_TYPES:
            found.add("wrong_type")
        if node.required:
            found.add("missing_required")
        if node.additional is not None and shape.node(node.additional).is_false:
            found.add("extra_field")
        if any(k in tags and _small_enum(shape, s) for k, s in node.properties.items()):
            found.add("unknown_discriminator")
        if (
            node.minimum is not None
            or node.maximum is not None
            or node.min_length
            or node.max_length is not None
            or node.min_items
            or node.max_items is not None
            or node.enum
        ):
            found.add("out_of_bounds")
    if not lone_surrogates:
        found.discard("lone_surrogate")
    return tuple(f for f in MUTATION_FAMILIES if f in found and f in _FAMILIES_BY_KIND[kind])
