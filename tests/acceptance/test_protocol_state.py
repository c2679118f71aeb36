"""Acceptance: conversations that follow a protocol's states (``states``, ``opening``, ``when``).

A small graphql-transport-ws server in two versions: both refuse a ``subscribe`` before
``connection_ack`` with 4401 and a second ``connection_init`` with 4429, as the protocol says;
the buggy one crashes on a subscribe *after* the ack (a state bug only the opening reaches). The
route declares neither close code: only conversations that respect the states, and wrong-state
steps judged by their own ``wrong_state`` reactions, keep the correct server from failing.
"""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS, STARLETTE_HEADER, RunRoutes, node

GRAPHQL_APP = (
    STARLETTE_HEADER
    + """

def graphql(buggy):
    async def handler(ws: WebSocket) -> None:
        if "graphql-transport-ws" not in ws.scope.get("subprotocols", []):
            await ws.accept()
            await ws.close(4406, "Subprotocol not acceptable")
            return
        await ws.accept(subprotocol="graphql-transport-ws")
        acked = False
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                data = json.loads(message["text"]) if message.get("text") is not None else None
            except ValueError:
                data = None
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "connection_init":
                if acked:
                    await ws.close(4429, "Too many initialisation requests")
                    return
                acked = True
                await ws.send_text(json.dumps({"type": "connection_ack"}))
            elif kind == "ping":
                await ws.send_text(json.dumps({"type": "pong"}))
            elif kind in ("subscribe", "complete") and not acked:
                await ws.close(4401, "Unauthorized")
                return
            elif kind == "subscribe" and isinstance(data.get("id"), str) and isinstance(
                data.get("payload"), dict
            ) and isinstance(data["payload"].get("query"), str):
                payload = data["payload"]
                if buggy:
                    variables = payload.get("variables")
                    variables.items()  # BUG: variables is optional, and may be null
                op = data["id"]
                await ws.send_text(json.dumps({"id": op, "type": "next", "payload": {"data": {}}}))
                await ws.send_text(json.dumps({"id": op, "type": "complete"}))
            elif kind == "complete" and isinstance(data.get("id"), str):
                pass
            else:
                await ws.close(4400, "Invalid message received")
                return

    return handler


app = Starlette(
    routes=[WebSocketRoute("/graphql", graphql(True)), WebSocketRoute("/graphql-ok", graphql(False))]
)
"""
)

ROUTE = """
    subprotocols: [graphql-transport-ws]
    states: [connecting, ready]
    opening: [connection_init]
    close_codes: [4400]
    invalid: {close_codes: [4400]}
    messages:
      connection_init:
        kind: json
        schema: {$ref: "#/$defs/init"}
        reply: [connection_ack]
        when: [connecting]
        wrong_state: {close_codes: [4429]}
      subscribe:
        kind: json
        schema: {$ref: "#/$defs/subscribe"}
        reply: [next, complete]
        when: [ready]
        wrong_state: {close_codes: [4401]}
      complete:
        kind: json
        schema: {$ref: "#/$defs/complete"}
        when: [ready]
        wrong_state: {close_codes: [4401]}
      ping:
        kind: json
        schema: {type: object, properties: {type: {const: ping}}, required: [type], additionalProperties: false}
        reply: [pong]
    replies:
      connection_ack: {kind: json, schema: {$ref: "#/$defs/ack"}, goto: ready}
      next: {kind: json, schema: {$ref: "#/$defs/next"}}
      complete: {kind: json, schema: {$ref: "#/$defs/completed"}}
      pong: {kind: json, schema: {$ref: "#/$defs/pong"}}
"""

DEFS = """
$defs:
  init:
    type: object
    properties: {type: {const: connection_init}, payload: {type: [object, "null"], maxProperties: 2}}
    required: [type]
    additionalProperties: false
  subscribe:
    type: object
    properties:
      type: {const: subscribe}
      id: {type: string, minLength: 1, maxLength: 8}
      payload:
        type: object
        properties:
          query: {type: string, maxLength: 30}
          variables: {type: [object, "null"], maxProperties: 2}
        required: [query]
        additionalProperties: false
    required: [type, id, payload]
    additionalProperties: false
  complete:
    type: object
    properties: {type: {const: complete}, id: {type: string, minLength: 1, maxLength: 8}}
    required: [type, id]
    additionalProperties: false
  ack: {type: object, properties: {type: {const: connection_ack}}, required: [type]}
  pong: {type: object, properties: {type: {const: pong}}, required: [type]}
  next:
    type: object
    properties: {type: {const: next}, id: {type: string}, payload: {type: object}}
    required: [type, id, payload]
  completed: {type: object, properties: {type: {const: complete}, id: {type: string}}, required: [type, id]}
"""


def _spec() -> str:
    route = ROUTE.replace('{$ref: "#/$defs/', '{$ref: "defs.yaml#/$defs/')
    return f"routes:\n  /graphql:{route}\n  /graphql-ok:{route}"


@pytest.mark.parametrize("seed", SEEDS)
def test_a_state_bug_behind_the_opening_is_found_and_the_gate_is_no_false_alarm(
    run_routes: RunRoutes, pytester: pytest.Pytester, seed: str
) -> None:
    (pytester.path / "defs.yaml").write_text(DEFS, encoding="utf-8")
    result = run_routes(
        GRAPHQL_APP, "--routes-seed", seed, "--routes-max-examples", "60", spec=_spec()
    )
    result.assert_outcomes(passed=1, failed=1)
    # The minimal case: the opening (its reply moved the state), then the subscribe that crashes.
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /graphql",
            "Error Type: server_error",
            "Check: no_server_error",
            "Message: the app raised AttributeError: 'NoneType' object has no attribute 'items'",
            "Transcript (2 message(s) sent, minimal after shrinking):",
            '  > json {"type": "connection_init"}    [[]connection_init]',
            '  < json {"type": "connection_ack"}    [[]connection_ack]',
            "  ! state: ready",
            '  > json {"type": "subscribe", *}    [[]subscribe]',
            "  x close 1011    [[]by server]",
        ]
    )
    result.stdout.fnmatch_lines(["Route: /graphql-ok   [[]passed]", f"FAILED {node('/graphql')} *"])


def test_wrong_state_steps_are_sent_and_judged_by_their_own_reactions(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    (pytester.path / "defs.yaml").write_text(DEFS, encoding="utf-8")
    result = run_routes(
        GRAPHQL_APP,
        "--routes-ws-include",
        "/graphql-ok",
        "--routes-verbose",
        "--routes-max-examples",
        "60",
        spec=_spec(),
    )
    result.assert_outcomes(passed=1)
    lines = result.stdout.lines
    # Negative conversations skip the opening and send messages in the wrong state; the server's
    # refusals (4401, 4429) are what the spec's `wrong_state` allows, not failures.
    assert any("[subscribe, invalid: skipped_opening]" in line for line in lines)
    assert any("invalid: wrong_state]" in line for line in lines)
    assert any(line.strip().startswith("x close 4401") for line in lines)
