"""The connection's state machine: handshake outcomes, closes from both sides, messages out of
place, the client leaving, app errors, floods."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.driver.asgi_helpers import (
    ACCEPT,
    Receive,
    Scope,
    Send,
    connect,
    msg,
    protocol_errors_of,
    run,
)
from ws_routes.driver.asgi_state_machine import AsgiProtocolError, ClientDisconnected
from ws_routes.driver.transport import BytesFrame, Rejected, ServerClose, TextFrame


def test_receive_twice_before_accept_is_detected_at_once() -> None:
    disconnects: list[dict[str, Any]] = []

    async def deadlocked(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        disconnects.append(await receive())  # waits for a frame that cannot come

    async def main() -> None:
        start = time.perf_counter()
        conn = await connect(deadlocked, timeout=5)
        assert time.perf_counter() - start < 1
        assert conn.handshake is None
        assert conn.handshake_deadlock
        assert "before accepting" in conn.protocol_errors[0]
        assert await conn.close(timeout=1) is True
        assert disconnects == [{"type": "websocket.disconnect", "code": 1006, "reason": ""}]

    run(main())


def test_close_before_accept_is_a_403_with_the_close_code() -> None:
    async def refuse(ws: WebSocket) -> None:
        await ws.close(code=4001, reason="no token")

    app = Starlette(routes=[WebSocketRoute("/ws", refuse)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        assert conn.handshake == Rejected(status=403, close_code=4001, reason="no token")
        assert await conn.close(timeout=1) is True

    run(main())


def test_http_denial_response() -> None:
    async def deny(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"www-authenticate", b"Bearer")]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b" entry"})

    async def main() -> None:
        conn = await connect(deny)
        assert conn.handshake == Rejected(
            status=401, body=b"no entry", headers=(("www-authenticate", "Bearer"),)
        )

    run(main())


def test_raising_after_accept_keeps_the_traceback_and_closes_1011() -> None:
    async def explode(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        raise ValueError("kaboom")

    app = Starlette(routes=[WebSocketRoute("/ws", explode)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.send_text("go")
        events, quiet = await conn.settle(1)
        assert (events, quiet) == ([ServerClose(1011)], True)
        assert conn.app_error is not None
        assert conn.app_error.summary == "ValueError: kaboom"
        assert "in explode" in conn.app_error.traceback
        assert await conn.receive(1) is None  # finished: no wait
        assert await conn.close(timeout=1) is True

    run(main())


def test_raising_before_accept_is_a_500() -> None:
    async def explode(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("config")

    async def main() -> None:
        conn = await connect(explode)
        assert conn.handshake == Rejected(status=500)
        assert conn.app_error is not None
        assert "KeyError" in conn.app_error.summary

    run(main())


def test_returning_after_accept_without_close_is_abnormal_1006() -> None:
    async def leave(ws: WebSocket) -> None:
        await ws.accept()

    app = Starlette(routes=[WebSocketRoute("/ws", leave)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        assert await conn.settle(1) == ([ServerClose(1006, dropped=True)], True)
        assert conn.server_close == ServerClose(1006, dropped=True)
        assert conn.app_error is None

    run(main())


def test_server_close_with_code_and_reason() -> None:
    async def bye(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        await ws.close(code=4000, reason="bye")
        await ws.receive()  # the client's echoed close

    app = Starlette(routes=[WebSocketRoute("/ws", bye)])

    async def main() -> None:
        conn = await connect(app, "/ws")
        await conn.send_text("x")
        assert await conn.receive(1) == ServerClose(4000, "bye")
        start = time.perf_counter()
        assert await conn.receive(5) is None
        assert time.perf_counter() - start < 1
        await conn.send_text("lost")  # after the server closed: dropped
        assert await conn.close(timeout=1) is True

    run(main())


def test_client_close_codes_reach_the_app_and_repeat() -> None:
    received: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        received.extend([await receive(), await receive(), await receive()])

    async def main() -> None:
        conn = await connect(app)
        await conn.send_text("last words")
        assert await conn.close(4321, "done", timeout=1) is True
        conn = await connect(app)
        assert await conn.abort(timeout=1) is True

    run(main())
    frame = {"type": "websocket.receive", "text": "last words"}
    close = {"type": "websocket.disconnect", "code": 4321, "reason": "done"}
    abort = {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    assert received == [frame, close, close, abort, abort, abort]


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([msg("send", text="early")], "before the handshake"),
        ([ACCEPT, ACCEPT], "after 'websocket.accept'"),
        ([ACCEPT, msg("close"), msg("send", text="x")], "after the connection was closed"),
        ([msg("http.response.body", body=b"")], "before the handshake"),
        ([{"type": "http.response.start", "status": 200}], "unknown ASGI message type"),
        (["not a dict"], "with a 'type'"),
    ],
)
def test_messages_out_of_place_are_recorded_and_raised_in_the_app(
    messages: list[Any], problem: str
) -> None:
    # Messages of a kind the connection does not take now (or at all, or not messages).
    problems, error = protocol_errors_of(messages)
    assert len(problems) == 1
    assert problem in problems[0]
    assert error is not None
    assert isinstance(error.exception, AsgiProtocolError)


def test_send_after_client_disconnect_raises_oserror_in_the_app() -> None:
    caught: list[BaseException] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()  # the disconnect
        await send({"type": "websocket.close"})  # a no-op now, not an error
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            caught.append(exc)
        await send({"type": "websocket.send", "text": "escapes"})  # servers ignore this one

    async def starlette_handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive()
        try:
            await ws.send_text("too late")
        except WebSocketDisconnect as exc:
            caught.append(exc)

    async def main() -> None:
        conn = await connect(app)
        assert await conn.close(timeout=1) is True
        assert conn.app_error is None
        assert conn.protocol_errors == []
        app2 = Starlette(routes=[WebSocketRoute("/ws", starlette_handler)])
        conn = await connect(app2, "/ws")
        assert await conn.close(timeout=1) is True

    run(main())
    assert isinstance(caught[0], ClientDisconnected)
    assert isinstance(caught[1], WebSocketDisconnect)
    assert caught[1].code == 1006


def test_a_task_sending_after_the_client_left_and_the_handler_returned_gets_client_disconnected() -> (
    None
):
    # As on a real server: the task's send fails because the client left, not because of an
    # ASGI protocol error of the app's (the handler returning closed nothing on the wire).
    caught: list[BaseException] = []
    gate = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def late() -> None:
            await gate.wait()
            try:
                await send({"type": "websocket.send", "text": "too late"})
            except BaseException as exc:
                caught.append(exc)

        await receive()
        await send({"type": "websocket.accept"})
        task = asyncio.get_running_loop().create_task(late())
        tasks.append(task)
        await receive()  # the client's close

    tasks: list[asyncio.Task[None]] = []

    async def main() -> None:
        conn = await connect(app)
        assert await conn.close(timeout=1) is True
        gate.set()
        await asyncio.wait(tasks, timeout=1)
        assert conn.protocol_errors == []

    run(main())
    assert len(caught) == 1
    assert isinstance(caught[0], ClientDisconnected)


def test_system_exit_in_the_app_is_an_app_error_not_the_end_of_the_loop() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise SystemExit(3)

    async def main() -> None:
        conn = await connect(app)
        assert conn.handshake == Rejected(status=500)
        assert conn.app_error is not None
        assert isinstance(conn.app_error.exception, SystemExit)

    run(main())


class OwnBaseException(BaseException):
    pass


@pytest.mark.parametrize(
    "raised",
    [KeyboardInterrupt(), GeneratorExit(), OwnBaseException("mine"), SystemExit(4)],
    ids=lambda e: type(e).__name__,
)
def test_any_base_exception_after_accepting_is_an_app_error_and_a_1011(
    raised: BaseException,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise raised

    async def main() -> None:
        conn = await connect(app)
        await conn.send_text("hi")
        await conn.settle(1)
        assert conn.app_error is not None
        assert conn.app_error.exception is raised
        assert conn.server_close == ServerClose(1011)  # what servers send for a crash, not 1006
        assert await conn.close(timeout=1) is True

    run(main())


def test_our_own_unwinding_passes_through_the_app() -> None:
    from ws_routes.app.faults import DriverInterrupt

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise DriverInterrupt

    async def main() -> None:
        conn = await connect(app)
        assert conn.app_error is None  # not the app's fault: it is not reported as one
        assert isinstance(conn._task.exception(), DriverInterrupt)  # it went on unwinding

    run(main())


def test_a_flood_is_counted_not_queued() -> None:
    from ws_routes.driver.transcript import MAX_KEPT_BYTES, MAX_KEPT_FRAMES

    frame = b"x" * (8 * 2**20)  # one object, sent again and again: memory stays flat here

    async def flood(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        for _ in range(12):  # 96 MiB
            await send({"type": "websocket.send", "bytes": frame})
        for _ in range(MAX_KEPT_FRAMES):
            await send({"type": "websocket.send", "text": "tick"})
        await send({"type": "websocket.close", "code": 1000})

    async def main() -> None:
        conn = await connect(flood)
        await conn.send_text("go")
        events, _quiet = await conn.settle(5)
        kept = MAX_KEPT_BYTES // len(frame)
        assert events[:kept] == [BytesFrame(frame)] * kept
        # After the first frame dropped, nothing more is queued (no gaps), except the close.
        assert events[kept:] == [ServerClose(1000)]
        assert conn.dropped_frames == 12 - kept + MAX_KEPT_FRAMES
        assert conn.dropped_bytes == (12 - kept) * len(frame) + 4 * MAX_KEPT_FRAMES
        await conn.close(timeout=1)

    run(main())


def test_a_few_large_frames_are_all_kept() -> None:
    frame = "y" * (20 * 2**20)

    async def three_large(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        for _ in range(3):
            await send({"type": "websocket.send", "text": frame})

    async def main() -> None:
        conn = await connect(three_large)
        await conn.send_text("go")
        events, _quiet = await conn.settle(5)
        assert events[:3] == [TextFrame(frame)] * 3
        assert conn.dropped_frames == 0
        await conn.close(timeout=1)

    run(main())
