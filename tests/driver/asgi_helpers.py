"""What the tests of the in-process ASGI driver share: ASGI callables, an echo app, connecting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.driver.asgi import AsgiConnection, AsgiTransport
from ws_routes.driver.transport import AppError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
RawApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def echo(ws: WebSocket) -> None:
    offered = ws.scope["subprotocols"]
    await ws.accept(subprotocol=offered[-1] if offered else None)
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await ws.send_text(message["text"])
            else:
                await ws.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        pass


ECHO = Starlette(routes=[WebSocketRoute("/echo", echo)])


async def connect(app: Any, path: str = "/", timeout: float = 1.0, **kw: Any) -> AsgiConnection:
    return await AsgiTransport(app, **kw.pop("transport", {})).connect(path, timeout=timeout, **kw)


def msg(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": f"websocket.{kind}", **fields}


ACCEPT = msg("accept")


def protocol_errors_of(messages: list[Any]) -> tuple[list[str], AppError | None]:
    """The protocol errors and app error of an app that sends ``messages`` after the connect."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)

    async def main() -> tuple[list[str], AppError | None]:
        conn = await connect(app)
        await conn.settle(1)
        await conn.close(timeout=1)
        return conn.protocol_errors, conn.app_error

    result: tuple[list[str], AppError | None] = run(main())
    return result
