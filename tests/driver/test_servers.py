"""The app under a real server: start and stop, a free loopback port, errors per connection,
deadlines, and a server that cannot start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ws_routes.driver import servers
from ws_routes.driver.servers import (
    SERVER_NAMES,
    RunningServer,
    ServerStartError,
    parse_server,
    running_server,
)

pytest.importorskip("uvicorn")
connect = pytest.importorskip("websockets.asyncio.client").connect


async def _handler(ws: WebSocket) -> None:
    await ws.accept()
    text = await ws.receive_text()
    if text == "boom":
        raise ValueError("boom on this connection")
    await ws.send_text(text)
    await ws.close(4001, "bye")


APP = Starlette(routes=[WebSocketRoute("/ws", _handler)])


async def _talk(server: RunningServer, text: str) -> tuple[list[str], str]:
    """Send one text; return what came back, the close code seen and the connection's tag."""
    name, tag = server.connection_header()
    got: list[str] = []
    async with connect(server.base_url + "/ws", additional_headers=[(name, tag)]) as client:
        await client.send(text)
        with contextlib.suppress(Exception):
            while True:
                got.append(str(await asyncio.wait_for(client.recv(), 2.0)))
    return got, tag


async def _stopped(server: RunningServer, tag: str) -> bool | None:
    # The client sees the close before the app's return is recorded on the server's thread.
    deadline = time.monotonic() + 2.0
    while server.app_stopped(tag) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    return server.app_stopped(tag)


@pytest.mark.parametrize("name", ["uvicorn", "uvicorn-websockets", "uvicorn-wsproto", "hypercorn"])
def test_serves_on_a_free_loopback_port_and_files_errors_per_connection(name: str) -> None:
    if name == "hypercorn":
        pytest.importorskip("hypercorn")
    with running_server(APP, parse_server(name), timeout=5.0) as server:
        assert server.base_url == f"ws://127.0.0.1:{server.port}"
        echoed, good = asyncio.run(_talk(server, "hello"))
        _, bad = asyncio.run(_talk(server, "boom"))
        assert echoed == ["hello"]
        assert server.app_error(good) is None
        error = server.app_error(bad)
        assert error is not None
        assert error.summary == "ValueError: boom on this connection"
        assert "in _handler" in error.traceback
        assert asyncio.run(_stopped(server, good)) is True
        assert asyncio.run(_stopped(server, bad)) is True
        assert server.app_error("never-seen") is None
        assert server.app_stopped("never-seen") is None
        port = server.port
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1.0),
    ):
        pass  # stopped: nothing listens there any more


def test_the_app_gets_the_headers_without_our_tag() -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            seen.append(list(scope["headers"]))
            await send({"type": "websocket.close", "code": 4003})

    with (
        running_server(app, parse_server("uvicorn"), timeout=5.0) as server,
        contextlib.suppress(Exception),
    ):
        asyncio.run(_talk(server, "x"))
    assert seen
    assert all(not key.startswith(b"x-ws-routes") for key, _ in seen[0])


def test_a_send_the_server_refuses_is_a_finding_even_when_the_app_catches_it() -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        with contextlib.suppress(Exception):  # the app survives; the reply is lost all the same
            await ws.send_text("\ud800")
        await ws.close()

    app = Starlette(routes=[WebSocketRoute("/ws", handler)])
    with running_server(app, parse_server("uvicorn"), timeout=5.0) as server:
        _, tag = asyncio.run(_talk(server, "x"))
        error = server.app_error(tag)
    assert error is not None
    assert error.traceback.startswith(
        "uvicorn refused the app's websocket.send: UnicodeEncodeError"
    )


def test_server_logging_is_heard_during_the_run_and_restored_after() -> None:
    logger = logging.getLogger("uvicorn.error")
    before = (logger.level, logger.propagate, list(logger.handlers))
    with running_server(APP, parse_server("uvicorn"), timeout=5.0):
        assert logger.propagate is False
        assert any(isinstance(h, servers.ServerLog) for h in logger.handlers)
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def _lifespan_app(startup: Any) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await startup()
        yield

    return Starlette(routes=[WebSocketRoute("/ws", _handler)], lifespan=lifespan)


def test_a_failed_lifespan_startup_is_a_message_naming_it() -> None:
    async def startup() -> None:
        raise RuntimeError("no database")

    with (
        pytest.raises(ServerStartError, match="exited during startup") as caught,
        running_server(_lifespan_app(startup), parse_server("uvicorn"), timeout=5.0),
    ):
        pass
    assert "RuntimeError: no database" in str(caught.value)


def test_a_startup_that_never_ends_fails_at_the_deadline() -> None:
    async def startup() -> None:
        await asyncio.sleep(60)

    started = time.monotonic()
    with (
        pytest.raises(ServerStartError, match=r"did not start within connection_timeout \(0.3 s\)"),
        running_server(_lifespan_app(startup), parse_server("uvicorn"), timeout=0.3),
    ):
        pass
    assert time.monotonic() - started < 5.0  # the stop has its deadline too


def test_names_and_the_differential_mode() -> None:
    assert "uvicorn-wsproto" in SERVER_NAMES
    assert parse_server("uvicorn-wsproto").backend == "wsproto"
    assert parse_server("uvicorn").backend == "auto"
    choice = parse_server("differential")
    assert (choice.name, choice.differential) == ("uvicorn", True)
    assert parse_server("differential:uvicorn-wsproto").name == "uvicorn-wsproto"


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ServerStartError, match=r"--routes-server: expected one of uvicorn, .*got 'gunicorn'"
    ):
        parse_server("gunicorn")


def test_a_server_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = servers.importlib.util.find_spec
    monkeypatch.setattr(
        servers.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "hypercorn" else real(name, *a),
    )
    with pytest.raises(ServerStartError, match=r"hypercorn not installed; .*ws-routes\[server\]"):
        parse_server("hypercorn")


def test_what_the_server_logs_for_a_connection_is_that_connections_error() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()  # and returns without accepting or closing: uvicorn logs it

    with running_server(app, parse_server("uvicorn"), timeout=5.0) as server:
        name, tag = server.connection_header()

        async def handshake() -> None:
            with contextlib.suppress(Exception):
                async with connect(server.base_url + "/ws", additional_headers=[(name, tag)]):
                    pass

        asyncio.run(handshake())
        error = server.app_error(tag)
    assert error is not None
    assert type(error.exception).__name__ == "ServerError"
    # "sending" or "completing", as the backend words it
    assert error.summary.startswith("ServerError: uvicorn logged: ASGI callable returned without")
