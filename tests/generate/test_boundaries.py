"""Edge mixing (ws_routes.generate.boundaries)."""

from __future__ import annotations

from hypothesis import find
from hypothesis import strategies as st

from tests.schema_strategies import reaches
from ws_routes.generate.boundaries import with_edges


def test_without_edges_the_strategy_is_unchanged() -> None:
    base = st.integers()
    assert with_edges(base, []) is base


def test_edge_values_and_strategies_are_both_drawn() -> None:
    strategy = with_edges(st.integers(0, 10), [st.just(-1), 100, 200])
    for edge in (-1, 100, 200, 5):
        assert reaches(strategy, lambda v, e=edge: v == e, 100)


def test_shrinking_prefers_the_ordinary_strategy() -> None:
    # (An edge drawn with no choice of its own, like st.just, would be "simpler" still:
    # Hypothesis prefers shorter choice sequences.)
    strategy = with_edges(st.integers(0, 10), [-1, -2])
    assert find(strategy, lambda v: True) == 0
