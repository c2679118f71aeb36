"""Acceptance: every check fails on a small app that breaks it and passes on one that honours it.

Each test writes one app with a breaking route and an honouring route, so one pytest run shows
both outcomes (and that one failing route does not disturb another).
"""

from __future__ import annotations

from glob import escape

from tests.conftest import STARLETTE_HEADER, RunRoutes


def failed(route: str) -> str:
    return f"FAILED {escape(f'ws-routes::test_websocket[{route}]')}*"


def passed_line(route: str) -> str:
    return f"Route: {route}   [[]passed]"


def test_no_server_error_fails_on_a_handler_that_raises(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def parse(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_text(str(int(await ws.receive_text())))
    except WebSocketDisconnect:
        pass


async def parse_safely(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            try:
                await ws.send_text(str(int(text)))
            except ValueError:
                await ws.send_text("not a number")
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/parse", parse), WebSocketRoute("/ws/safe", parse_safely)])
"""
    )
    spec = """
    # These handlers read with receive_text(), which raises on a binary frame: negative testing
    # (its own tests: test_negative.py) would find that first.
    settings: {checks: {invalid_input: false}}
    routes:
      /ws/parse: {messages: {say: {kind: text}}}
      /ws/safe: {messages: {say: {kind: text}}}
    """
    result = run_routes(app, spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/parse",
            "Error Type: server_error",
            "Check: no_server_error",
            "Message: the app raised ValueError: invalid literal for int() with base 10: ''",
            "Failed at message index: 0",
            "Sent (text):",
            '  ""',
            "Close Code: 1011",
            "  x close 1011    [[]by server]",
            "App traceback:",
            "*ValueError: invalid literal for int()*",
            passed_line("/ws/safe"),
            failed("/ws/parse"),
        ]
    )


def test_handshake_fails_on_an_undeclared_refusal_and_skips_a_declared_one(
    run_routes: RunRoutes,
) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def refuse(ws: WebSocket) -> None:
    await ws.close(code=4404)


app = Starlette(routes=[WebSocketRoute("/ws/a", refuse), WebSocketRoute("/ws/b", refuse)])
"""
    )
    spec = """
    routes:
      /ws/a: {messages: {say: {kind: text}}}
      /ws/b: {messages: {say: {kind: text}}, close_codes: [4404]}
    """
    result = run_routes(app, spec=spec)
    # A declared refusal is no failure, but with every connection refused nothing was tested.
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/a",
            "Error Type: handshake_error",
            "Check: handshake",
            "Message: the route refused with close code 4404 before accepting*",
            "Close Code: 4404 (before accept; HTTP 403 on a real server)",
            "  ! handshake refused: close 4404 before accept*",
            "Route: /ws/b   [[]SKIPPED]",
            "  Connections established: 0",
            "  Connections refused: 30",
            failed("/ws/a"),
        ]
    )


def test_subprotocol_negotiation(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def picks_other(ws: WebSocket) -> None:
    await ws.accept(subprotocol="other.v9")
    await echo_rest(ws)


async def picks_none(ws: WebSocket) -> None:
    await ws.accept()
    await echo_rest(ws)


async def picks_offered(ws: WebSocket) -> None:
    # The first offered one it speaks; none at all when the client offers none it speaks.
    spoken = [p for p in ws.scope["subprotocols"] if p in ("chat.v2", "chat.v1")]
    await ws.accept(subprotocol=spoken[0] if spoken else None)
    await echo_rest(ws)


async def echo_rest(ws: WebSocket) -> None:
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


app = Starlette(
    routes=[
        WebSocketRoute("/ws/other", picks_other),
        WebSocketRoute("/ws/none", picks_none),
        WebSocketRoute("/ws/right", picks_offered),
    ]
)
"""
    )
    spec = """
    settings: {max_messages: 2}
    routes:
      /ws/other: {subprotocols: [chat.v2, chat.v1]}
      /ws/none: {subprotocols: [chat.v2, chat.v1]}
      /ws/right: {subprotocols: [chat.v2, chat.v1]}
    """
    result = run_routes(app, spec=spec)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/none",
            "Check: subprotocol_negotiation",
            "Message: server accepted without selecting any of the offered subprotocols",
            "  one of ['chat.v2', 'chat.v1']",
            "  ! connect /ws/none  subprotocols=['chat.v2', 'chat.v1']",
            "WEBSOCKET TEST FAILURE: /ws/other",
            "Check: subprotocol_negotiation",
            "Message: server selected subprotocol 'other.v9', which the client did not offer",
            "  ! handshake accepted (subprotocol 'other.v9')",
            passed_line("/ws/right"),
        ]
    )


REPLY_APP = (
    STARLETTE_HEADER
    + """
def replying(reply):
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.receive_text()
                if isinstance(reply, bytes):
                    await ws.send_bytes(reply)
                elif reply is not None:
                    await ws.send_json(reply)
        except WebSocketDisconnect:
            pass

    return handler


app = Starlette(
    routes=[
        WebSocketRoute("/ws/bad-schema", replying({"ok": False})),
        WebSocketRoute("/ws/bytes", replying(b"\\x00\\x01")),
        WebSocketRoute("/ws/silent", replying(None)),
        WebSocketRoute("/ws/good", replying({"ok": True})),
    ]
)
"""
)

REPLY_ROUTE = """
    messages:
      ping: {kind: json, schema: {type: object, properties: {n: {type: integer, minimum: 0, maximum: 9}}}, reply: [pong]}
    replies:
      pong: {kind: json, schema: {type: object, required: [ok], properties: {ok: {const: true}}}}
"""


def test_reply_checks(run_routes: RunRoutes) -> None:
    routes = "".join(
        f"  {path}:\n" + REPLY_ROUTE.replace("\n    ", "\n      ")[1:]
        for path in ("/ws/bad-schema", "/ws/bytes", "/ws/silent", "/ws/good")
    )
    # REPLY_APP reads with receive_text(), which raises on a binary frame: negative testing
    # (its own tests: test_negative.py) would find that first.
    positive = "settings: {checks: {invalid_input: false}}\n"
    result = run_routes(REPLY_APP, spec=positive + "routes:\n" + routes)
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/bad-schema",
            "Error Type: contract_violation",
            "Check: reply_schema",
            "Message: a json reply matches none of the declared replies",
            "Failed at message index: 0",
            "  one of ['pong'] (closest: 'pong')",
            '  < json {"ok": false}    [[]undocumented]',
            "  at /ok: true was expected",
            "WEBSOCKET TEST FAILURE: /ws/bytes",
            "Check: undocumented_reply",
            "Message: the server sent a bytes frame, but no bytes reply is declared",
            "  replies of kind ['json']",
            "WEBSOCKET TEST FAILURE: /ws/silent",
            "Error Type: missing_reply",
            "Check: reply_expected",
            "Message: no pong reply to message 0",
            # Decided at once (the app sat idle), so no timeout is named.
            "  a reply of type 'pong'",
            "Actual:",
            "  the app went idle without answering*",
            passed_line("/ws/good"),
        ]
    )


def test_close_code_undeclared_and_reserved_codes(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
def closing(code):
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        await ws.close(code=code)

    return handler


app = Starlette(
    routes=[
        WebSocketRoute("/ws/undeclared", closing(4100)),
        WebSocketRoute("/ws/reserved", closing(1005)),
        WebSocketRoute("/ws/declared", closing(4000)),
    ]
)
"""
    )
    route = "{messages: {say: {kind: text}}, close_codes: [4000]}"
    spec = f"""
    # These handlers read with receive_text(), which raises on a binary frame: negative testing
    # (its own tests: test_negative.py) would find that first.
    settings: {{checks: {{invalid_input: false}}}}
    routes:
      /ws/undeclared: {route}
      /ws/reserved: {route}
      /ws/declared: {route}
    """
    result = run_routes(app, spec=spec)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/reserved",
            "Error Type: protocol_violation",
            "Check: close_code",
            "Message: server closed with code 1005, which no endpoint may send",
            "Close Code: 1005",
            "WEBSOCKET TEST FAILURE: /ws/undeclared",
            "Error Type: contract_violation",
            "Check: close_code",
            "Message: server closed with undeclared code 4100",
            "  one of [[]1000, 4000]",
            "  connection closed with code 4100",
            passed_line("/ws/declared"),
        ]
    )


def test_reserved_close_code_is_wrong_even_without_a_spec(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def closing(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    await ws.close(code=1006)


app = Starlette(routes=[WebSocketRoute("/ws/abnormal", closing)])
"""
    )
    result = run_routes(app)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["Check: close_code", "Message: server closed with code 1006, which no endpoint may send"]
    )


def test_graceful_shutdown_and_benign_websocket_disconnect(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def cleanup_fails(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    finally:
        raise RuntimeError("could not release the room")


async def lets_disconnect_escape(ws: WebSocket) -> None:
    await ws.accept()
    while True:  # receive_text raises WebSocketDisconnect once the client left: by design
        await ws.send_text(await ws.receive_text())


app = Starlette(
    routes=[
        WebSocketRoute("/ws/cleanup", cleanup_fails),
        WebSocketRoute("/ws/escape", lets_disconnect_escape),
    ]
)
"""
    )
    spec = """
    # These handlers read with receive_text(), which raises on a binary frame: negative testing
    # (its own tests: test_negative.py) would find that first.
    settings: {checks: {invalid_input: false}}
    routes:
      /ws/cleanup: {messages: {say: {kind: text}}}
      /ws/escape: {messages: {say: {kind: text}}}
    """
    result = run_routes(app, spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/cleanup",
            "Error Type: server_error",
            "Check: graceful_shutdown",
            "Message: the app raised RuntimeError: could not release the room after the client "
            "closed with 1000",
            "  x close 1000    [[]by client]",
            "App traceback:",
            "*RuntimeError: could not release the room",
            passed_line("/ws/escape"),
        ]
    )


def test_no_hang_ends_the_route_at_once_and_the_session_goes_on(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def never_accepts(ws: WebSocket) -> None:
    await asyncio.Event().wait()
    await ws.accept()


app = Starlette(routes=[WebSocketRoute("/ws/a-hang", never_accepts), WebSocketRoute("/ws/b-echo", echo)])
"""
    )
    result = run_routes(app, "--routes-ws-timeout", "0.5")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/a-hang",
            "Error Type: timeout",
            "Check: no_hang",
            # The first probe hangs: the route ends there, paying for the timeout once.
            "Probe: subprotocols: none offered",
            "Message: the app neither accepted nor refused within 0.5 s",
            "  ! handshake no answer (neither accepted nor refused)",
            "Route: /ws/a-hang   [[]FAILED]",
            "  Sequences tested: 0",  # no conversation pays for it again, nor any shrinking
            passed_line("/ws/b-echo"),
            "  Sequences tested: 30",
        ]
    )


def test_no_hang_when_the_handler_ignores_the_disconnect(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def ignores_close(ws: WebSocket) -> None:
    await ws.accept()
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass
    await asyncio.Event().wait()


app = Starlette(routes=[WebSocketRoute("/ws/stuck", ignores_close)])
"""
    )
    result = run_routes(app, "--routes-ws-timeout", "0.5")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Check: no_hang",
            "Probe: subprotocols: none offered",
            "Message: the app did not stop within 0.5 s after the connection closed",
            "  Sequences tested: 0",
        ]
    )


def test_a_handler_that_returns_without_closing_is_its_own_finding(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def returns(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()


async def closes(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    await ws.close()


app = Starlette(routes=[WebSocketRoute("/ws/returns", returns), WebSocketRoute("/ws/closes", closes)])
"""
    )
    result = run_routes(app, "-rf")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "Check: close_before_return",
            "Message: the handler returned without closing the connection",
            "*x dropped (the handler returned without closing; clients see 1006)    [[]by server[]]",
        ]
    )
    assert "which no endpoint may send" not in result.stdout.str()
    assert "FAILED ws-routes::test_websocket[[]/ws/closes[]]" not in result.stdout.str()
