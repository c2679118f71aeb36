"""Compile array keywords: ``prefixItems``/``items``, lengths, ``uniqueItems``, ``contains``.

Uniqueness uses JSON Schema equality (``1 == 1.0``, ``true != 1``) through ``unique_by``; when
the items allow only a few known values (an ``enum``) we draw distinct indices instead, which
Hypothesis does efficiently even when every value must be used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.awkward import json_strategy
from ws_routes.generate.boundaries import EDGE_LENGTH_LIMIT, with_edges
from ws_routes.generate.failures import CutOff, Unsatisfiable
from ws_routes.generate.merge import merge
from ws_routes.generate.node import Node
from ws_routes.generate.sizes import (
    CHOICE_BUDGET,
    INF,
    LEAN_COUNT,
    MAX_MIN_COUNT,
    allocate,
    max_bytes,
    min_bytes,
    too_many,
)
from ws_routes.generate.values import json_key, json_size

if TYPE_CHECKING:
    from ws_routes.generate.compiler import Compiler, Context

__all__ = ["array_strategy"]

# Makes lists of the items after the prefix, given their least and most count.
ElementLists = Callable[[int, int | None], SearchStrategy[list[Any]]]

_SHARES = 4  # when the budget binds, each item may take a quarter of it


def _unique(values: list[Any]) -> bool:
    return len({json_key(v) for v in values}) == len(values)


def array_strategy(compiler: Compiler, node: Node, ctx: Context) -> SearchStrategy[list[Any]]:
    """Arrays valid against ``node``'s array keywords that fit ``ctx.budget``."""
    low, high = node.min_items, node.max_items
    if low > MAX_MIN_COUNT:
        raise too_many("minItems", low, node.at("minItems"))
    if high is not None and low > high:
        raise Unsatisfiable(
            f"minItems {low} is greater than maxItems {high}: no array satisfies both",
            pointer=node.at("minItems"),
            keyword="minItems",
        )
    if node.contains is not None:
        return _contains(compiler, node, ctx)
    resolve = compiler.resolve
    prefix = node.prefix_items
    rest = node.items
    rest_allowed = rest is None or bool(rest.types)
    if ctx.budget is None:
        shares: list[int | None] = [None] * (len(prefix) + 1)
    else:
        missing = max(0, low - len(prefix))
        rest_need = missing * (min_bytes(rest or Node(), resolve) + 2) if missing else 0
        needs = [min_bytes(p, resolve) + 2 if i < low else 0 for i, p in enumerate(prefix)] + [
            rest_need
        ]
        wants = [max_bytes(p, resolve) + 2 for p in prefix] + [INF if rest_allowed else 0]
        # n elements take 2 (brackets) + sum(element + 2) - 2 (no separator after the last).
        allotted = allocate(ctx.budget, needs, wants)
        for index, need in enumerate(needs[:-1]):
            if math.isinf(need):
                compiler.compile(prefix[index], ctx.sized(None))  # raises why no value exists
        if allotted is None:
            raise CutOff(
                f"max_size leaves {ctx.budget} bytes here, too few for {low} items",
                pointer=node.at("minItems") if low else node.pointer,
                keyword=None,
            )
        shares = list(allotted)
    if low > LEAN_COUNT:
        # As for objects with many properties: without edge draws and with a small byte share
        # per item, so that the items fit Hypothesis's 8 KiB choice buffer.
        ctx = replace(ctx, lean=True)
        smallest = max(0, low - len(prefix)) * (min_bytes(rest or Node(), resolve) + 2)
        if math.isfinite(smallest):
            cap = max(int(smallest), CHOICE_BUDGET)
            shares[-1] = cap if shares[-1] is None else min(shares[-1], cap)
    compiled: list[SearchStrategy[Any]] = []
    for index, item in enumerate(prefix):
        if high is not None and index >= high:
            break  # maxItems ends the array inside the prefix
        share = shares[index]
        item_ctx = ctx.sized(None if share is None else share - 2)
        if index < low:
            compiled.append(compiler.compile(item, item_ctx))
            continue
        optional = compiler.optional(item, item_ctx) if share is None or share >= 3 else None
        if optional is None:
            break  # this position must stay empty, so the array ends before it
        compiled.append(optional)
    usable = len(compiled)
    element: ElementLists | None = None
    r_cap: float = 0
    if usable == len(prefix) and rest_allowed and (high is None or high > usable):
        element, _, r_cap = _rest(compiler, node, ctx, shares[-1], low - usable, high)
    elif low > usable:
        raise Unsatisfiable(
            f"minItems {low} needs {low - usable} more items than the {usable} that prefixItems"
            " allows, and items forbids more",
            pointer=node.at("minItems"),
            keyword="minItems",
        )

    def head(k: int) -> SearchStrategy[list[Any]]:
        return st.tuples(*compiled[:k]).map(list) if k else st.just([])

    def arrays(a: int, b: float) -> SearchStrategy[list[Any]]:
        """Arrays of length a to b: a part of the prefix, or all of it and more items."""
        options: list[SearchStrategy[list[Any]]] = []
        with_rest = element is not None and b > usable
        if a <= usable:
            for k in range(a, int(min(b, usable)) + 1):
                if not (k == usable and with_rest):
                    options.append(head(k))
        if with_rest:
            assert element is not None
            tail = element(max(0, a - usable), None if math.isinf(b) else int(b) - usable)
            options.append(st.builds(lambda h, t: h + t, head(usable), tail) if usable else tail)
        return st.one_of(options)

    top = usable + r_cap
    main = arrays(low, top)
    if node.unique_items and usable:
        main = main.filter(_unique)  # prefix items may repeat each other: rare
    edges: list[SearchStrategy[list[Any]]] = []
    if compiler.size_edges(ctx):
        for size in {low, top}:
            if not math.isinf(size) and size <= EDGE_LENGTH_LIMIT and (size, size) != (low, top):
                edges.append(
                    arrays(int(size), size)
                    if not node.unique_items or not usable
                    else arrays(int(size), size).filter(_unique)
                )
    return with_edges(main, edges)


def _rest(
    compiler: Compiler, node: Node, ctx: Context, share: int | None, need: int, high: int | None
) -> tuple[ElementLists, int, float]:
    """A maker of lists of the items after the prefix, their least count and their count cap."""
    resolve = compiler.resolve
    rest = node.items
    done = len(node.prefix_items)
    r_low = max(0, need)
    r_high: float = INF if high is None else high - done
    item_budget: int | None = None
    if share is not None:
        least = min_bytes(rest or Node(), resolve) + 2
        most = max_bytes(rest or Node(), resolve) + 2
        if r_high * most <= share:
            item_budget = int(most) - 2
        else:
            # A binding budget buys a few rich items rather than many tiny ones.
            target = max(least, min(most, share / _SHARES))
            r_high = min(r_high, max(r_low, share // target))
            item_budget = int(share // r_high) - 2 if r_high else 0
            if r_high and item_budget + 2 < least:
                if r_low:
                    raise CutOff(
                        f"max_size leaves {share} bytes for {r_low} items", pointer=node.pointer
                    )
                r_high = 0
    if r_high == 0 or (item_budget is not None and item_budget < 1):
        if r_low:
            raise CutOff(f"max_size leaves {share} bytes for {r_low} items", pointer=node.pointer)
        return (lambda a, b: st.just([])), 0, 0
    item_ctx = ctx.sized(item_budget)
    if rest is None:
        element: SearchStrategy[Any] | None = json_strategy(item_budget)
    elif r_low:
        element = compiler.compile(rest, item_ctx)
    else:
        element = compiler.optional(rest, item_ctx)
    if element is None:
        return (lambda a, b: st.just([])), 0, 0
    values = compiler.finite_values(rest) if node.unique_items else None
    if values is not None:
        values = [v for v in values if item_budget is None or json_size(v) <= item_budget]
        if len(values) < r_low:
            raise Unsatisfiable(
                f"uniqueItems needs {node.min_items} distinct items, but items allows only"
                f" {len(values)} distinct values",
                pointer=node.at("uniqueItems"),
                keyword="uniqueItems",
            )
        r_high = min(r_high, len(values))
        indices = st.sampled_from(range(len(values)))

        def distinct(a: int, b: int | None) -> SearchStrategy[list[Any]]:
            return st.lists(indices, min_size=a, max_size=b, unique=True).map(
                lambda picked: [values[i] for i in picked]
            )

        return distinct, r_low, r_high
    unique_by = json_key if node.unique_items else None
    assert element is not None
    strategy = element

    def lists(a: int, b: int | None) -> SearchStrategy[list[Any]]:
        if b is None and not math.isinf(r_high):
            b = int(r_high)
        return st.lists(strategy, min_size=a, max_size=b, unique_by=unique_by)

    return lists, r_low, r_high


def _contains(compiler: Compiler, node: Node, ctx: Context) -> SearchStrategy[list[Any]]:
    """Arrays with between minContains and maxContains items matching ``contains``."""
    assert node.contains is not None
    if node.prefix_items:
        raise SchemaCompileError(
            "contains together with prefixItems (or an items array) is not supported",
            pointer=node.at("contains"),
            keyword="contains",
        )
    least, most = node.min_contains, node.max_contains
    if most is not None and least > most:
        raise Unsatisfiable(
            f"minContains {least} is greater than maxContains {most}: no array satisfies both",
            pointer=node.at("minContains"),
            keyword="minContains",
        )
    high = node.max_items
    if high is not None and least > high:
        raise Unsatisfiable(
            f"minContains {least} is greater than maxItems {high}",
            pointer=node.at("minContains"),
            keyword="minContains",
        )
    needed = max(node.min_items, least)
    budget = ctx.budget
    # Without maxItems, keep arrays short; each item gets an equal share of the budget.
    top = high if high is not None else max(needed, 1) + 4
    if budget is not None:
        smallest = min_bytes(node.items or Node(), compiler.resolve) + 2
        top = min(top, max(needed, int((budget - 2) // smallest)))
    item_budget = None if budget is None else (budget - 2) // max(top, 1) - 2
    if item_budget is not None and item_budget < 1:
        if needed:
            raise CutOff(f"max_size leaves {budget} bytes for {needed} items", pointer=node.pointer)
        return st.just([])
    item_ctx = ctx.sized(item_budget)
    wanted = merge(node.items or Node(), node.contains, compiler.resolve)
    matching = compiler.compile(wanted, item_ctx) if least else compiler.optional(wanted, item_ctx)
    others = None if node.items is None else compiler.optional(node.items, item_ctx)
    if node.items is None:
        others = json_strategy(item_budget)
    contains = node.contains
    if most is not None and others is not None:
        # Other items must not match `contains`, or they would count towards maxContains.
        others = others.filter(lambda v: not compiler.valid(contains, v, strict=False))
    hits_high = top if most is None else min(most, top)

    @st.composite
    def arrays(draw: st.DrawFn) -> list[Any]:
        hits = (
            [] if matching is None else draw(st.lists(matching, min_size=least, max_size=hits_high))
        )
        room = top - len(hits)
        rest = (
            []
            if others is None
            else draw(st.lists(others, min_size=max(0, node.min_items - len(hits)), max_size=room))
        )
        result = list(rest)
        for hit in hits:
            result.insert(draw(st.integers(0, len(result))), hit)
        return result

    strategy = arrays()
    if node.unique_items:
        strategy = strategy.filter(_unique)
    if others is None and node.min_items > hits_high:
        raise Unsatisfiable(
            "minItems cannot be met: items other than contains matches are forbidden",
            pointer=node.at("minItems"),
            keyword="minItems",
        )
    return strategy
