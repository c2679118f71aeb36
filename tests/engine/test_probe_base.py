"""The simplest value and connection every probe starts from."""

from __future__ import annotations

from ws_routes.engine.probe_base import simplest


def test_simplest_is_the_shrunk_value_and_deterministic() -> None:
    from hypothesis import strategies as st

    strategy = st.fixed_dictionaries({"n": st.integers(5, 100), "s": st.text(min_size=2)})
    assert simplest(strategy) == {"n": 5, "s": "00"}
    assert simplest(strategy) == simplest(strategy)
