"""The record behind a server's ServerView: tags, the app's exception, the server's own errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from ws_routes.driver.serverview import TAG_HEADER, ServerLog, ServerRecord, TaggingApp


def _scope(tag: str | None) -> dict[str, Any]:
    headers = [(b"host", b"x")] + ([(TAG_HEADER.encode(), tag.encode())] if tag else [])
    return {"type": "websocket", "path": "/ws", "headers": headers}


async def _noop_receive() -> dict[str, Any]:
    return {"type": "websocket.connect"}


def _run(app: Any, tag: str | None, send: Any = None) -> None:
    async def sent(message: Any) -> None:
        if send is not None:
            await send(message)

    asyncio.run(TaggingApp(app, RECORD)(_scope(tag), _noop_receive, sent))


RECORD = ServerRecord("uvicorn")


def test_each_connection_gets_a_fresh_tag() -> None:
    record = ServerRecord("uvicorn")
    (name, first), (_, second) = record.connection_header(), record.connection_header()
    assert name == TAG_HEADER
    assert first != second


def test_the_app_error_and_its_return_are_filed_under_the_tag() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("room")

    with pytest.raises(KeyError):
        _run(app, "t1")
    error = RECORD.app_error("t1")
    assert error is not None
    assert error.summary == "KeyError: 'room'"
    assert RECORD.app_stopped("t1") is True


def test_a_cancelled_app_did_not_stop_on_its_own() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        _run(app, "t2")
    assert RECORD.app_stopped("t2") is False
    assert RECORD.app_error("t2") is None


def test_untagged_scopes_pass_through_unrecorded() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["headers"])

    _run(app, None)
    assert seen == [[(b"host", b"x")]]


def test_a_send_after_the_client_left_is_no_finding() -> None:
    async def gone(message: Any) -> None:
        raise ConnectionResetError("client went")  # an OSError, as uvicorn's ClientDisconnected

    async def app(scope: Any, receive: Any, send: Any) -> None:
        with contextlib.suppress(OSError):
            await send({"type": "websocket.send", "text": "late"})

    _run(app, "t3", gone)
    assert RECORD.app_error("t3") is None


def test_a_refused_send_is_a_finding_and_notes_the_apps_copy() -> None:
    async def refuse(message: Any) -> None:
        raise RuntimeError("Unexpected ASGI message 'websocket.accept'")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})

    with pytest.raises(RuntimeError):
        _run(app, "t4", refuse)
    error = RECORD.app_error("t4")
    assert error is not None
    assert error.traceback.startswith("(uvicorn refused the app's websocket.accept: RuntimeError")


def test_server_log_errors_go_to_their_connection_and_skip_the_apps_own() -> None:
    record = ServerRecord("uvicorn")
    log = ServerLog(record)
    logger = logging.getLogger("uvicorn.error")
    raised = ValueError("app bug")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise raised

    with log.installed(("uvicorn.error",)):
        logger.error("before any connection")
        with pytest.raises(ValueError, match="app bug"):
            asyncio.run(TaggingApp(app, record)(_scope("a"), _noop_receive, _noop_send))
        logger.error("Exception in ASGI application", exc_info=(ValueError, raised, None))
        logger.error("ASGI callable returned without sending handshake.")
        logger.info("connection open")  # not an error
    assert record.unattributed == ["uvicorn logged: before any connection"]
    assert [e.traceback for e in record.server_errors("a")] == [
        "uvicorn logged: ASGI callable returned without sending handshake."
    ]
    error = record.app_error("a")
    assert error is not None
    assert error.exception is raised


async def _noop_send(message: Any) -> None:
    pass


def test_lifespan_outcomes_are_heard() -> None:
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "lifespan.startup.complete"})

    asyncio.run(
        TaggingApp(app, ServerRecord("x"), on_lifespan=heard.append)(
            {"type": "lifespan"}, _noop_receive, _noop_send
        )
    )
    assert heard == ["lifespan.startup.complete", "returned"]


def test_the_servers_part_of_an_error_is_told_from_the_apps() -> None:
    from ws_routes.driver.serverview import ServerError, server_part
    from ws_routes.driver.transport import AppError

    assert server_part(AppError(ValueError("x"), "Traceback ...")) == (None, True)
    logged = AppError(ServerError("uvicorn logged: boom"), "uvicorn logged: boom")
    assert server_part(logged) == ("uvicorn logged: boom", False)
    caught = AppError(ValueError("x"), "uvicorn refused the app's websocket.send: ValueError: x\n")
    assert server_part(caught) == ("uvicorn refused the app's websocket.send: ValueError: x", False)
    noted = AppError(ValueError("x"), "(uvicorn refused the app's websocket.close: E: x)\nTrace")
    assert server_part(noted) == ("uvicorn refused the app's websocket.close: E: x", True)
