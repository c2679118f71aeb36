"""How fast the in-process driver talks to an app, against the limit of a raw ASGI loop.

One Starlette echo route, the same message and counts for every driver, all in one run:

* raw: a minimal hand-written driver (two asyncio.Queues, no timeouts, no validation) calling
  the app directly: the ceiling for any in-process driver.
* ws_routes: AsgiTransport, ``send_text`` + ``receive(timeout)`` per message; also
  ``send_text`` + ``settle`` (quiet detection) per message.
* for reference, Starlette's TestClient and httpx-ws' ASGI transport (when installed).
* LoopThread.run() overhead per call: from another thread (a thread hop each way), and inside
  LoopThread.call() on the loop thread itself, which is how the runner runs each conversation.

Prints figures; asserts nothing about timings. Run: ``python benchmarks/bench_driver.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopThread

MESSAGES = 20_000
# Below MAX_KEPT_FRAMES (driver/transcript.py), so every echo is delivered.
PER_CONNECTION = 5_000
CONNECTIONS = 2_000
REPEATS = 3
TIMEOUT = 5.0


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


APP = Starlette(routes=[WebSocketRoute("/echo", echo)])


class RawConnection:
    """The least an in-process driver can do: queues both ways, the app as a task."""

    def __init__(self, app: Any, path: str) -> None:
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.to_client: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "websocket", "path": path, "headers": [], "query_string": b""}
        self.to_app.put_nowait({"type": "websocket.connect"})

        async def send(message: dict[str, Any]) -> None:
            self.to_client.put_nowait(message)

        self.task = asyncio.create_task(app(scope, self.to_app.get, send))

    async def handshake(self) -> dict[str, Any]:
        return await self.to_client.get()

    async def echo(self, text: str) -> dict[str, Any]:
        self.to_app.put_nowait({"type": "websocket.receive", "text": text})
        return await self.to_client.get()

    async def close(self) -> None:
        self.to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self.task


async def raw_messages() -> float:
    conn = RawConnection(APP, "/echo")
    await conn.handshake()
    start = time.perf_counter()
    for _ in range(MESSAGES):
        await conn.echo("hello")
    elapsed = time.perf_counter() - start
    await conn.close()
    return MESSAGES / elapsed


async def raw_connections() -> float:
    start = time.perf_counter()
    for _ in range(CONNECTIONS):
        conn = RawConnection(APP, "/echo")
        await conn.handshake()
        await conn.close()
    return CONNECTIONS / (time.perf_counter() - start)


async def _ours_per_message(settle: bool) -> float:
    """Messages/s through our driver; a new connection every PER_CONNECTION messages, because a
    connection keeps at most MAX_KEPT_FRAMES frames (the rest are counted, never delivered)."""
    transport = AsgiTransport(APP)
    elapsed = 0.0
    for _ in range(MESSAGES // PER_CONNECTION):
        conn = await transport.connect("/echo", timeout=TIMEOUT)
        start = time.perf_counter()
        for _ in range(PER_CONNECTION):
            await conn.send_text("hello")
            if settle:
                await conn.settle(TIMEOUT)
            else:
                await conn.receive(TIMEOUT)
        elapsed += time.perf_counter() - start
        await conn.close(timeout=TIMEOUT)
    return MESSAGES / elapsed


async def ours_messages() -> float:
    return await _ours_per_message(settle=False)


async def ours_settle_messages() -> float:
    return await _ours_per_message(settle=True)


async def ours_connections() -> float:
    transport = AsgiTransport(APP)
    start = time.perf_counter()
    for _ in range(CONNECTIONS):
        conn = await transport.connect("/echo", timeout=TIMEOUT)
        await conn.close(timeout=TIMEOUT)
    return CONNECTIONS / (time.perf_counter() - start)


def testclient_figures() -> tuple[float, float]:
    with warnings.catch_warnings():  # Starlette 1.x nudges towards httpx2; irrelevant here
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    count = MESSAGES // 10
    with TestClient(APP) as client, client.websocket_connect("/echo") as ws:
        start = time.perf_counter()
        for _ in range(count):
            ws.send_text("hello")
            ws.receive_text()
        messages = count / (time.perf_counter() - start)
    with TestClient(APP) as client:
        start = time.perf_counter()
        for _ in range(CONNECTIONS // 10):
            with client.websocket_connect("/echo"):
                pass
        connections = CONNECTIONS // 10 / (time.perf_counter() - start)
    return messages, connections


async def httpx_ws_figures() -> tuple[float, float]:
    import httpx
    from httpx_ws import AsyncWebSocketSession, aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    count = MESSAGES // 10
    async with (
        ASGIWebSocketTransport(APP) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        ws: AsyncWebSocketSession
        async with aconnect_ws("/echo", client) as ws:
            start = time.perf_counter()
            for _ in range(count):
                await ws.send_text("hello")
                await ws.receive_text()
            messages = count / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(CONNECTIONS // 10):
            async with aconnect_ws("/echo", client):
                pass
        connections = CONNECTIONS // 10 / (time.perf_counter() - start)
    return messages, connections


def loop_thread_overhead_us() -> tuple[float, float]:
    """Per call of an empty coroutine: (from another thread, inside ``call`` on the loop thread)."""

    async def nothing() -> None:
        return None

    def calls(loop: LoopThread, count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            loop.run(nothing(), timeout=TIMEOUT)
        return (time.perf_counter() - start) / count * 1e6

    with LoopThread() as loop:
        calls(loop, 200)
        hop = calls(loop, 2_000)
        loop.call(calls, loop, 200)
        inline = loop.call(calls, loop, 2_000)
    return hop, inline


def best(measure: Callable[[], Coroutine[Any, Any, float]]) -> float:
    """The best of REPEATS runs (each on a fresh loop): the least disturbed by other processes."""
    return max(asyncio.run(measure()) for _ in range(REPEATS))


def main() -> None:
    # Interleave raw and ours so that machine noise hits both alike.
    raw_msgs, our_msgs, raw_conns, our_conns = [], [], [], []
    for _ in range(REPEATS):
        raw_msgs.append(asyncio.run(raw_messages()))
        our_msgs.append(asyncio.run(ours_messages()))
        raw_conns.append(asyncio.run(raw_connections()))
        our_conns.append(asyncio.run(ours_connections()))
    settle_msgs = best(ours_settle_messages)
    rm, om = max(raw_msgs), max(our_msgs)
    rc, oc = max(raw_conns), max(our_conns)
    print(f"Starlette echo, {MESSAGES} messages / {CONNECTIONS} connections, best of {REPEATS}")
    print(f"{'driver':34} {'msgs/s':>10} {'conns/s':>10}")
    print(f"{'raw ASGI loop (limit)':34} {rm:>10,.0f} {rc:>10,.0f}")
    print(f"{'ws_routes send+receive':34} {om:>10,.0f} {oc:>10,.0f}")
    print(f"{'ws_routes send+settle':34} {settle_msgs:>10,.0f} {'':>10}")
    print(f"{'  ratio to raw (receive)':34} {om / rm:>10.0%} {oc / rc:>10.0%}")
    median = statistics.median(o / r for o, r in zip(our_msgs, raw_msgs, strict=True))
    print(f"{'  median ratio (receive)':34} {median:>10.0%}")
    tc_msgs, tc_conns = testclient_figures()
    print(f"{'starlette TestClient':34} {tc_msgs:>10,.0f} {tc_conns:>10,.0f}")
    try:
        hx_msgs, hx_conns = asyncio.run(httpx_ws_figures())
    except ImportError:  # a reference figure only, not a dependency: `pip install httpx-ws`
        print(f"{'httpx-ws ASGIWebSocketTransport':34} {'(pip install httpx-ws)':>21}")
    else:
        print(f"{'httpx-ws ASGIWebSocketTransport':34} {hx_msgs:>10,.0f} {hx_conns:>10,.0f}")
    hop, inline = loop_thread_overhead_us()
    print(f"LoopThread.run() overhead per call: {hop:.0f} us from another thread, "
          f"{inline:.0f} us inside LoopThread.call() (how the runner runs conversations)")


if __name__ == "__main__":
    main()
