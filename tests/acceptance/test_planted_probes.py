"""Acceptance: the probes find planted handshake, auth and origin bugs, and pass careful routes.

Each run pairs routes with a planted bug with routes written correctly, so one pytest run shows
both the findings and the absence of false positives.
"""

from __future__ import annotations

from tests.conftest import STARLETTE_HEADER, RunRoutes, node

SMALL = ("--routes-max-examples", "5", "-rs")


def failure_block(lines: list[str], route: str) -> list[str]:
    """The lines of the failure report of ``route``, from its title up to its closing rule."""
    title = f"WEBSOCKET TEST FAILURE: {route}"
    start = next(i for i, line in enumerate(lines) if line in (title, f"{title}   [SECURITY]"))
    return lines[start : lines.index("=" * 60, start + 2)]


HANDSHAKE_APP = (
    STARLETTE_HEADER
    + """
import struct

SUPPORTED = {"chat.v2": 2, "chat.v1": 1}


async def greedy(ws: WebSocket) -> None:
    # Planted: always speaks graphql-ws, offered or not.
    await ws.accept(subprotocol="graphql-ws")
    await echo_accepted(ws)


async def picky(ws: WebSocket) -> None:
    offered = ws.scope["subprotocols"]
    # Planted: looks the first offer up without a default (KeyError on anything unknown).
    version = SUPPORTED[offered[0]] if offered else 0
    await ws.accept(subprotocol=offered[0] if version else None)
    await echo_accepted(ws)


async def negotiates(ws: WebSocket) -> None:
    chosen = next((p for p in ws.scope["subprotocols"] if p in SUPPORTED), None)
    if chosen is None and ws.scope["subprotocols"]:
        await ws.close()  # HTTP 403 on a real server
        return
    await ws.accept(subprotocol=chosen)
    await echo_accepted(ws)


async def per_item(ws: WebSocket) -> None:
    # Planted: a share per item, computed before accepting (ZeroDivisionError for id 0).
    share = 100 // ws.path_params["id"]
    await ws.accept()
    await ws.send_text(str(share))
    await echo_accepted(ws)


async def packed(ws: WebSocket) -> None:
    # Planted: ids are packed as int64 (struct.error past 2**63).
    key = struct.pack(">q", ws.path_params["id"])
    await ws.accept()
    await ws.send_text(key.hex())
    await echo_accepted(ws)


async def careful_item(ws: WebSocket) -> None:
    item = ws.path_params["id"]
    await ws.accept()
    await ws.send_text(str(100 // item) if item else "none")
    await echo_accepted(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/greedy", greedy),
        WebSocketRoute("/ws/picky", picky),
        WebSocketRoute("/ws/negotiates", negotiates),
        WebSocketRoute("/ws/items/{id:int}", per_item),
        WebSocketRoute("/ws/packed/{id:int}", packed),
        WebSocketRoute("/ws/careful/{id:int}", careful_item),
    ]
)
"""
)

HANDSHAKE_SPEC = """
routes:
  /ws/greedy: {subprotocols: [graphql-ws], messages: {say: {kind: text}}}
  /ws/picky: {subprotocols: [chat.v2, chat.v1], messages: {say: {kind: text}}}
  /ws/negotiates: {subprotocols: [chat.v2, chat.v1], messages: {say: {kind: text}}}
  "/ws/items/{id:int}": {messages: {say: {kind: text}}}
  "/ws/packed/{id:int}": {messages: {say: {kind: text}}}
  "/ws/careful/{id:int}": {messages: {say: {kind: text}}}
"""


def test_handshake_probes_find_subprotocol_and_path_bugs(run_routes: RunRoutes) -> None:
    result = run_routes(HANDSHAKE_APP, *SMALL, spec=HANDSHAKE_SPEC)
    result.assert_outcomes(failed=4, passed=2)
    lines = result.stdout.lines
    greedy = failure_block(lines, "/ws/greedy")
    assert greedy[2:6] == [
        "Error Type: protocol_violation",
        "Check: subprotocol_negotiation",
        "Probe: subprotocols: none offered",
        "Message: server selected subprotocol 'graphql-ws', which the client did not offer",
    ]
    assert "  ! handshake accepted (subprotocol 'graphql-ws')" in greedy
    assert any(
        line.startswith("Transcript (1 message(s) sent, a fixed probe, nothing to shrink)")
        for line in greedy
    )
    picky = failure_block(lines, "/ws/picky")
    assert "Probe: subprotocols: unknown 'ws-routes-unknown'" in picky
    assert "Message: the app raised KeyError: 'ws-routes-unknown'" in picky
    items = failure_block(lines, "/ws/items/{id:int}")
    assert "Check: no_server_error" in items
    # Every connection so far used the simplest id, 0, the baseline probe's too: a bug that is
    # no probe's doing is left to the conversations, which find it and shrink it as usual.
    assert not any(line.startswith("Probe:") for line in items)
    assert "  ! connect /ws/items/0" in items
    assert "Message: the app raised ZeroDivisionError: integer division or modulo by zero" in items
    packed = failure_block(lines, "/ws/packed/{id:int}")
    assert "Probe: path: id=123456789012345678901234567890" in packed
    assert any(line.startswith("Message: the app raised error: ") for line in packed)
    # The careful routes: refusing an unknown subprotocol or handling id 0 is not a finding.
    result.stdout.fnmatch_lines(
        [
            "Route: /ws/careful/{id:int}   [[]passed]",
            "  *Handshake cells: 2 · Path probes: 2*",
            "Route: /ws/negotiates   [[]passed]",
            "  *Handshake cells: 6*",
        ]
    )
    assert "WsRoutesWarning" not in result.stdout.str()


AUTH_APP = (
    STARLETTE_HEADER
    + """
from starlette.responses import Response

SECRET = "s3cr3t-token"


async def reply_json_accepted(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        reply = {"echo": text} if text is not None else {"error": "text frames only"}
        await ws.send_text(json.dumps(reply))


async def header_present(ws: WebSocket) -> None:
    # Planted: only checks that an Authorization header came.
    if "authorization" not in ws.headers:
        await ws.send_denial_response(Response(status_code=401))
        return
    await ws.accept()
    await reply_json_accepted(ws)


async def any_token(ws: WebSocket) -> None:
    # Planted: any non-empty token passes (the signature is never verified).
    await ws.accept()
    if not ws.query_params.get("token"):
        await ws.close(code=4001)
        return
    await reply_json_accepted(ws)


async def optional_token(ws: WebSocket) -> None:
    # Planted: validates the token only when one is sent.
    token = ws.query_params.get("token")
    await ws.accept()
    if token is not None and token != SECRET:
        await ws.close(code=4001)
        return
    await reply_json_accepted(ws)


async def cookie_present(ws: WebSocket) -> None:
    # Planted: a session cookie is "there" even when it is empty.
    await ws.accept()
    if ws.cookies.get("session") is None:
        await ws.close(code=1008)
        return
    await reply_json_accepted(ws)


async def first_lax(ws: WebSocket) -> None:
    # Planted: reads the auth message but never looks at its token.
    await ws.accept()
    await ws.receive_text()
    await ws.send_text(json.dumps({"type": "ready"}))
    await reply_json_accepted(ws)


async def strict_header(ws: WebSocket) -> None:
    await ws.accept()
    if ws.headers.get("authorization") != f"Bearer {SECRET}":
        await ws.close(code=4001)
        return
    await reply_json_accepted(ws)


async def strict_denial(ws: WebSocket) -> None:
    if ws.query_params.get("token") != SECRET:
        await ws.send_denial_response(Response(status_code=403))
        return
    await ws.accept()
    await reply_json_accepted(ws)


async def strict_first(ws: WebSocket) -> None:
    await ws.accept()
    auth = json.loads(await ws.receive_text())
    if auth.get("token") != SECRET:
        await ws.send_text(json.dumps({"error": "unauthorized"}))
        await ws.close(code=4003)
        return
    await ws.send_text(json.dumps({"type": "ready"}))
    await reply_json_accepted(ws)


app = Starlette(
    routes=[
        WebSocketRoute(f"/ws/{handler.__name__}", handler)
        for handler in (
            header_present, any_token, optional_token, cookie_present, first_lax,
            strict_header, strict_denial, strict_first,
        )
    ]
)
"""
)

# Anchors on the first route share the replies and the auth message schema with the others.
AUTH_SPEC = """
routes:
  /ws/header_present:
    auth: {header: Authorization, scheme: Bearer, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: &replies
      echo: {kind: json, schema: {required: [echo]}}
      ready: {kind: json, schema: {required: [type]}}
      error: {kind: json, schema: {required: [error]}, error: true}
  /ws/any_token:
    auth: {query_param: token, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
  /ws/optional_token:
    auth: {query_param: token, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
  /ws/cookie_present:
    auth: {cookie: session, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
  /ws/first_lax:
    auth:
      first_message: &first {type: object, required: [type], properties: {type: {const: auth}}}
      token: s3cr3t-token
    messages: {say: {kind: text}}
    replies: *replies
  /ws/strict_header:
    auth: {header: Authorization, scheme: Bearer, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
  /ws/strict_denial:
    auth: {query_param: token, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
  /ws/strict_first:
    auth: {first_message: *first, token: s3cr3t-token}
    messages: {say: {kind: text}}
    replies: *replies
"""


def test_auth_probes_find_missing_empty_and_malformed_credentials(run_routes: RunRoutes) -> None:
    result = run_routes(AUTH_APP, *SMALL, spec=AUTH_SPEC)
    result.assert_outcomes(failed=5, passed=3)
    lines = result.stdout.lines
    expected = {
        "/ws/header_present": "auth: empty credential",
        "/ws/any_token": "auth: malformed credential",
        "/ws/optional_token": "auth: no credential",
        "/ws/cookie_present": "auth: empty credential",
        "/ws/first_lax": "auth: no credential",
    }
    for route, probe in expected.items():
        block = failure_block(lines, route)
        assert block[0] == f"WEBSOCKET TEST FAILURE: {route}   [SECURITY]", route
        assert block[2:5] == ["Error Type: security", "Check: auth_enforced", f"Probe: {probe}"]
        assert block[5].startswith(
            "Message: SECURITY: authentication not enforced: the server accepted and served a "
            "client with "
        )
    header = failure_block(lines, "/ws/header_present")
    assert header[5].endswith("an empty credential (header 'authorization': 'Bearer')")
    assert "        authorization: Bearer" in header  # the probe's handshake, in the transcript
    first = failure_block(lines, "/ws/first_lax")
    assert first[5].endswith("no credential (auth message field 'token' absent)")
    for route in ("/ws/strict_denial", "/ws/strict_first", "/ws/strict_header"):
        result.stdout.fnmatch_lines(
            [f"Route: {route}   [[]passed]", "  *Handshake cells: 2 · Auth probes: 3*"]
        )
    assert "s3cr3t" not in result.stdout.str()
    assert "WsRoutesWarning" not in result.stdout.str()
    assert node("/ws/strict_first") not in result.stdout.str()


ORIGIN_APP = (
    STARLETTE_HEADER
    + """
async def trusting(ws: WebSocket) -> None:
    # Planted: never looks at Origin, so any site's page can open it with the user's cookies.
    await echo(ws)


async def checked(ws: WebSocket) -> None:
    if ws.headers.get("origin") not in (None, "https://app.example"):
        await ws.close()  # HTTP 403
        return
    await echo(ws)


async def early(ws: WebSocket) -> None:
    if ws.query_params.get("token") != "let-me-in":
        await ws.close(code=4001)  # lost on a real server: clients see HTTP 403
        return
    await echo(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/trusting", trusting),
        WebSocketRoute("/ws/checked", checked),
        WebSocketRoute("/ws/early", early),
    ]
)
"""
)


def test_origin_probe_and_the_close_before_accept_warning(run_routes: RunRoutes) -> None:
    spec = """
    settings: {origin: "https://evil.example"}
    routes:
      /ws/trusting: {messages: {say: {kind: text}}}
      /ws/checked: {messages: {say: {kind: text}}}
      /ws/early:
        auth: {query_param: token, token: let-me-in, reject_close_codes: [4001]}
        messages: {say: {kind: text}}
        checks: {origin: false}
    """
    result = run_routes(ORIGIN_APP, *SMALL, "--routes-verbose", spec=spec)
    result.assert_outcomes(failed=1, passed=2, warnings=1)
    lines = result.stdout.lines
    block = failure_block(lines, "/ws/trusting")
    assert block[2:5] == [
        "Error Type: security",
        "Check: origin",
        "Probe: origin: https://evil.example",
    ]
    assert block[5].startswith("Message: SECURITY: cross-site WebSocket hijacking")
    assert "        origin: https://evil.example" in block
    assert (
        "WsRoutesWarning: /ws/early: the app closes the connection with code 4001 before "
        "accepting it; real servers (uvicorn, hypercorn) answer that handshake with HTTP 403 and "
        "clients never see code 4001. To send the code, call accept() first, then close(code=4001)."
    ) in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            # --routes-verbose shows probes too, named, before the conversations.
            "--- /ws/checked probe 'subprotocols: none offered'",
            "--- /ws/checked probe 'origin: https://evil.example'",
            "! connect /ws/checked",
            "      origin: https://evil.example",
            "! handshake refused: close 1000 before accept (HTTP 403 on a real server)",
            "--- /ws/checked conversation 1",
            "Route: /ws/checked   [[]passed]",
            "  *Handshake cells: 2 · Origin probes: 1*",
        ]
    )
