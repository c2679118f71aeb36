"""Acceptance: an unknown JSON Schema format warns (never fails a correct setup, even under
filterwarnings = error), register_format silences it, and bytes replies are held to their sizes."""

from __future__ import annotations

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes

PAY_APP = (
    STARLETTE_HEADER
    + """

async def pay(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        await ws.send_text(json.dumps({"paid": True}))


async def blob(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        await ws.send_bytes(b"x" * 9)  # the spec allows at most 8


app = Starlette(routes=[WebSocketRoute("/ws/pay", pay), WebSocketRoute("/ws/blob", blob)])
"""
)

SPEC = """\
version: 1
routes:
  /ws/pay:
    messages:
      pay:
        kind: json
        schema:
          type: object
          properties: {amount: {type: string, format: decimal}}
          required: [amount]
        reply: [paid]
    replies:
      paid: {kind: json, schema: {type: object, properties: {paid: {const: true}}}}
  /ws/blob:
    messages:
      get: {kind: text, schema: {const: get}, reply: [chunk]}
    replies:
      chunk: {kind: bytes, min_size: 1, max_size: 8}
"""


def test_unknown_format_warns_and_bytes_replies_keep_their_size(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = run_routes(PAY_APP, "--routes-max-examples", "10", spec=SPEC)
    out = result.stdout.str()
    assert "Route: /ws/pay   [passed]" in out, out[-3000:]
    assert "Route: /ws/blob   [FAILED]" in out
    assert "9 bytes, more than max_size 8" in out
    result.stdout.fnmatch_lines(
        ["*ws-routes.yaml:7:*WsRoutesWarning: ws-routes.yaml:7:*format 'decimal' is unknown*"]
    )


def test_register_format_silences_the_warning(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        "from hypothesis import strategies as st\n"
        "from ws_routes import register_format\n"
        "register_format('decimal', st.just('1.50'))\n"
    )
    result = run_routes(PAY_APP, "--routes-max-examples", "10", "-k", "pay", spec=SPEC)
    out = result.stdout.str()
    assert "Route: /ws/pay   [passed]" in out, out[-3000:]
    assert "is unknown to ws_routes" not in out
