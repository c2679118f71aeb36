"""The network driver against uvicorn on loopback, and against raw sockets that misbehave."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.servers import running_uvicorn
from ws_routes.driver.network import NetworkTransport, check_url
from ws_routes.driver.transport import (
    Accepted,
    AppError,
    BytesFrame,
    Rejected,
    ServerClose,
    Silence,
    TextFrame,
)
from ws_routes.errors import WsRoutesError

T = 2.0  # every wait's timeout: generous for a loaded machine, never reached when things work


async def echo(ws: WebSocket) -> None:
    await ws.accept(subprotocol="b" if "b" in ws.scope["subprotocols"] else None)
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "close":
                await ws.close(4321, "custom reason")
                return
            if message.get("text") == "who":
                await ws.send_text(ws.headers.get("x-tag", "") + ws.url.query)
            elif message.get("text") is not None:
                await ws.send_text(message["text"])
            else:
                await ws.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        pass


async def returns(ws: WebSocket) -> None:
    await ws.accept()


async def before_accept(ws: WebSocket) -> None:
    await ws.close(4001)


async def refuse(ws: WebSocket) -> None:
    denial = PlainTextResponse("no token", 401, headers={"www-authenticate": "Bearer"})
    await ws.send_denial_response(denial)


APP = Starlette(
    routes=[
        WebSocketRoute("/p/echo", echo),
        WebSocketRoute("/p/returns", returns),
        WebSocketRoute("/p/before", before_accept),
        WebSocketRoute("/p/refuse", refuse),
    ]
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_uvicorn(APP) as port:
        yield f"ws://127.0.0.1:{port}/p"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_conversation_frames_close_code_and_subprotocol(base: str) -> None:
    async def main() -> None:
        conn = await NetworkTransport(base).connect("/echo", subprotocols=["a", "b"], timeout=T)
        assert isinstance(conn.handshake, Accepted)
        assert conn.handshake.subprotocol == "b"
        assert dict(conn.handshake.headers)["sec-websocket-protocol"] == "b"  # the response's
        await conn.send_text("hi")
        assert await conn.receive(T) == TextFrame("hi")
        await conn.send_bytes(b"\x00\xff")
        events, idle = await conn.settle(T)
        assert (events, idle) == ([BytesFrame(b"\x00\xff")], False)  # never provably idle
        assert await conn.wait_event(0.05) is Silence.TIMEOUT
        await conn.send_text("close")
        assert await conn.receive(T) == ServerClose(4321, "custom reason")
        assert conn.server_close == ServerClose(4321, "custom reason")
        assert await conn.receive(0.01) is None
        await conn.send_text("lost")  # after the close: a no-op, as the interface says
        assert await conn.close(timeout=T)
        assert (conn.app_error, conn.app_stopped, conn.protocol_errors) == (None, None, [])
        assert (conn.background_tasks, conn.leaked_tasks, await conn.finish_tasks()) == (
            0,
            (),
            ([], []),
        )

    run(main())


def test_handler_that_returns_is_a_drop(base: str) -> None:
    async def main() -> None:
        conn = await NetworkTransport(base).connect("/returns", timeout=T)
        assert isinstance(conn.handshake, Accepted)
        assert await conn.receive(T) == ServerClose(1006, dropped=True)
        await conn.close(timeout=T)

    run(main())


def test_refusals_are_http_responses(base: str) -> None:
    async def main() -> None:
        transport = NetworkTransport(base)
        conn = await transport.connect("/refuse", timeout=T)
        refused = conn.handshake
        assert isinstance(refused, Rejected)
        assert (refused.status, refused.body, refused.close_code) == (401, b"no token", None)
        assert ("www-authenticate", "Bearer") in refused.headers
        await conn.abort(timeout=T)
        conn = await transport.connect("/before", timeout=T)
        # The close code (4001) never reaches a client: uvicorn answers HTTP 403.
        assert isinstance(conn.handshake, Rejected)
        assert (conn.handshake.status, conn.handshake.close_code) == (403, None)
        await conn.abort(timeout=T)

    run(main())


def test_path_query_and_headers_reach_the_server(base: str) -> None:
    async def main() -> None:
        headers = [("X-Tag", "t\U0001f600"), ("X-Bad", "a\r\nb"), ("bad name", "x")]
        conn = await NetworkTransport(base + "/").connect(
            "/echo?x=%C3%A9", headers=headers, timeout=T
        )
        await conn.send_text("who")
        # Beyond latin-1 a value goes as its UTF-8 bytes (servers read them back as latin-1),
        # as the in-process driver sends it; the query as it was, percent-encoded.
        reply = "t\U0001f600".encode().decode("latin-1") + "x=%C3%A9"
        assert await conn.receive(T) == TextFrame(reply)
        # The headers that cannot go on the wire were left out, and the transcript will say so.
        assert conn.notes == [
            "2 header(s) not sent: HTTP cannot carry a control character (CR, LF) in a value, "
            "nor a name that is not a token"
        ]
        await conn.abort(timeout=T)
        conn = await NetworkTransport(base).connect("/echo", subprotocols=["a b", "b"], timeout=T)
        assert isinstance(conn.handshake, Accepted)
        assert conn.handshake.subprotocol == "b"
        assert conn.notes == [
            "1 subprotocol(s) not offered: Sec-WebSocket-Protocol carries HTTP tokens only"
        ]
        await conn.abort(timeout=T)
        conn = await NetworkTransport(base).connect("/echo/\udc80", timeout=T)  # no such route
        assert isinstance(conn.handshake, Rejected)
        assert conn.handshake.status == 403

    run(main())


class FakeView:
    """A ServerView whose answers the test sets."""

    def __init__(self) -> None:
        self.error: AppError | None = None
        self.stopped: bool | None = None
        self.tags: list[str] = []

    def connection_header(self) -> tuple[str, str]:
        self.tags.append(f"c{len(self.tags)}")
        return "x-tag", self.tags[-1]

    def app_error(self, tag: str) -> AppError | None:
        return self.error if tag in self.tags else None

    def app_stopped(self, tag: str) -> bool | None:
        return self.stopped if tag in self.tags else None


def test_server_view_tags_each_connection_and_answers_for_the_app(base: str) -> None:
    view = FakeView()

    async def main() -> None:
        conn = await NetworkTransport(base, view=view).connect("/echo", timeout=T)
        await conn.send_text("who")
        assert await conn.receive(T) == TextFrame("c0")
        view.error = AppError(ValueError("boom"), "Traceback ...")
        assert conn.app_error is view.error
        assert not await conn.close(timeout=0.1)  # the view never says the app stopped
        view.stopped = True
        assert conn.app_stopped is True
        assert await conn.abort(timeout=T)

    run(main())


def test_a_missing_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "websockets.asyncio.client", None)  # import fails
    with pytest.raises(WsRoutesError, match=r"pip install 'ws-routes\[live\]'"):
        NetworkTransport("ws://127.0.0.1:1")


def test_check_url() -> None:
    assert check_url("ws://h:1/x/") == "ws://h:1/x"
    for bad in ("http://h", "ws://", "ws://h:port", "ws://h/?q=1"):
        with pytest.raises(WsRoutesError, match="server URL"):
            check_url(bad)


# -- servers that misbehave ----------------------------------------------------------------------


def _accept_key(request: bytes) -> bytes:
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    digest = hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    return base64.b64encode(digest)


def _upgrade(sock: socket.socket) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        request += sock.recv(4096)
    sock.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + _accept_key(request) + b"\r\n\r\n"
    )


def _until_client_leaves(sock: socket.socket) -> None:
    sock.settimeout(3)
    with contextlib.suppress(OSError):
        sock.recv(4096)


def _silent(sock: socket.socket) -> None:
    sock.recv(4096)
    _until_client_leaves(sock)  # never answers


def _garbage(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.sendall(b"\x00\x01 not HTTP at all\r\n\r\n")


def _reset(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def _bad_frame(sock: socket.socket) -> None:
    _upgrade(sock)
    sock.sendall(b"\x83\x00")  # opcode 3 is reserved: a protocol error
    _until_client_leaves(sock)


def _huge_frame(sock: socket.socket) -> None:
    _upgrade(sock)
    sock.sendall(b"\x81\x7e\x01\x00" + b"x" * 256)  # 256 bytes, over max_size
    _until_client_leaves(sock)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(behave: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(5)
        listeners.append(listener)

        def serve() -> None:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with sock:
                behave(sock)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"ws://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(5)


def test_no_answer_to_the_handshake_is_none(raw_server: Any) -> None:
    async def main() -> None:
        conn = await NetworkTransport(raw_server(_silent)).connect("/", timeout=0.2)
        assert conn.handshake is None
        assert await conn.abort(timeout=0.2)

    run(main())


@pytest.mark.parametrize("behave", [_garbage, _reset])
def test_no_valid_http_answer_is_status_0(raw_server: Any, behave: Any) -> None:
    async def main() -> None:
        conn = await NetworkTransport(raw_server(behave)).connect("/", timeout=T)
        assert isinstance(conn.handshake, Rejected)
        assert conn.handshake.status == 0
        assert conn.handshake.reason  # what went wrong, for the report
        assert await conn.close(timeout=0.2)

    run(main())


@pytest.mark.parametrize(("behave", "words"), [(_bad_frame, "protocol"), (_huge_frame, "size")])
def test_invalid_frames_are_a_drop_and_a_protocol_error(
    raw_server: Any, behave: Any, words: str
) -> None:
    async def main() -> None:
        conn = await NetworkTransport(raw_server(behave), max_size=100).connect("/", timeout=T)
        assert isinstance(conn.handshake, Accepted)
        event = await conn.receive(T)
        assert isinstance(event, ServerClose)
        assert (event.code, event.dropped) == (1006, True)
        assert len(conn.protocol_errors) == 1
        assert words in conn.protocol_errors[0]
        await conn.close(timeout=0.2)

    run(main())


def test_unreachable_server_is_status_0() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed below: nothing listens there any more

    async def main() -> None:
        conn = await NetworkTransport(f"ws://127.0.0.1:{port}").connect("/", timeout=T)
        assert isinstance(conn.handshake, Rejected)
        assert conn.handshake.status == 0
        assert "Connect" in conn.handshake.reason

    run(main())


def _flood(sock: socket.socket) -> None:
    _upgrade(sock)
    sock.settimeout(3)
    with contextlib.suppress(OSError):
        while True:  # text frames "x" until the client goes
            sock.sendall(b"\x81\x01x" * 1000)


def test_a_flooding_server_is_read_within_the_timeout(raw_server: Any) -> None:
    async def main() -> None:
        # A quiet gap longer than the timeout: only the timeout can end the wait (on a loaded
        # machine the sending thread may stall, which must not end it early either).
        conn = await NetworkTransport(raw_server(_flood), quiet=5.0).connect("/", timeout=T)
        loop = asyncio.get_running_loop()
        start = loop.time()
        events, idle = await conn.settle(0.3)
        assert 0.3 <= loop.time() - start < 2.0
        assert not idle
        assert events
        assert set(events) == {TextFrame("x")}
        assert await conn.abort(timeout=0.5)

    run(main())
