"""The seed's import path for the strategy registry: ``from ws_routes.websocket import
register_message_strategy``. The registry itself lives with the compiler
(:mod:`ws_routes.compile.registry`), which reads it when it compiles a route."""

from __future__ import annotations

from ws_routes.compile.registry import (
    RegisteredStrategy,
    clear_message_strategies,
    register_message_strategy,
    registered_strategies,
)

__all__ = [
    "RegisteredStrategy",
    "clear_message_strategies",
    "register_message_strategy",
    "registered_strategies",
]
