"""Small routes the probe tests share (tests/engine/test_probes, test_sweep, test_judge)."""

from __future__ import annotations

from typing import Any

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.engine.probes import Probe
from ws_routes.spec.model import InvalidSpec, MessageSpec, ReplySpec, RouteSpec, Schema, Settings

QUICK = Settings(connection_timeout=1.0, message_timeout=0.3)
SAY = MessageSpec(name="say", kind="text", schema=Schema(value={"const": "hi"}), reply=("echo",))
ECHO = ReplySpec(name="echo", kind="text")
DENIED = ReplySpec(
    name="denied", kind="json", schema=Schema(value={"required": ["error"]}), error=True
)
SECRET = "s3cret"


def compiled(path: str = "/ws/echo", **fields: Any) -> CompiledRoute:
    """A route without negative probes (their own tests say invalid=...), so lists stay short."""
    defaults = {"messages": (SAY,), "replies": (ECHO,), "settings": QUICK}
    defaults["invalid"] = InvalidSpec(enabled=False)
    return compile_route(RouteSpec(**{"path": path, **defaults, **fields}))


def names(probes: list[Probe]) -> list[str]:
    return [p.name for p in probes]
