from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import strategies as st

import ws_routes
from ws_routes.compile.registry import (
    clear_message_strategies,
    pattern_matches,
    register_message_strategy,
    strategy_for,
)
from ws_routes.errors import WsRoutesError


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    clear_message_strategies()
    yield
    clear_message_strategies()


def test_importable_from_package_and_seed_path() -> None:
    assert ws_routes.register_message_strategy is register_message_strategy


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/ws/chat", "/ws/chat", True),
        ("/ws/*", "/ws/chat/{room}", True),
        ("/ws/chat/{room}", "/ws/chat/{room:str}", True),
        ("/ws/chat/{room:str}", "/ws/chat/{room}", True),
        ("/ws/chat", "/ws/chat/{room}", False),
        ("/api/*", "/ws/chat", False),
    ],
)
def test_pattern_matches(pattern: str, path: str, expected: bool) -> None:
    assert pattern_matches(pattern, path) is expected


def test_latest_matching_registration_wins() -> None:
    first, second = st.just({"a": 1}), st.just({"b": 2})
    register_message_strategy("/ws/*", "json", first)
    register_message_strategy("/ws/chat", "json", second)
    assert strategy_for("/ws/chat", "json").strategy is second  # type: ignore[union-attr]
    assert strategy_for("/ws/other", "json").strategy is first  # type: ignore[union-attr]
    assert strategy_for("/ws/chat", "bytes") is None


def test_unknown_kind_suggests_the_closest() -> None:
    with pytest.raises(
        WsRoutesError,
        match=r"kind must be one of 'json', 'text', 'bytes', got 'jsn' \(did you mean 'json'\?\)",
    ):
        register_message_strategy("/ws", "jsn", st.just(1))


def test_non_strategy_is_refused_with_a_hint() -> None:
    with pytest.raises(
        WsRoutesError,
        match=r"expected a Hypothesis strategy, got function .*did you forget to call it",
    ):
        register_message_strategy("/ws", "json", st.integers)  # type: ignore[arg-type]
    with pytest.raises(WsRoutesError, match="expected a Hypothesis strategy, got int 3"):
        register_message_strategy("/ws", "json", 3)  # type: ignore[arg-type]


def test_empty_pattern_is_refused() -> None:
    with pytest.raises(WsRoutesError, match="pattern must be a route path or glob"):
        register_message_strategy("", "json", st.just(1))
