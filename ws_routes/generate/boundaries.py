"""Boundary bias: mixing edge values into a strategy without hurting shrinking or speed.

Random draws rarely land on ``minLength``, ``maxItems``, ``maximum`` or an empty object, yet
that is where off-by-one bugs live. :func:`with_edges` draws an integer that picks either the
ordinary strategy (most of the time) or one of the edge strategies; the integer shrinks to the
ordinary strategy, so failing examples still shrink to simple values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = ["EDGE_LENGTH_LIMIT", "MAIN_WEIGHT", "with_edges"]

T = TypeVar("T")

# Exact-length edge collections beyond this size cost more to draw than they find.
EDGE_LENGTH_LIMIT = 256
# Shares of the ordinary strategy against one share per edge. Hypothesis's engine already
# revisits large, structured examples (it mutates the ones it has drawn), so full collections
# need only a small share to come up often.
MAIN_WEIGHT = 3


def with_edges(
    strategy: SearchStrategy[T],
    edges: Sequence[SearchStrategy[T] | Any],
    *,
    weight: int = MAIN_WEIGHT,
) -> SearchStrategy[T]:
    """``strategy`` with ``edges`` mixed in: strategies, or plain values (sampled from).

    Each edge strategy is drawn as often as one share, the ordinary strategy ``weight`` shares.
    The choice is an integer that shrinks to 0, the ordinary strategy, so failing examples
    still shrink to simple values.
    """
    strategies = [e for e in edges if isinstance(e, SearchStrategy)]
    values = [e for e in edges if not isinstance(e, SearchStrategy)]
    if values:
        strategies.append(st.sampled_from(values))
    if not strategies:
        return strategy
    return _weighted(strategy, tuple(strategies), weight)


@st.composite
def _weighted(
    draw: st.DrawFn, main: SearchStrategy[T], edges: tuple[SearchStrategy[T], ...], weight: int
) -> T:
    pick = draw(st.integers(0, weight + len(edges) - 1))
    return draw(main if pick < weight else edges[pick - weight])
