"""ws_routes: property-based testing of ASGI WebSocket endpoints.

The pytest plugin is the main entry point (``pytest --routes-websocket``). The names below are the
plain Python API; they load lazily so ``import ws_routes`` stays cheap for the plugin.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ws_routes.compile.registry import register_message_strategy
    from ws_routes.compile.route import compile_route
    from ws_routes.engine.play import run_conversation
    from ws_routes.errors import SpecError, WsRoutesError, WsRoutesWarning
    from ws_routes.generate.formats import register_format
    from ws_routes.report.crashfiles import crash_files
    from ws_routes.report.replay import ReplayFailed, ReplayResult, replay, replay_file
    from ws_routes.spec.loader import load_spec

__all__ = [
    "ReplayFailed",
    "ReplayResult",
    "SpecError",
    "WsRoutesError",
    "WsRoutesWarning",
    "compile_route",
    "crash_files",
    "load_spec",
    "register_format",
    "register_message_strategy",
    "replay",
    "replay_file",
    "run_conversation",
]

__version__ = "0.1.0"

_LAZY = {
    "ReplayFailed": "ws_routes.report.replay",
    "ReplayResult": "ws_routes.report.replay",
    "SpecError": "ws_routes.errors",
    "WsRoutesError": "ws_routes.errors",
    "WsRoutesWarning": "ws_routes.errors",
    "compile_route": "ws_routes.compile.route",
    "crash_files": "ws_routes.report.crashfiles",
    "load_spec": "ws_routes.spec.loader",
    "register_format": "ws_routes.generate.formats",
    "register_message_strategy": "ws_routes.compile.registry",
    "replay": "ws_routes.report.replay",
    "replay_file": "ws_routes.report.replay",
    "run_conversation": "ws_routes.engine.play",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ws_routes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
