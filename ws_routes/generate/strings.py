"""Compile the string keywords of a node: length, ``pattern``, ``format``, and the byte budget.

Lengths are in code points (as JSON Schema counts them). A byte budget is turned into a code
point cap: awkward text may need six bytes per code point (``"\\u0000"``), so a tight budget
falls back to printable ASCII rather than giving up.
"""

from __future__ import annotations

import functools
import string

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate.awkward import text_strategy
from ws_routes.generate.failures import CutOff, Unsatisfiable
from ws_routes.generate.formats import format_lengths, format_strategy, registered_format
from ws_routes.generate.node import Node
from ws_routes.generate.patterns import (
    PatternError,
    pattern_max_char_bytes,
    pattern_search,
    pattern_strategy,
)
from ws_routes.generate.sizes import MAX_MIN_COUNT, too_many
from ws_routes.generate.values import string_bytes

__all__ = ["string_strategy"]

# One JSON byte each: printable ASCII except '"' and '\\', which json.dumps escapes.
_ONE_BYTE = "".join(c for c in string.printable if c.isprintable() and c not in '"\\')


def _budget_error(node: Node, budget: int, needed: int) -> CutOff:
    return CutOff(
        f"max_size leaves {budget} bytes here, but the shortest string needs {needed} bytes",
        pointer=node.pointer,
        keyword=None,
    )


def string_strategy(node: Node, budget: int | None, *, edges: bool) -> SearchStrategy[str]:
    """Strings satisfying ``node``'s string keywords, serialising to at most ``budget`` bytes.

    Raises:
        Unsatisfiable: the keywords contradict each other.
        CutOff: no such string fits the budget.
    """
    low, high = node.min_length, node.max_length
    if low > MAX_MIN_COUNT:
        raise too_many("minLength", low, node.at("minLength"))
    if high is not None and low > high:
        raise Unsatisfiable(
            f"minLength {low} is greater than maxLength {high}: no string satisfies both",
            pointer=node.at("minLength"),
            keyword="minLength",
        )
    if node.format is not None:
        strategy = _format(node, budget, edges=edges)
    elif node.patterns:
        strategy = _pattern(node, node.patterns[0], budget, edges=edges)
    else:
        return _plain(node, budget, edges=edges)
    for pattern in node.patterns[1 if node.format is None else 0 :]:
        # A second pattern (from allOf), or a pattern beside a format: checked, not constructed.
        strategy = strategy.filter(functools.partial(pattern_search, pattern))
    return strategy


def _plain(node: Node, budget: int | None, *, edges: bool) -> SearchStrategy[str]:
    low, high = node.min_length, node.max_length
    if budget is not None and (budget - 2) // 6 < low:
        # Too tight for awkward text; one byte per character may still fit.
        if budget - 2 < low:
            raise _budget_error(node, budget, low + 2)
        top = budget - 2 if high is None else min(high, budget - 2)
        return st.text(_ONE_BYTE, min_size=low, max_size=top)
    if budget is not None:
        high = (budget - 2) // 6 if high is None else min(high, (budget - 2) // 6)
    if edges:
        return text_strategy(low, high)
    return st.text(st.characters(codec="utf-8"), min_size=low, max_size=high)


def _registered(
    node: Node, strategy: SearchStrategy[str], budget: int | None
) -> SearchStrategy[str]:
    """A registered format's strings, kept to the node's lengths and the byte budget: we cannot
    build the user's strategy to fit, so these two are filters."""
    low, high = node.min_length, node.max_length
    if budget is not None and budget - 2 < low:
        raise _budget_error(node, budget, low + 2)

    def fits(text: str) -> bool:
        if len(text) < low or (high is not None and len(text) > high):
            return False
        return budget is None or string_bytes(text) <= budget

    return strategy.filter(fits)


def _format(node: Node, budget: int | None, *, edges: bool) -> SearchStrategy[str]:
    assert node.format is not None
    name = node.format
    registered = registered_format(name)
    if registered is not None:
        return _registered(node, registered, budget)
    shortest, longest = format_lengths(name)
    assert longest is not None  # built-in formats have a longest string
    low, high = node.min_length, node.max_length
    if high is not None and high < shortest:
        raise Unsatisfiable(
            f"format {name!r} strings have at least {shortest} characters, but maxLength is {high}",
            pointer=node.at("maxLength"),
            keyword="maxLength",
        )
    if low > longest:
        raise Unsatisfiable(
            f"format {name!r} strings have at most {longest} characters, but minLength is {low}",
            pointer=node.at("minLength"),
            keyword="minLength",
        )
    top = longest if high is None else min(longest, high)
    if budget is not None:
        # Our format strings are ASCII without escapes: one byte per character.
        if budget - 2 < max(shortest, low):
            raise _budget_error(node, budget, max(shortest, low) + 2)
        top = min(top, budget - 2)
    strategy = format_strategy(name, top, edges=edges)
    if low > shortest or top < longest:
        strategy = strategy.filter(lambda text: low <= len(text) <= top)
    return strategy


def _pattern(node: Node, pattern: str, budget: int | None, *, edges: bool) -> SearchStrategy[str]:
    low, high = node.min_length, node.max_length
    top = high
    if budget is not None:
        cap = (budget - 2) // pattern_max_char_bytes(pattern)
        top = cap if top is None else min(top, cap)
        if top < low:
            raise _budget_error(node, budget, low + 2)
    try:
        strategy = pattern_strategy(pattern, low, high, edges=edges)
    except PatternError as error:
        found = f"{error.low} to {'any number of' if error.high is None else error.high}"
        wanted = f"{low} to {'any number of' if high is None else high}"
        raise Unsatisfiable(
            f"pattern {pattern!r} only matches strings of {found} characters, but"
            f" minLength/maxLength allow {wanted}",
            pointer=node.at("pattern"),
            keyword="pattern",
        ) from None
    if top == high:
        return strategy
    try:
        return pattern_strategy(pattern, low, top, edges=edges)
    except PatternError as error:
        raise _budget_error(node, budget or 0, error.low + 2) from None
