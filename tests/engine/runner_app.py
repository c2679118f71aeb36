"""A Starlette app of small routes with known behaviour, and one of them run through RouteRunner.

Shared by the engine tests that run whole routes (tests/engine/test_runner.py and the tests of
the modules split off it): each route's handler says what it does wrong, if anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.engine.runner import RouteResult, RouteRunner
from ws_routes.spec.model import InvalidSpec, MessageSpec, RouteSpec, Settings

QUICK = Settings(connection_timeout=0.5, message_timeout=0.2, max_messages=4)


async def short_only(ws: WebSocket) -> None:
    """Echoes text, but crashes on any message of three characters or more."""
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            if len(text) >= 3:
                raise ValueError(f"too long: {text!r}")
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def refuse(ws: WebSocket) -> None:
    await ws.close(code=4001)


async def never_accepts(ws: WebSocket) -> None:
    await asyncio.Event().wait()


async def always_graphql_ws(ws: WebSocket) -> None:
    """Selects its subprotocol whatever the client offered."""
    await ws.accept(subprotocol="graphql-ws")
    await echo_accepted(ws)


async def guarded(ws: WebSocket) -> None:
    """Refuses foreign origins (HTTP 403) and missing tokens (4001 after accepting)."""
    if ws.headers.get("origin") not in (None, "https://app.example"):
        await ws.close()
        return
    await ws.accept()
    if ws.query_params.get("token") != "t0ken":
        await ws.close(code=4001)
        return
    await echo_accepted(ws)


async def per_item(ws: WebSocket) -> None:
    """Crashes on item 0, the simplest id there is, before accepting."""
    share = 100 // ws.path_params["id"]
    await ws.accept()
    await ws.send_text(str(share))
    await echo_accepted(ws)


COLD = {"started": False}


async def cold_start(ws: WebSocket) -> None:
    """Crashes on the first connection of the process only."""
    first, COLD["started"] = not COLD["started"], True
    await ws.accept()
    if first:
        raise RuntimeError("cache not warmed up")
    await echo_accepted(ws)


async def echo_accepted(ws: WebSocket) -> None:
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def two_bugs(ws: WebSocket) -> None:
    """Two different crashes: an empty message, and a long one."""
    await ws.accept()
    while True:
        text = await ws.receive_text()
        if len(text) >= 3:  # the longest this test's messages get
            raise KeyError(text)
        await ws.send_text(text[0])  # IndexError on ""


APP = Starlette(
    routes=[
        WebSocketRoute("/ws/two", two_bugs),
        WebSocketRoute("/ws/short", short_only),
        WebSocketRoute("/ws/echo", echo),
        WebSocketRoute("/ws/refuse", refuse),
        WebSocketRoute("/ws/hang", never_accepts),
        WebSocketRoute("/ws/greedy", always_graphql_ws),
        WebSocketRoute("/ws/guarded/{id:int}", guarded),
        WebSocketRoute("/ws/items/{id:int}", per_item),
        WebSocketRoute("/ws/cold", cold_start),
    ]
)


# Negative cases are the conversation tests' business; these test running, shrinking and probes.
POSITIVE = InvalidSpec(enabled=False)


def compiled(path: str, **fields: Any) -> CompiledRoute:
    messages = (MessageSpec(name="say", kind="text", max_size=12),)
    return compile_route(
        RouteSpec(
            **{"path": path, "messages": messages, "settings": QUICK, "invalid": POSITIVE, **fields}
        )
    )


def run(route: CompiledRoute, **kw: Any) -> RouteResult:
    kw.setdefault("seed", 1)
    kw.setdefault("max_examples", 40)
    return RouteRunner(APP, route, **kw).run()
