"""Which WebSocket client the network driver uses: speed and fidelity, measured in one run.

uvicorn serves a small Starlette app on 127.0.0.1 (a free port) in a thread. For each client,
and for the in-process driver as the baseline, it runs conversations (connect, 5 echoed text
messages, close) and prints conversations/s and the ratio to in-process. Then it checks what
each client lets us see, which is what the checks judge over the network:

* a close code in 4000-4999 with its reason;
* a handler that returns without closing (uvicorn drops the socket: 1006, no close frame);
* a refused handshake (``websocket.http.response``): HTTP status, a header, the body;
* a close before accept (uvicorn answers HTTP 403);
* the subprotocol the server chose;
* a ping answered by the server (pong).

Prints figures; asserts nothing about timings. Run from the repository root:
``python benchmarks/bench_network.py`` (needs websockets, httpx-ws, uvicorn, starlette).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from httpx_ws import WebSocketDisconnect as HttpxDisconnect
from httpx_ws import WebSocketUpgradeError, aconnect_ws
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # benchmarks., tests., from anywhere

from benchmarks.bench_driver import echo  # the same echo route as the driver's benchmark
from tests.servers import running_uvicorn
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.transport import Accepted, Rejected, ServerClose

CONVERSATIONS = 300
MESSAGES = 5
TIMEOUT = 5.0


async def close_4321(ws: WebSocket) -> None:
    await ws.accept()
    await ws.close(4321, "custom reason")


async def returns(ws: WebSocket) -> None:
    await ws.accept()  # and returns without closing: the server drops the connection


async def before_accept(ws: WebSocket) -> None:
    await ws.close(4001)


async def subprotocol(ws: WebSocket) -> None:
    await ws.accept(subprotocol="b")
    await ws.receive()


async def refuse(ws: WebSocket) -> None:
    # The ASGI websocket.http.response extension: a denial with a status, headers and a body.
    denial = PlainTextResponse("no token", 401, headers={"www-authenticate": "Bearer"})
    await ws.send_denial_response(denial)


APP = Starlette(
    routes=[
        WebSocketRoute("/echo", echo),
        WebSocketRoute("/close", close_4321),
        WebSocketRoute("/returns", returns),
        WebSocketRoute("/before", before_accept),
        WebSocketRoute("/sub", subprotocol),
        WebSocketRoute("/refuse", refuse),
    ]
)


# -- speed ---------------------------------------------------------------------------------------


async def in_process(_base: str) -> None:
    transport = AsgiTransport(APP)
    for _ in range(CONVERSATIONS):
        conn = await transport.connect("/echo", timeout=TIMEOUT)
        for i in range(MESSAGES):
            await conn.send_text(str(i))
            await conn.receive(TIMEOUT)
        await conn.close(timeout=TIMEOUT)


async def with_websockets(base: str) -> None:
    for _ in range(CONVERSATIONS):
        async with connect(base + "/echo", open_timeout=TIMEOUT, compression=None) as ws:
            for i in range(MESSAGES):
                await ws.send(str(i))
                await asyncio.wait_for(ws.recv(), TIMEOUT)


async def with_httpx_ws(base: str) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        for _ in range(CONVERSATIONS):
            async with aconnect_ws(base.replace("ws://", "http://") + "/echo", client) as ws:
                for i in range(MESSAGES):
                    await ws.send_text(str(i))
                    await ws.receive_text(timeout=TIMEOUT)


def measure(run: Callable[[str], Awaitable[None]], base: str) -> float:
    start = time.perf_counter()
    asyncio.run(run(base))  # type: ignore[arg-type]
    return CONVERSATIONS / (time.perf_counter() - start)


# -- fidelity ------------------------------------------------------------------------------------


async def fidelity_websockets(base: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    async with connect(base + "/close") as ws:
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            seen["close 4321"] = f"{exc.rcvd.code} {exc.rcvd.reason!r}" if exc.rcvd else "none"
    async with connect(base + "/returns") as ws:
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            seen["drop"] = "1006 (no close frame)" if exc.rcvd is None else str(exc.rcvd.code)
    for path in ("/refuse", "/before"):
        try:
            async with connect(base + path):
                seen[path] = "accepted?"
        except InvalidStatus as exc:
            r = exc.response
            seen[path] = f"HTTP {r.status_code} {r.headers.get('www-authenticate')!r} {r.body!r}"
    async with connect(base + "/sub", subprotocols=["a", "b"]) as ws:  # type: ignore[list-item]
        seen["subprotocol"] = repr(ws.subprotocol)
        latency = await asyncio.wait_for(await ws.ping(), TIMEOUT)
        seen["ping"] = f"pong in {latency * 1000:.2f} ms"
    return seen


async def fidelity_httpx_ws(base: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    http = base.replace("ws://", "http://")
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        async with aconnect_ws(http + "/close", client) as ws:
            try:
                await ws.receive_text()
            except HttpxDisconnect as exc:
                seen["close 4321"] = f"{exc.code} {exc.reason!r}"
        try:
            async with aconnect_ws(http + "/returns", client) as ws:
                await ws.receive_text(timeout=TIMEOUT)
        except HttpxDisconnect as exc:
            seen["drop"] = f"{exc.code} {exc.reason!r}"
        except Exception as exc:
            seen["drop"] = f"{type(exc).__name__}: {exc}"
        for path in ("/refuse", "/before"):
            try:
                async with aconnect_ws(http + path, client):
                    seen[path] = "accepted?"
            except WebSocketUpgradeError as exc:
                r = exc.response
                try:
                    body = repr(await r.aread())
                except httpx.StreamClosed:  # httpx-ws closes the stream before raising
                    body = "(body unreadable: stream closed)"
                seen[path] = f"HTTP {r.status_code} {r.headers.get('www-authenticate')!r} {body}"
        async with aconnect_ws(http + "/sub", client, subprotocols=["a", "b"]) as ws:
            seen["subprotocol"] = repr(ws.subprotocol)
            start = time.perf_counter()
            await asyncio.wait_for((await ws.ping()).wait(), TIMEOUT)
            seen["ping"] = f"pong in {(time.perf_counter() - start) * 1000:.2f} ms"
    return seen


async def fidelity_in_process(_base: str) -> dict[str, str]:
    transport = AsgiTransport(APP)
    seen: dict[str, str] = {}
    for name, path in (("close 4321", "/close"), ("drop", "/returns")):
        conn = await transport.connect(path, timeout=TIMEOUT)
        event = await conn.receive(TIMEOUT)
        if isinstance(event, ServerClose):
            seen[name] = f"{event.code} {event.reason!r}" + (" (dropped)" if event.dropped else "")
        await conn.close(timeout=TIMEOUT)
    for path in ("/refuse", "/before"):
        conn = await transport.connect(path, timeout=TIMEOUT)
        h = conn.handshake
        if isinstance(h, Rejected):
            auth = dict(h.headers).get("www-authenticate")
            seen[path] = f"HTTP {h.status} {auth!r} {h.body!r} (close code {h.close_code})"
        await conn.abort(timeout=TIMEOUT)
    conn = await transport.connect("/sub", subprotocols=["a", "b"], timeout=TIMEOUT)
    if isinstance(conn.handshake, Accepted):
        seen["subprotocol"] = repr(conn.handshake.subprotocol)
    seen["ping"] = "n/a (no frames below messages in ASGI)"
    await conn.close(timeout=TIMEOUT)
    return seen


def main() -> None:
    with running_uvicorn(APP) as port:
        base = f"ws://127.0.0.1:{port}"
        print(f"uvicorn on {base}; {CONVERSATIONS} conversations of {MESSAGES} echoed messages")
        rates = {
            "in-process (AsgiTransport)": measure(in_process, base),
            "websockets (asyncio client)": measure(with_websockets, base),
            "httpx-ws": measure(with_httpx_ws, base),
        }
        baseline = rates["in-process (AsgiTransport)"]
        for name, rate in rates.items():
            print(f"  {name:30} {rate:8.0f} conversations/s  x{rate / baseline:.3f}")
        for name, check in (
            ("in-process", fidelity_in_process),
            ("websockets", fidelity_websockets),
            ("httpx-ws", fidelity_httpx_ws),
        ):
            print(f"fidelity: {name}")
            for key, value in asyncio.run(check(base)).items():  # type: ignore[arg-type]
                print(f"  {key:12} {value}")


if __name__ == "__main__":
    main()
