"""The in-process ASGI driver: handshakes, frames, closes, quiet detection, app errors."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from litestar.connection import WebSocket as LitestarSocket  # resolved by Litestar at runtime
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.driver.asgi import (
    AsgiConnection,
    AsgiProtocolError,
    AsgiTransport,
    ClientDisconnected,
)
from ws_routes.driver.transport import Accepted, BytesFrame, Rejected, ServerClose, TextFrame

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


def test_scope_is_what_a_server_sends() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "websocket.close"})

    async def main() -> None:
        state = {"db": "pool"}
        transport = AsgiTransport(app, state=state)
        await transport.connect(
            "/caf%C3%A9/a%2Fb?x=1",
            headers=[("X-Token", "abc")],
            subprotocols=["chat", "json"],
            timeout=1,
        )
        scope = seen[0]
        scope["state"]["db"] = "changed"
        assert state == {"db": "pool"}  # a shallow copy per connection
        assert scope["type"] == "websocket"
        assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
        assert (scope["http_version"], scope["scheme"], scope["root_path"]) == ("1.1", "ws", "")
        assert scope["path"] == "/café/a/b"
        assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb"
        assert scope["query_string"] == b"x=1"
        assert scope["client"][0] == "127.0.0.1"
        assert isinstance(scope["client"][1], int)
        assert scope["server"] == ("testserver", 80)
        assert scope["subprotocols"] == ["chat", "json"]
        assert scope["extensions"] == {"websocket.http.response": {}}
        headers = dict(scope["headers"])
        assert headers[b"host"] == b"testserver"
        assert headers[b"sec-websocket-protocol"] == b"chat, json"
        assert headers[b"sec-websocket-version"] == b"13"
        assert headers[b"upgrade"] == b"websocket"
        assert headers[b"connection"] == b"Upgrade"
        assert len(headers[b"sec-websocket-key"]) == 24
        assert headers[b"x-token"] == b"abc"
        assert "state" not in (await _scope_of(app))

    async def _scope_of(app: RawApp) -> Scope:
        seen.clear()
        await AsgiTransport(app).connect("/", timeout=1)
        return seen[0]

    run(main())


def test_query_string_and_headers_reach_a_starlette_handler() -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"q": ws.query_params["room"], "h": ws.headers["authorization"]})
        await ws.close()

    app = Starlette(routes=[WebSocketRoute("/ws", handler)])

    async def main() -> None:
        conn = await connect(
            app, "/ws", query_string=b"room=7", headers=[("Authorization", "Bearer t")]
        )
        events, _ = await conn.settle(1)
        assert events == [TextFrame('{"q":"7","h":"Bearer t"}'), ServerClose(1000)]

    run(main())


def test_subprotocol_selection_and_unoffered_subprotocol_reported_as_is() -> None:
    async def rogue(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "never-offered"})
        await receive()

    async def main() -> None:
        conn = await connect(ECHO, "/echo", subprotocols=["v1", "v2"])
        assert conn.handshake == Accepted(subprotocol="v2")
        await conn.close(timeout=1)
        conn = await connect(rogue, subprotocols=["v1"])
        assert conn.handshake == Accepted(subprotocol="never-offered")
        await conn.close(timeout=1)

    run(main())


def test_accept_headers_are_reported() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"X-Server", b"yes")]})
        await receive()

    async def main() -> None:
        conn = await connect(app)
        assert conn.handshake == Accepted(headers=(("x-server", "yes"),))
        await conn.abort(timeout=1)

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
        events, quiet = await conn.settle(1)
        assert (events, quiet) == ([], True)
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


def msg(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": f"websocket.{kind}", **fields}


ACCEPT = msg("accept")


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([msg("send", text="early")], "before the handshake"),
        ([ACCEPT, ACCEPT], "after 'websocket.accept'"),
        ([ACCEPT, msg("send")], "exactly one of"),
        ([ACCEPT, msg("send", text="a", bytes=b"")], "exactly one"),
        ([ACCEPT, msg("send", text=3)], "exactly one of"),
        ([ACCEPT, msg("close"), msg("send", text="x")], "after the connection was closed"),
        ([msg("accept", subprotocol=1)], "subprotocol must be"),
        ([msg("accept", headers=[("a", "b")])], "(bytes, bytes)"),
        ([ACCEPT, msg("close", code="1000")], "int code"),
        ([ACCEPT, msg("send", text="a\ud800")], "lone surrogate"),
        ([msg("http.response.body", body=b"")], "before the handshake"),
        ([msg("http.response.start", status="200")], "int status"),
        ([{"type": "http.response.start", "status": 200}], "unknown ASGI message type"),
        (["not a dict"], "with a 'type'"),
    ],
)
def test_protocol_errors_are_recorded_and_raised_in_the_app(
    messages: list[Any], problem: str
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)

    async def main() -> None:
        conn = await connect(app)
        await conn.settle(1)
        assert len(conn.protocol_errors) == 1
        assert problem in conn.protocol_errors[0]
        assert conn.app_error is not None
        assert isinstance(conn.app_error.exception, AsgiProtocolError)
        await conn.close(timeout=1)

    run(main())


def test_an_overlong_close_reason_is_cut_as_wsproto_does_and_noted() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        await send(msg("close", code=4000, reason="\u00e9" * 70))  # 140 bytes in UTF-8

    async def main() -> None:
        conn = await connect(app)
        await conn.settle(1)
        assert conn.app_error is None
        assert conn.protocol_errors == []
        assert conn.server_close == ServerClose(4000, "\u00e9" * 61)  # 122 bytes: no half character
        assert len(conn.portability) == 1
        assert "140-byte reason" in conn.portability[0]
        assert "1006" in conn.portability[0]

    run(main())


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


def test_fastapi_route_with_params() -> None:
    from fastapi import FastAPI

    api = FastAPI()

    @api.websocket("/rooms/{room_id}")
    async def room(websocket: WebSocket, room_id: int, name: str = "anon") -> None:
        await websocket.accept()
        await websocket.send_json({"room": room_id, "name": name})
        await websocket.close()

    async def main() -> None:
        conn = await connect(api, "/rooms/12", query_string=b"name=bo")
        assert await conn.settle(1) == (
            [TextFrame('{"room":12,"name":"bo"}'), ServerClose(1000)],
            True,
        )

    run(main())


def test_litestar_handler_and_listener() -> None:
    from litestar import Litestar, websocket, websocket_listener

    @websocket("/ws/{room:int}")
    async def handler(socket: LitestarSocket[Any, Any, Any]) -> None:
        await socket.accept()
        data = await socket.receive_text()
        await socket.send_text(f"{socket.path_params['room']!r}:{data}")
        await socket.close(code=4000)

    @websocket_listener("/listen")
    async def listener(data: str) -> str:
        return data[::-1]

    app = Litestar(route_handlers=[handler, listener])

    async def main() -> None:
        conn = await connect(app, "/ws/5")
        await conn.send_text("x")
        assert await conn.settle(1) == ([TextFrame("5:x"), ServerClose(4000)], True)
        conn = await connect(app, "/listen")
        assert conn.handshake == Accepted()
        await conn.send_text("abc")
        assert await conn.receive(1) == TextFrame("cba")
        assert await conn.settle(1) == ([], True)
        assert await conn.close(timeout=1) is True
        assert conn.app_error is None
        assert conn.leaked_tasks == []

    run(main())


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
