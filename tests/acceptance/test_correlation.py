"""Acceptance: replies tied to requests, on a JSON-RPC 2.0 server over WebSocket.

One app, three routes: a correct server, one that answers with the wrong id when two requests
are in flight (the id of the latest request, read after a method's ``asyncio.sleep``), and one
that answers a notification. The correct one has two result types whose schemas overlap (both
any string), answers requests out of order and closes with 4409 when an id still in flight comes
again, while the generator draws small ids (so it must keep them unique itself, and reuse one
only in a negative case): nothing of that may be reported. Each bug is found with seed 1, and
with seeds 1-3 under WS_ROUTES_SLOW_TESTS=1 (tests.conftest.SEEDS).
"""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS, RunRoutes, node

JSONRPC_APP = """
import asyncio
import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


def error(request_id, code, message):
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def server(*, shared_id=False, answer_notifications=False):
    async def rpc(ws: WebSocket) -> None:
        await ws.accept()
        tasks = set()
        latest = {"id": None}
        in_flight = set()  # ids of requests not answered yet: a duplicate is refused with 4409

        async def answer(request):
            text = str(request["params"][0])
            if request["method"] == "upper":
                await asyncio.sleep(0.001)
                text = text.upper()
            # BUG (shared_id): the id of the latest request, not of this one.
            request_id = latest["id"] if shared_id else request["id"]
            in_flight.discard(request["id"])
            await ws.send_text(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": text}))

        async def send(value):
            await ws.send_text(json.dumps(value))

        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                try:
                    request = json.loads(message.get("text") or message.get("bytes") or b"")
                except ValueError:
                    await send(error(None, -32700, "Parse error"))
                    continue
                if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
                    await send(error(None, -32600, "Invalid Request"))
                    continue
                if "id" not in request:  # a notification: never answered...
                    if answer_notifications:  # BUG: ...except here
                        await send(error(None, -32601, "notifications are not supported"))
                    continue
                request_id = request["id"]
                if not isinstance(request_id, (int, str)) or isinstance(request_id, bool):
                    await send(error(None, -32600, "Invalid Request"))
                    continue
                params = request.get("params")
                if request.get("method") not in ("echo", "upper"):
                    await send(error(request_id, -32601, "Method not found"))
                    continue
                if not isinstance(params, list) or len(params) != 1:
                    await send(error(request_id, -32602, "Invalid params"))
                    continue
                if request_id in in_flight:
                    await ws.close(4409, "duplicate id")
                    return
                in_flight.add(request_id)
                latest["id"] = request_id
                task = asyncio.create_task(answer(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()

    return rpc


app = Starlette(
    routes=[
        WebSocketRoute("/rpc", server()),
        WebSocketRoute("/rpc/swap", server(shared_id=True)),
        WebSocketRoute("/rpc/notify", server(answer_notifications=True)),
    ]
)
"""

SPEC = """\
routes:
  "/rpc": &rpc
    # 4409 refuses an id that is still in flight: only a negative case may provoke it.
    close_codes: []
    invalid: {close_codes: [4409]}
    messages:
      echo:
        kind: json
        schema:
          type: object
          required: [jsonrpc, id, method, params]
          additionalProperties: false
          properties:
            jsonrpc: {const: "2.0"}
            id: {type: integer, minimum: 0, maximum: 1000}
            method: {const: echo}
            params: {type: array, items: {type: string, maxLength: 8}, minItems: 1, maxItems: 1}
        correlation: /id
        unique: true
        reply: [echo_result, error]
        echo: {/result: /params/0}
      upper:
        kind: json
        schema:
          type: object
          required: [jsonrpc, id, method, params]
          additionalProperties: false
          properties:
            jsonrpc: {const: "2.0"}
            id: {type: integer, minimum: 0, maximum: 1000}
            method: {const: upper}
            params: {type: array, items: {type: string, maxLength: 8}, minItems: 1, maxItems: 1}
        correlation: /id
        unique: true
        reply: [upper_result, error]
      log:
        kind: json
        schema:
          type: object
          required: [jsonrpc, method, params]
          additionalProperties: false
          properties:
            jsonrpc: {const: "2.0"}
            method: {const: log}
            params: {type: array, items: {type: string, maxLength: 8}, maxItems: 2}
        no_reply: true
    replies:
      # Both result types fit any string result: only what was expected tells them apart.
      echo_result: &result
        kind: json
        correlation: /id
        schema:
          type: object
          required: [jsonrpc, id, result]
          additionalProperties: false
          properties:
            jsonrpc: {const: "2.0"}
            id: {type: [integer, string]}
            result: {type: string}
      upper_result: *result
      error:
        kind: json
        correlation: /id
        error: true
        schema:
          type: object
          required: [jsonrpc, id, error]
          properties:
            jsonrpc: {const: "2.0"}
            id: {type: [integer, string, "null"]}
            error: {type: object, required: [code, message]}
  "/rpc/swap": *rpc
  "/rpc/notify": *rpc
"""


@pytest.mark.parametrize("seed", SEEDS)
def test_each_planted_bug_is_found_and_the_correct_server_passes(
    run_routes: RunRoutes, seed: str
) -> None:
    result = run_routes(JSONRPC_APP, "--routes-seed", seed, spec=SPEC)
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "Route: /rpc   [passed]" in out
    reports = {
        route: out.split(f"WEBSOCKET TEST FAILURE: {route}\n", 1)[1].split("=" * 60 + "\n", 2)[1]
        for route in ("/rpc/swap", "/rpc/notify")
    }
    # The wrong id: a reply with an id whose request was already answered (or no request has),
    # or, when the other reply went to a request the server may answer anyhow (a mutant), the
    # request whose id no reply carried. Either names the swapped id.
    swap = reports["/rpc/swap"]
    assert ("Check: correlation" in swap and "Message: reply #" in swap) or (
        "Check: reply_expected" in swap and "reply with id " in swap
    ), swap
    # The answered notification, named with the frame that answered it.
    assert "Check: no_reply" in reports["/rpc/notify"], reports["/rpc/notify"]
    assert "`log` must get no reply, but reply #" in reports["/rpc/notify"]
    result.stdout.fnmatch_lines([f"FAILED {node('/rpc/notify')}*", f"FAILED {node('/rpc/swap')}*"])
