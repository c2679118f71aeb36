"""The client's side of a connection: its waits on the app (handshake, replies, quiet, stopping)
and the tasks the app leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.driver.asgi_helpers import ECHO, Receive, Scope, Send, connect, run
from ws_routes.driver.transport import Accepted, BytesFrame, Silence, TextFrame


def test_echo_round_trip_settles_and_closes_cleanly() -> None:
    async def main() -> None:
        conn = await connect(ECHO, "/echo")
        assert conn.handshake == Accepted()
        await conn.send_text("hello")
        assert await conn.receive(1) == TextFrame("hello")
        await conn.send_bytes(b"\x00\x01")
        await conn.send_text("again")
        events, quiet = await conn.settle(1)
        assert (events, quiet) == ([BytesFrame(b"\x00\x01"), TextFrame("again")], True)
        assert conn.background_tasks == 0
        assert await conn.close(timeout=1) is True
        assert conn.app_stopped is True
        assert (conn.app_error, conn.server_close, conn.protocol_errors) == (None, None, [])
        assert conn.leaked_tasks == []

    run(main())


def test_handler_that_never_accepts_times_out_and_is_cancelled() -> None:
    async def stuck(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.Event().wait()  # never accepts, never listens

    async def main() -> None:
        start = time.perf_counter()
        conn = await connect(stuck, timeout=0.2)
        assert conn.handshake is None
        assert 0.2 <= time.perf_counter() - start < 1.5
        assert await conn.abort(timeout=0.05) is False
        assert conn.app_stopped is False
        assert conn.app_done

    run(main())


def test_receive_times_out() -> None:
    async def main() -> None:
        conn = await connect(ECHO, "/echo")
        start = time.perf_counter()
        assert await conn.receive(0.05) is None
        assert 0.05 <= time.perf_counter() - start < 1
        await conn.close(timeout=1)

    run(main())


def test_settle_waits_for_a_slow_reply_and_times_out_on_a_stuck_app() -> None:
    async def slow(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        await asyncio.sleep(0.02)
        await ws.send_text(text)
        if text == "hang":
            await asyncio.Event().wait()
        await ws.receive_text()

    app = Starlette(routes=[WebSocketRoute("/ws", slow)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.send_text("hi")
        assert await conn.settle(1) == ([TextFrame("hi")], True)
        await conn.abort(timeout=1)
        conn = await connect(app, "/ws")
        await conn.send_text("hang")
        assert await conn.settle(0.1) == ([TextFrame("hang")], False)
        assert await conn.abort(timeout=0.05) is False

    run(main())


def test_background_task_reply_and_leaked_tasks() -> None:
    async def later(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()

        async def reply() -> None:
            await asyncio.sleep(0.02)
            await ws.send_text(text.upper())

        async def heartbeat() -> None:  # forgotten: never cancelled, and it holds the socket
            while True:
                await asyncio.sleep(10)
                await ws.send_text("ping")

        async def shared() -> None:  # holds nothing of this connection: not its leak
            await asyncio.Event().wait()

        tasks = [asyncio.create_task(f()) for f in (reply, heartbeat, shared)]
        await ws.receive()
        del tasks

    app = Starlette(routes=[WebSocketRoute("/ws", later)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.send_text("hi")
        events, idle = await conn.settle(1)
        assert (events, idle) == ([], False)  # paused, not idle: reply()'s timer is pending
        assert conn.background_tasks == 3
        assert await conn.receive(1) == TextFrame("HI")
        assert conn.background_tasks == 2
        assert conn.leaked_tasks == []  # the app is still running
        assert await conn.close(timeout=1) is True
        assert len(conn.leaked_tasks) == 1
        assert "heartbeat" in conn.leaked_tasks[0]
        leaked, errors = await conn.finish_tasks()
        assert len(leaked) == 1
        assert "heartbeat" in leaked[0]
        assert errors == []
        assert conn.leaked_tasks == []  # cancelled
        assert conn.background_tasks == 1  # the shared task is left alone

    run(main())


def test_unhandled_exceptions_in_background_tasks() -> None:
    async def pump(ws: WebSocket) -> None:
        await ws.accept()

        async def sender() -> None:
            await ws.receive_text()  # the disconnect arrives here, unhandled
            await ws.send_text("never")

        async def awaited() -> None:
            raise ValueError("retrieved by the handler")

        task = asyncio.create_task(sender())
        with contextlib.suppress(ValueError):
            await asyncio.create_task(awaited())
        await asyncio.sleep(0.01)
        del task

    app = Starlette(routes=[WebSocketRoute("/ws", pump)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        assert await conn.abort(timeout=1) is True
        leaked, errors = await conn.finish_tasks()
        assert leaked == []
        assert len(errors) == 1
        error, client_gone = errors[0]
        assert "WebSocketDisconnect" in error.summary
        assert "sender" in error.traceback
        assert client_gone is True

    run(main())


def test_cancelling_a_task_that_already_died_does_not_hide_its_exception() -> None:
    async def feed(ws: WebSocket) -> None:
        await ws.accept()

        async def ticker(window: int) -> None:
            await ws.send_text(str(100 // window))  # dies on 0 while the client is connected

        async def patient() -> None:
            await asyncio.sleep(10)  # cancelled while running: not an error

        tasks = [asyncio.create_task(ticker(0)), asyncio.create_task(patient())]
        try:
            await ws.receive_text()
        finally:
            for task in tasks:  # the usual clean-up; for the dead ticker it reads nothing
                task.cancel()

    app = Starlette(routes=[WebSocketRoute("/ws", feed)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.settle(1)
        assert await conn.close(1000, timeout=1) is True
        _, errors = await conn.finish_tasks()
        assert [(e.summary, gone) for e, gone in errors] == [
            ("ZeroDivisionError: integer division or modulo by zero", False)
        ]
        assert "ticker" in errors[0][0].traceback

    run(main())


def test_waits_tell_the_watch_their_timeout_and_their_end() -> None:
    seen: list[tuple[float | None, str]] = []

    async def main() -> None:
        transport = {"watch": lambda limit, during: seen.append((limit, during))}
        conn = await connect(ECHO, "/echo", timeout=3.0, transport=transport)
        await conn.send_text("hello")
        await conn.settle(2.0)
        await conn.close(timeout=4.0)

    run(main())
    assert (3.0, "waiting for the handshake") in seen
    assert (2.0, "waiting for replies") in seen
    assert (4.0, "waiting for the app to stop") in seen
    assert seen[-1] == (None, "")  # every wait ends by lifting its limit


def test_push_only_handler_settles_without_waiting_out_the_timeout() -> None:
    """A handler that only sends never reads our message, so settle must not wait for it."""

    async def feed(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        try:
            while True:
                await asyncio.sleep(3600)  # a slow feed: nothing more for an hour
                await ws.send_text("tick")
        except WebSocketDisconnect:
            pass

    app = Starlette(routes=[WebSocketRoute("/feed", feed)])

    async def scenario() -> tuple[list[Any], bool, float, bool]:
        conn = await connect(app, "/feed")
        await conn.settle(1.0)
        await conn.send_text("are you there?")
        loop = asyncio.get_running_loop()
        started = loop.time()
        events, quiet = await conn.settle(60.0)
        waited = loop.time() - started
        stopped = await conn.close(timeout=1.0)
        return events, quiet, waited, stopped

    events, quiet, waited, _stopped = run(scenario())
    assert events == []
    assert quiet
    assert waited < 30.0  # far from the 60 s timeout: it returned as soon as the app sat idle


# -- "no reply" decided: idle at once, timers, threads and unknown awaitables waited for -----------


async def writer_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A JSON-RPC server's shape: a writer task on an outgoing queue, a keepalive sleeping 30 s;
    "thread", "timer", "future" and "forever" answer through a thread, a timer, a future another
    thread resolves, or never (a ticker keeps a timer pending)."""
    await receive()
    await send({"type": "websocket.accept"})
    outgoing: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def writer() -> None:
        while True:
            await send({"type": "websocket.send", "text": await outgoing.get()})

    async def keepalive() -> None:
        while True:
            await asyncio.sleep(30)

    async def answer(text: str) -> None:
        if text == "thread":
            await asyncio.to_thread(time.sleep, 0.05)
        elif text == "timer":
            await asyncio.sleep(0.05)
        elif text == "future":
            future: asyncio.Future[None] = loop.create_future()
            threading.Timer(0.05, loop.call_soon_threadsafe, (future.set_result, None)).start()
            await future
        elif text == "forever":
            while True:
                await asyncio.sleep(0.01)
        outgoing.put_nowait(text)

    tasks = {asyncio.create_task(writer()), asyncio.create_task(keepalive())}
    while (message := await receive())["type"] == "websocket.receive":
        if message.get("text") != "ignored":
            tasks.add(asyncio.create_task(answer(message["text"])))
    for task in tasks:
        task.cancel()


def wait_for(text: str, timeout: float) -> tuple[object, float, object]:
    """(what wait_event returned, seconds it took, what the next wait_event returned)."""

    async def main() -> tuple[object, float, object]:
        conn = await connect(writer_app)
        await conn.send_text(text)
        start = time.perf_counter()
        got = await conn.wait_event(timeout)
        took = time.perf_counter() - start
        after = await conn.wait_event(timeout)
        await conn.close(timeout=1)
        return got, took, after

    result: tuple[object, float, object] = run(main())
    return result


def test_an_idle_app_is_decided_at_once() -> None:
    # Its tasks wait on our receive(), on a queue only the app fills, on a timer due after the
    # deadline (the 30 s keepalive): nothing can answer in time.
    got, took, _ = wait_for("ignored", 10.0)
    assert (got, took < 5.0) == (Silence.IDLE, True)


def test_an_app_without_timers_is_idle() -> None:
    async def quiet(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        queue: asyncio.Queue[None] = asyncio.Queue()
        worker = asyncio.create_task(queue.get())
        while (await receive())["type"] == "websocket.receive":
            pass
        worker.cancel()

    async def main() -> tuple[object, bool, float]:
        conn = await connect(quiet)
        await conn.send_text("hello")
        _, idle = await conn.settle(10.0)
        start = time.perf_counter()
        got = await conn.wait_event(10.0)
        took = time.perf_counter() - start
        await conn.close(timeout=1)
        return got, idle, took

    got, idle, took = run(main())
    assert (got, idle, took < 5.0) == (Silence.IDLE, True, True)


def test_replies_behind_timers_threads_and_unknown_futures_are_waited_for() -> None:
    for text in ("timer", "thread", "future"):
        got, took, after = wait_for(text, 5.0)
        assert got == TextFrame(text)
        assert 0.04 <= took < 4.0
        assert after == Silence.IDLE  # answered: idle again, but for the keepalive
    got, took, _ = wait_for("forever", 0.2)
    assert got == Silence.TIMEOUT  # ticking until the deadline: no idleness to speak of
    # A timer that may still answer is waited for, up to the last tick before the deadline.
    assert took >= 0.15


def test_tasks_settle_after_the_close_so_a_late_crash_is_seen() -> None:
    # The handler's task crashes on a timer 50 ms after the message, when the client has closed.
    async def later() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("late")

    queue: asyncio.Queue[str] = asyncio.Queue()

    async def shared() -> None:
        await queue.get()  # dormant: only the loop can release it, so nothing waits for it

    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        keep = [asyncio.create_task(shared())]
        with contextlib.suppress(WebSocketDisconnect):
            await ws.receive_text()
            keep.append(asyncio.create_task(later()))
            await ws.send_text("ok")
            await ws.receive_text()

    app = Starlette(routes=[WebSocketRoute("/ws", handler)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.send_text("go")
        assert await conn.receive(1) == TextFrame("ok")
        assert await conn.close(1000, timeout=1) is True
        started = time.perf_counter()
        _, errors = await conn.finish_tasks(2.0)
        waited = time.perf_counter() - started
        assert [e.summary for e, _ in errors] == ["RuntimeError: late"]
        # Settled when the crash came, not at the timeout (the queue waiter is dormant).
        assert waited < 1.0
        started = time.perf_counter()
        assert await conn.finish_tasks(2.0) == ([], [])
        assert time.perf_counter() - started < 0.5  # only the dormant task is left: no wait

    run(main())
