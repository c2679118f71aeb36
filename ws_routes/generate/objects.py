"""Compile object keywords: properties, required, additional and pattern properties, counts.

The common case (no ``minProperties``/``maxProperties`` pressure, no ``dependentRequired``)
is a single :func:`hypothesis.strategies.fixed_dictionaries` with ``optional=``, plus a list of
extra (key, value) pairs when ``additionalProperties``/``patternProperties`` allow them: fast
and it shrinks by dropping keys. Count constraints go through a composite that first picks
which optional keys to include.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.awkward import json_strategy, text_strategy
from ws_routes.generate.boundaries import with_edges
from ws_routes.generate.failures import CutOff, Unsatisfiable
from ws_routes.generate.merge import merge, merge_all
from ws_routes.generate.node import Node
from ws_routes.generate.patterns import pattern_search
from ws_routes.generate.sizes import (
    CHOICE_BUDGET,
    INF,
    LEAN_COUNT,
    MAX_MIN_COUNT,
    allocate,
    entry_overhead,
    max_bytes,
    min_bytes,
    too_many,
)

if TYPE_CHECKING:
    from ws_routes.generate.compiler import Compiler, Context

__all__ = ["MAX_REQUIRED", "object_strategy"]

_STRING = Node(types=frozenset({"string"}))
_EXTRA_LIMIT = 16  # extra keys per object when a byte budget applies
# Measured: 1,000 required integers draw 10 examples in 0.5 s; 2,000 overrun every draw.
MAX_REQUIRED = 1000
Pair = tuple[str, Any]


def _first(pair: Pair) -> str:
    return pair[0]


def _with_extras(fixed: dict[str, Any], extras: list[Pair]) -> dict[str, Any]:
    result = dict(fixed)
    result.update(extras)
    return result


def _required(compiler: Compiler, node: Node) -> list[str]:
    """``required`` closed under ``dependentRequired``; fails for keys that cannot appear."""
    keys = list(node.required)
    for key in keys:  # grows while iterating: the closure
        for needed in node.dependent_required.get(key, ()):
            if needed not in keys:
                keys.append(needed)
    for index, key in enumerate(keys):
        where = (
            f"{node.at('required')}/{index}"
            if index < len(node.required)
            else node.at("dependentRequired")
        )
        declared = key in node.properties or any(
            pattern_search(p, key) for p, _ in node.pattern_properties
        )
        if not declared and node.additional is not None and not node.additional.types:
            raise Unsatisfiable(
                f"required property {key!r} is forbidden by additionalProperties false (declare it"
                " in properties or drop it from required)",
                pointer=where,
                keyword="required",
            )
        if node.property_names is not None and not compiler.valid(node.property_names, key):
            raise Unsatisfiable(
                f"required property {key!r} does not satisfy propertyNames",
                pointer=node.at("propertyNames"),
                keyword="propertyNames",
            )
    return keys


def object_strategy(compiler: Compiler, node: Node, ctx: Context) -> SearchStrategy[dict[str, Any]]:
    """Objects valid against ``node``'s object keywords that fit ``ctx.budget``."""
    low, high = node.min_properties, node.max_properties
    if high is not None and low > high:
        raise Unsatisfiable(
            f"minProperties {low} is greater than maxProperties {high}: no object satisfies both",
            pointer=node.at("minProperties"),
            keyword="minProperties",
        )
    if low > MAX_MIN_COUNT:
        raise too_many("minProperties", low, node.at("minProperties"))
    required = _required(compiler, node)
    if len(required) > MAX_REQUIRED:
        raise SchemaCompileError(
            f"{len(required)} required properties: ws_routes generates objects with at most"
            f" {MAX_REQUIRED} (Hypothesis draws at most 8 KiB of choices per value, and every"
            " property takes some)",
            pointer=node.at("required"),
            keyword="required",
        )
    if high is not None and len(required) > high:
        raise Unsatisfiable(
            f"{len(required)} properties are required but maxProperties is {high}",
            pointer=node.at("maxProperties"),
            keyword="maxProperties",
        )
    resolve = compiler.resolve
    names = node.property_names

    def schema(key: str) -> Node:
        return merge_all(node.schema_for_key(key), resolve, node.pointer)

    optional = [
        k
        for k in node.properties
        if k not in required and (names is None or compiler.valid(names, k))
    ]
    extras_allowed = (names is None or bool(names.types)) and (
        bool(node.pattern_properties) or node.additional is None or bool(node.additional.types)
    )
    shares: dict[str, int | None] = dict.fromkeys([*required, *optional])
    extras_share: int | None = None
    if ctx.budget is not None:
        needs = {
            k: entry_overhead(k) + min_bytes(schema(k), resolve) for k in [*required, *optional]
        }
        for key in required:
            if math.isinf(needs[key]):
                compiler.compile(schema(key), ctx.sized(None))  # raises why no value exists
        # n >= 1 entries take 2 (braces) + the entries with their ", " - 2 (none after the last).
        used = sum(needs[k] for k in required) if required else 2
        if used > ctx.budget:
            raise CutOff(
                f"max_size leaves {ctx.budget} bytes here, but the required properties need at"
                f" least {used:.0f}",
                pointer=node.at("required") if required else node.pointer,
            )
        # An enum's values are all or nothing: a share below its longest value drops that
        # value for good, and the slack is shared in proportion to what parts could use, so
        # beside unbounded siblings an enum got about half its span (a 35-character GraphQL
        # query beside two free properties was never generated). It needs its longest value.
        full = {k: entry_overhead(k) + max_bytes(schema(k), resolve) for k in needs}
        for key in required:
            if schema(key).enum is not None and used + full[key] - needs[key] <= ctx.budget:
                used += full[key] - needs[key]
                needs[key] = full[key]
        kept = []
        for key in optional:  # optional keys that fit beside the required ones, in order
            if schema(key).enum is not None and used + full[key] <= ctx.budget:
                needs[key] = full[key]
            if used + needs[key] <= ctx.budget:
                kept.append(key)
                used += needs[key]
        optional = kept
        parts = [*required, *optional]
        wants = [full[k] for k in parts]
        allotted = allocate(
            ctx.budget, [needs[k] for k in parts] + [0], [*wants, INF if extras_allowed else 0]
        )
        assert allotted is not None
        shares = {k: a - entry_overhead(k) for k, a in zip(parts, allotted, strict=False)}
        extras_share = allotted[-1]
    child = ctx
    parts = [*required, *optional]
    if len(parts) > LEAN_COUNT:
        # Hypothesis keeps at most 8 KiB of choices per example and discards ("overruns") any
        # draw past it. 1,000 required properties at ~12 bytes of choices each overran nearly
        # every draw (> 90 s for 10 examples); lean values (no edge draw, a small byte share
        # each) fit, at the price of shorter strings and smaller numbers in huge objects.
        child = replace(ctx, lean=True)
        per_value = CHOICE_BUDGET // len(parts)
        for key in parts:
            smallest = min_bytes(schema(key), resolve)
            share = shares[key]
            capped = per_value if share is None else min(share, per_value)
            shares[key] = max(capped, int(smallest)) if math.isfinite(smallest) else share
    req = {k: compiler.compile(schema(k), child.sized(shares[k])) for k in required}
    opt: dict[str, SearchStrategy[Any]] = {}
    for key in optional:
        compiled = compiler.optional(schema(key), child.sized(shares[key]))
        if compiled is not None:
            opt[key] = compiled
    # An optional key whose dependencies cannot all appear can never appear itself.
    available = set(req) | set(opt)
    closure = {k: _closure(node, k) for k in opt}
    opt = {k: s for k, s in opt.items() if closure[k] <= available}
    triggers = {k for k in opt if closure[k] - {k} - set(req)}

    pairs: SearchStrategy[Pair] | None = None
    extras_cap: int | None = 0
    if extras_allowed:
        pairs, extras_cap = _extras(
            compiler, node, ctx, extras_share, set(required), low - len(required) - len(opt)
        )
    most = (
        len(req) + len(opt) + (INF if pairs is not None and extras_cap is None else extras_cap or 0)
    )
    if most < low:
        raise Unsatisfiable(
            f"minProperties {low} cannot be met: at most {most} properties are allowed",
            pointer=node.at("minProperties"),
            keyword="minProperties",
        )
    fast = low <= len(req) and not triggers and (high is None or high >= len(req) + len(opt))
    if fast:
        main: SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(req, optional=opt)
        if pairs is not None:
            room = None if high is None else high - len(req) - len(opt)
            if extras_cap is not None:
                room = extras_cap if room is None else min(room, extras_cap)
            if room != 0:
                main = st.builds(
                    _with_extras, main, st.lists(pairs, max_size=room, unique_by=_first)
                )
    else:
        main = _counted(node, req, opt, pairs, extras_cap)
    if not compiler.size_edges(ctx):
        return main
    edges: list[SearchStrategy[dict[str, Any]]] = []
    if opt and low <= len(req):
        edges.append(st.fixed_dictionaries(req))  # the smallest object: {} when nothing is required
    if opt and (high is None or len(req) + len(opt) <= high) and len(req) + len(opt) >= low:
        edges.append(st.fixed_dictionaries({**req, **opt}))  # every declared property
    return with_edges(main, edges)


def _closure(node: Node, key: str) -> set[str]:
    keys = {key}
    todo = [key]
    while todo:
        for needed in node.dependent_required.get(todo.pop(), ()):
            if needed not in keys:
                keys.add(needed)
                todo.append(needed)
    return keys


def _extras(
    compiler: Compiler, node: Node, ctx: Context, share: int | None, required: set[str], need: int
) -> tuple[SearchStrategy[Pair] | None, int | None]:
    """(key, value) pairs for keys outside ``properties``, and how many an object may take."""
    key_budget = value_budget = cap = None
    if share is not None:
        cap = max(1, min(_EXTRA_LIMIT, share // 64)) if share >= 12 else 0
        cap = max(cap, need)
        if cap == 0:
            return None, 0
        entry = share // cap
        key_budget = max(2, entry // 3)
        value_budget = entry - key_budget - 4
        if value_budget < 1:
            return None, 0
    key_ctx, value_ctx = ctx.sized(key_budget), ctx.sized(value_budget)
    patterns = node.pattern_properties
    triggers = set(node.dependent_required)

    def outside(key: str) -> bool:
        return key not in node.properties and key not in triggers and key not in required

    choices: list[SearchStrategy[Pair]] = []
    names = node.property_names
    for pattern, _ in patterns:
        key_node = Node(types=frozenset({"string"}), patterns=(pattern,), pointer=node.pointer)
        if names is not None:
            key_node = merge(key_node, names, compiler.resolve)
        keys = compiler.optional(key_node, key_ctx)
        if keys is not None:
            choices.append(_pattern_pair(compiler, node, keys.filter(outside), value_ctx))
    if node.additional is None or node.additional.types:
        if names is not None:
            keys = compiler.optional(merge(_STRING, names, compiler.resolve), key_ctx)
        else:
            chars = None if key_budget is None else (key_budget - 2) // 6
            keys = text_strategy(max_size=chars) if compiler.edges else st.text(max_size=chars)
        if node.additional is None:
            values: SearchStrategy[Any] | None = json_strategy(value_budget)
        else:
            values = compiler.optional(node.additional, value_ctx)
        if keys is not None and values is not None:

            def plain(key: str) -> bool:
                return outside(key) and not any(pattern_search(p, key) for p, _ in patterns)

            choices.append(st.tuples(keys.filter(plain), values))
    if not choices:
        return None, 0
    return st.one_of(choices), cap


def _pattern_pair(
    compiler: Compiler, node: Node, keys: SearchStrategy[str], value_ctx: Context
) -> SearchStrategy[Pair]:
    """A key from one pattern, and a value valid against every pattern that key matches."""
    cache: dict[tuple[int, ...], SearchStrategy[Any] | None] = {}
    patterns = node.pattern_properties

    def values_for(key: str) -> SearchStrategy[Any] | None:
        matched = tuple(i for i, (p, _) in enumerate(patterns) if pattern_search(p, key))
        if matched not in cache:
            # Keys matching several patterns: compiled on first sight. Each pattern alone was
            # compiled up front, so every compile error has surfaced already.
            try:
                parts = merge_all([patterns[i][1] for i in matched], compiler.resolve, node.pointer)
                cache[matched] = compiler.optional(parts, value_ctx)
            except SchemaCompileError:
                cache[matched] = None
        return cache[matched]

    for index in range(len(patterns)):
        cache[(index,)] = compiler.optional(patterns[index][1], value_ctx)

    @st.composite
    def pair(draw: st.DrawFn) -> Pair:
        key = draw(keys)
        values = values_for(key)
        if values is None:
            reject()  # this key's patterns together allow no value: essentially never
        return key, draw(values)

    return pair()


def _counted(
    node: Node,
    req: dict[str, SearchStrategy[Any]],
    opt: dict[str, SearchStrategy[Any]],
    pairs: SearchStrategy[Pair] | None,
    extras_cap: int | None,
) -> SearchStrategy[dict[str, Any]]:
    """Objects under minProperties/maxProperties/dependentRequired: choose keys, then values."""
    low, high = node.min_properties, node.max_properties
    keys = list(opt)
    extra_room = None if pairs is None else extras_cap
    fill = 0 if extra_room is None else extra_room
    least = max(0, low - len(req) - fill) if pairs is None or extra_room is not None else 0
    most = len(keys) if high is None else min(len(keys), high - len(req))
    picker: SearchStrategy[list[str]] = (
        st.lists(st.sampled_from(keys), unique=True, min_size=least, max_size=most)
        if keys
        else st.just([])
    )
    strategies = {**req, **opt}

    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        result = {k: draw(s) for k, s in req.items()}
        for key in draw(picker):
            new = [k for k in sorted(_closure(node, key)) if k not in result]
            if high is not None and len(result) + len(new) > high:
                continue
            for k in new:
                result[k] = draw(strategies[k])
        if pairs is not None:
            need = max(0, low - len(result))
            room = None if high is None else high - len(result)
            if extra_room is not None:
                room = extra_room if room is None else min(room, extra_room)
            if room is not None and need > room:
                reject()  # dependencies pushed the count over: rare
            result.update(draw(st.lists(pairs, min_size=need, max_size=room, unique_by=_first)))
        if len(result) < low:
            reject()
        return result

    return objects()
