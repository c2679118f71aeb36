"""The simplest value and connection every probe starts from."""

from __future__ import annotations

from ws_routes.engine.probe_base import simplest


def test_simplest_is_the_shrunk_value_and_deterministic() -> None:
    from hypothesis import strategies as st

    strategy = st.fixed_dictionaries({"n": st.integers(5, 100), "s": st.text(min_size=2)})
    assert simplest(strategy) == {"n": 5, "s": "00"}
    assert simplest(strategy) == simplest(strategy)


def test_the_base_connection_sends_the_opening_else_what_the_first_state_allows() -> None:
    from tests.engine.probe_routes import compiled
    from ws_routes.engine.probe_base import base_connection
    from ws_routes.spec.model import MessageSpec, Schema

    # The imports are here as in the test above: this module's other test needs none of them.
    def const(name: str, **fields: object) -> MessageSpec:
        return MessageSpec(name=name, kind="json", schema=Schema(value={"const": name}), **fields)  # type: ignore[arg-type]

    messages = (const("subscribe", when=("ready",)), const("hello"), const("init"))
    opening = base_connection(
        compiled(messages=messages, states=("new", "ready"), opening=("hello", "init"))
    )
    assert opening is not None
    assert [s.payload for s in opening.steps] == ["hello", "init"]
    gated = base_connection(compiled(messages=messages, states=("new", "ready")))
    assert gated is not None
    assert [s.payload for s in gated.steps] == ["hello"]  # subscribe is not allowed when new
    plain = base_connection(compiled(messages=(const("subscribe"), *messages[1:])))
    assert plain is not None
    assert [s.payload for s in plain.steps] == ["subscribe"]  # no states: the first declared one
