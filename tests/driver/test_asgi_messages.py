"""ASGI messages to and from the driver's values: accepts, malformed sends, closes, tracebacks."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from tests.driver.asgi_helpers import (
    ACCEPT,
    ECHO,
    Receive,
    Scope,
    Send,
    connect,
    msg,
    protocol_errors_of,
    run,
)
from ws_routes.driver.asgi_messages import app_traceback
from ws_routes.driver.asgi_state_machine import AsgiProtocolError
from ws_routes.driver.transport import Accepted, AppError, ServerClose


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


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([ACCEPT, msg("send")], "exactly one of"),
        ([ACCEPT, msg("send", text="a", bytes=b"")], "exactly one"),
        ([ACCEPT, msg("send", text=3)], "exactly one of"),
        ([msg("accept", subprotocol=1)], "subprotocol must be"),
        ([msg("accept", headers=[("a", "b")])], "(bytes, bytes)"),
        ([ACCEPT, msg("close", code="1000")], "int code"),
        ([ACCEPT, msg("send", text="a\ud800")], "lone surrogate"),
        ([msg("http.response.start", status="200")], "int status"),
    ],
)
def test_malformed_messages_are_recorded_and_raised_in_the_app(
    messages: list[Any], problem: str
) -> None:
    # Well-typed messages of the right kind at the right time, holding what no server accepts.
    problems, error = protocol_errors_of(messages)
    assert len(problems) == 1
    assert problem in problems[0]
    assert error is not None
    assert isinstance(error.exception, AsgiProtocolError)


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


def test_app_traceback_cuts_our_frames_on_top_but_never_the_raising_one() -> None:
    try:
        json.loads("{")  # raised two files down: json's decoder
    except ValueError as exc:
        parsing = exc
    assert _files(app_traceback(parsing, ()))[0] == __file__
    cut = _files(app_traceback(parsing, {__file__}))
    assert __file__ not in cut
    assert cut[0].endswith(os.path.join("json", "__init__.py"))
    try:
        raise KeyError("here")
    except KeyError as exc:
        alone = exc
    assert _files(app_traceback(alone, {__file__})) == [__file__]


def test_the_app_traceback_starts_at_the_app_not_in_the_driver() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        raise ValueError("kaboom")

    async def main() -> AppError | None:
        conn = await connect(app)
        await conn.settle(1)
        await conn.close(timeout=1)
        return conn.app_error

    error = run(main())
    assert error is not None
    # Called by the driver's state machine, whose frame the report would show first otherwise.
    assert _files(error.traceback) == [__file__]


def _files(traceback: str) -> list[str]:
    return re.findall(r'^  File "([^"]+)"', traceback, flags=re.M)
