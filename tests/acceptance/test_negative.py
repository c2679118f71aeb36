"""Acceptance: negative testing and disconnects, on small apps with one planted bug per route.

Every route below is robust except for one mistake that only one kind of bad input (or one way
of leaving) reaches, so each run shows that mutation finding its bug; the polite routes show that
correct error handling (an error reply, a close with an allowed code) is never reported.
"""

from __future__ import annotations

import re

from tests.conftest import STARLETTE_HEADER, TEXT_FRAMES, RunRoutes, node

NEGATIVE_APP = (
    STARLETTE_HEADER
    + '''
import struct

SLOTS = ["free"] * 10
FIELDS = {"type": str, "n": int, "name": str}
'''
    + TEXT_FRAMES
    + '''


async def frames(ws: WebSocket):
    """Robust reading: text frames only, JSON objects only (else an error reply)."""
    async for text in texts(ws):
        try:
            data = json.loads(text)
        except ValueError:
            await ws.send_text(json.dumps({"error": "not JSON"}))
            continue
        if not isinstance(data, dict):
            await ws.send_text(json.dumps({"error": "not an object"}))
            continue
        yield data


def route(check):
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async for data in frames(ws):
            check(data)
            await ws.send_text(json.dumps({"ok": True}))

    return handler


def missing_required(data):
    return data["n"]  # BUG: KeyError when n is missing


def wrong_type(data):
    n = data.get("n", 0)
    return n + 1  # BUG: TypeError when n is not a number


def extra_field(data):
    for key in data:
        FIELDS[key]  # BUG: KeyError on a field the schema does not allow


def out_of_bounds(data):
    n = data.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
        SLOTS[n]  # BUG: IndexError just above the maximum


def nul(data):
    name = data.get("name")
    if isinstance(name, str) and "\\x00" in name:
        raise ValueError("embedded null character")  # BUG: what C APIs (paths, drivers) say


def non_bmp(data):
    name = data.get("name")
    if isinstance(name, str) and any(ord(c) > 0xFFFF for c in name):
        raise UnicodeError("utf8mb3 column")  # BUG: a database column of 3-byte UTF-8


async def text_frames_only(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        text = await ws.receive_text()  # BUG: KeyError 'text' on a binary frame
        await ws.send_text(json.dumps({"ok": bool(text)}))


async def strict_json(ws: WebSocket) -> None:
    await ws.accept()
    async for text in texts(ws):
        data = json.loads(text)  # BUG: JSONDecodeError on text that is not JSON
        await ws.send_text(json.dumps({"ok": isinstance(data, dict)}))


async def echo_json(ws: WebSocket) -> None:
    await ws.accept()
    async for data in frames(ws):
        await ws.send_json(data)  # BUG: ensure_ascii=False echoes a "\\ud800" escape raw


async def length_prefixed(ws: WebSocket) -> None:
    await ws.accept()
    async for text in texts(ws):
        header = struct.pack("!H", len(text.encode()))  # BUG: struct.error over 65535 bytes
        await ws.send_text(json.dumps({"ok": len(header)}))


async def first_char(ws: WebSocket) -> None:
    await ws.accept()
    async for text in texts(ws):
        await ws.send_text(json.dumps({"ok": text[0] != " "}))  # BUG: IndexError on ""


HANDLERS = {"ping": lambda data: None}


def dispatch(data):
    if isinstance(data.get("type"), str):
        HANDLERS[data["type"]](data)  # BUG: KeyError on an unknown type


async def polite(ws: WebSocket) -> None:
    """Correct error handling: error replies for bad JSON, 1003 for binary frames."""
    await ws.accept()
    async for data in frames(ws):
        ok = isinstance(data.get("n"), int) and 0 <= data["n"] <= 9 and set(data) <= set(FIELDS)
        await ws.send_text(json.dumps({"ok": True} if ok else {"error": "bad message"}))


app = Starlette(
    routes=[
        WebSocketRoute("/ws/missing_required", route(missing_required)),
        WebSocketRoute("/ws/wrong_type", route(wrong_type)),
        WebSocketRoute("/ws/extra_field", route(extra_field)),
        WebSocketRoute("/ws/out_of_bounds", route(out_of_bounds)),
        WebSocketRoute("/ws/nul", route(nul)),
        WebSocketRoute("/ws/non_bmp", route(non_bmp)),
        WebSocketRoute("/ws/unknown_discriminator", route(dispatch)),
        WebSocketRoute("/ws/wrong_frame_kind", text_frames_only),
        WebSocketRoute("/ws/not_json", strict_json),
        WebSocketRoute("/ws/lone_surrogate", echo_json),
        WebSocketRoute("/ws/oversize", length_prefixed),
        WebSocketRoute("/ws/empty_frame", first_char),
        WebSocketRoute("/ws/polite", polite),
    ]
)
'''
)

# One message type per route, with the schema its planted bug hides behind.
NEGATIVE_SPEC = """
settings:
  max_messages: 3
  max_message_size: 70000
  checks: {disconnect: false}
routes:
  /ws/missing_required: {messages: {m: {kind: json, schema: $N_REQUIRED}}, replies: $REPLIES}
  /ws/wrong_type: {messages: {m: {kind: json, schema: $N_REQUIRED}}, replies: $REPLIES}
  /ws/extra_field: {messages: {m: {kind: json, schema: $N_CLOSED}}, replies: $REPLIES}
  /ws/out_of_bounds: {messages: {m: {kind: json, schema: $N_REQUIRED}}, replies: $REPLIES}
  /ws/nul: {messages: {m: {kind: json, schema: $NAME}}, replies: $REPLIES}
  /ws/non_bmp: {messages: {m: {kind: json, schema: $NAME}}, replies: $REPLIES}
  /ws/unknown_discriminator: {messages: {m: {kind: json, schema: $PING}}, replies: $REPLIES}
  /ws/wrong_frame_kind: {messages: {m: {kind: text}}, replies: $REPLIES}
  /ws/not_json: {messages: {m: {kind: json, schema: $N_REQUIRED}}, replies: $REPLIES}
  /ws/lone_surrogate: {messages: {m: {kind: json, schema: $NAME}}, replies: {echo: {kind: json}}}
  /ws/oversize: {messages: {m: {kind: text, max_size: 100}}, replies: $REPLIES}
  /ws/empty_frame: {messages: {m: {kind: text, min_size: 1}}, replies: $REPLIES}
  /ws/polite: {messages: {m: {kind: json, schema: $N_CLOSED}}, replies: $REPLIES}
"""
SCHEMAS = {
    "$N_REQUIRED": '{type: object, properties: {n: {type: integer, minimum: 0, maximum: 9}}, required: [n]}',
    "$N_CLOSED": '{type: object, properties: {n: {type: integer, minimum: 0, maximum: 9}}, required: [n], additionalProperties: false}',
    "$NAME": '{type: object, properties: {name: {type: string, maxLength: 20}}, required: [name]}',
    "$PING": '{type: object, properties: {type: {const: ping}}, required: [type]}',
    "$REPLIES": '{ok: {kind: json, schema: {type: object, required: [ok]}}, error: {kind: json, error: true, schema: {type: object, required: [error]}}}',
}
# What each route's report must name: the mutation that reaches its bug.
EXPECTED = {
    "/ws/missing_required": "missing required field /n",
    "/ws/wrong_type": "wrong type at /n",
    "/ws/extra_field": "extra field",
    "/ws/out_of_bounds": "out of bounds at /n",
    # Valid values carry NUL and non-BMP characters too (the generator favours awkward text):
    # the same crash from valid traffic is reported as the primary finding, once.
    "/ws/nul": "embedded null character",
    "/ws/non_bmp": "utf8mb3 column",
    "/ws/unknown_discriminator": "unknown discriminator /type",
    "/ws/wrong_frame_kind": "bytes frame to a text message",
    "/ws/not_json": "JSON",
    "/ws/lone_surrogate": "lone surrogate",
    "/ws/oversize": "oversize",
    "/ws/empty_frame": "empty",
}


POSITIVE_TOO = ("/ws/nul", "/ws/non_bmp")


def negative_spec() -> str:
    spec = NEGATIVE_SPEC
    for name, schema in SCHEMAS.items():
        spec = spec.replace(name, schema)
    return spec


def test_each_mutation_finds_its_planted_bug_and_polite_errors_pass(run_routes: RunRoutes) -> None:
    result = run_routes(
        NEGATIVE_APP, "--routes-max-examples", "40", "-p", "no:randomly", spec=negative_spec()
    )
    text = result.stdout.str()
    reports = {
        m.group(1): m.group(0)
        for m in re.finditer(r"WEBSOCKET TEST FAILURE: (\S+)\n.*?(?=\n={60}\n(?!Error))", text, re.S)
    }
    problems = []
    for path, words in EXPECTED.items():
        report = reports.get(path, "")
        checks = ("no_server_error", "invalid_input") if path in POSITIVE_TOO else ("invalid_input",)
        if not any(f"Check: {c}" in report for c in checks) or words not in report:
            problems.append(f"{path}: expected a {' or '.join(checks)} failure naming {words!r}")
    assert not problems, "\n".join(problems) + "\n\n" + text[-6000:]
    result.stdout.fnmatch_lines(["Route: /ws/polite   [[]passed]"])
    result.assert_outcomes(passed=1, failed=len(EXPECTED))
    assert "Error Type: negative_case" in text
    assert "FAILED " + node("/ws/polite").replace("\\", "") not in text


MUST_REJECT_APP = (
    STARLETTE_HEADER
    + """
async def ignores(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            data = json.loads(message.get("text") or "")
        except ValueError:
            continue  # BUG: the protocol says close with 4400; this stays silent
        if isinstance(data, dict) and data.get("type") == "ping":
            await ws.send_text(json.dumps({"type": "pong"}))


async def rejects(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            data = json.loads(message.get("text") or "")
        except ValueError:
            data = None
        if not (isinstance(data, dict) and data == {"type": "ping"}):
            await ws.close(code=4400, reason="invalid message")
            return
        await ws.send_text(json.dumps({"type": "pong"}))


app = Starlette(routes=[WebSocketRoute("/ws/ignores", ignores), WebSocketRoute("/ws/rejects", rejects)])
"""
)


def test_must_reject_fails_on_silence_and_passes_on_a_close(run_routes: RunRoutes) -> None:
    route = (
        "{messages: {ping: {kind: json, reply: [pong], schema: {type: object, properties: "
        "{type: {const: ping}}, required: [type], additionalProperties: false}}}, "
        "replies: {pong: {kind: json}}, close_codes: [4400], "
        "invalid: {must_reject: true, close_codes: [4400]}}"
    )
    spec = f"""
    settings: {{checks: {{disconnect: false}}}}
    routes:
      /ws/ignores: {route}
      /ws/rejects: {route}
    """
    result = run_routes(MUST_REJECT_APP, "--routes-max-examples", "100", spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/ignores",
            "Error Type: negative_case",
            "Check: invalid_input",
            "Message: invalid message * was not rejected",
            "Route: /ws/rejects   [[]passed]",
        ]
    )
    # Each family the server lets through is a finding of its own, named by its mutation.
    unrejected = re.findall(
        r"^Message: invalid message \d+ \((.*)\) was not rejected$", result.stdout.str(), re.M
    )
    assert len(unrejected) == len(set(unrejected)), unrejected
    families = {
        "bytes frame to a json message",
        "text that is not JSON: a lone '{'",
        "wrong type at (root): null instead of object",
        "missing required field /type",
        "empty text frame",
    }
    assert families <= set(unrejected), unrejected


DISCONNECT_APP = (
    STARLETTE_HEADER
    + """
async def pump(ws: WebSocket) -> None:
    await ws.accept()

    async def ticks() -> None:
        while True:
            await asyncio.sleep(0.001)
            await ws.send_text("tick")  # raises once the client is gone: nobody handles it

    asyncio.create_task(ticks())  # BUG: never cancelled when the connection ends
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def pump_ok(ws: WebSocket) -> None:
    await ws.accept()

    async def ticks() -> None:
        while True:
            await asyncio.sleep(0.001)
            await ws.send_text("tick")

    task = asyncio.create_task(ticks())
    try:
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        task.cancel()


app = Starlette(routes=[WebSocketRoute("/ws/pump", pump), WebSocketRoute("/ws/pump-ok", pump_ok)])
"""
)


def test_disconnect_finds_a_task_outliving_its_connection(run_routes: RunRoutes) -> None:
    spec = """
    settings: {checks: {invalid_input: false}}
    routes:
      /ws/pump: {messages: {say: {kind: text}}, replies: {tick: {kind: text}}}
      /ws/pump-ok: {messages: {say: {kind: text}}, replies: {tick: {kind: text}}}
    """
    result = run_routes(DISCONNECT_APP, spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/pump",
            "Check: disconnect",
            "Message: *task*",
            "Route: /ws/pump-ok   [[]passed]",
        ]
    )


LITESTAR_APP = """
from dataclasses import dataclass
from typing import Literal

from litestar import Litestar, websocket_listener
from litestar.dto import DataclassDTO


@dataclass
class Move:
    type: Literal["move"]
    x: int


@websocket_listener("/ws/typed", dto=DataclassDTO[Move], return_dto=None)
async def typed(data: Move) -> dict:
    return {"x": data.x}


@websocket_listener("/ws/crashy", dto=DataclassDTO[Move], return_dto=None)
async def crashy(data: Move) -> dict:
    return {"x": 100 // data.x}  # BUG: ZeroDivisionError on x == 0, closed by Litestar with 4500


app = Litestar([typed, crashy])
"""


def test_litestar_refusing_bad_data_passes_and_its_crashes_fail(run_routes: RunRoutes) -> None:
    # Litestar closes with 4500 both ways; its reason tells a refusal from a crash.
    route = (
        "{messages: {move: {kind: json, schema: {type: object, properties: "
        "{type: {const: move}, x: {type: integer}}, required: [type, x]}}}, "
        "replies: {moved: {kind: json, schema: {type: object}}}}"
    )
    spec = f"""
    routes:
      /ws/typed: {route}
      /ws/crashy: {route}
    """
    result = run_routes(LITESTAR_APP, spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/crashy",
            "Check: no_server_error",
            "Message: *internal-error code*",
            "*ZeroDivisionError*",
            "Route: /ws/typed   [[]passed]",
        ]
    )


TUTORIAL_APP = (
    STARLETTE_HEADER
    + """
counters: dict[str, int] = {}


async def counter(ws: WebSocket) -> None:
    await ws.accept()
    name = None
    try:
        while True:
            data = json.loads(await ws.receive_text())  # crashes on a binary frame, as tutorials do
            if not isinstance(data, dict):
                continue
            if data.get("op") == "open":
                name = "c"
                counters[name] = 0
            elif data.get("op") == "close" and name is not None:
                del counters[name]  # BUG: a second close finds nothing to delete
            await ws.send_text(json.dumps({"ok": True}))
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/counter", counter)])
"""
)


def test_a_crash_on_bad_input_does_not_hide_a_bug_in_valid_sequences(run_routes: RunRoutes) -> None:
    spec = """
    settings: {max_messages: 4, checks: {disconnect: false}}
    routes:
      /ws/counter:
        messages:
          open: {kind: json, schema: {type: object, properties: {op: {const: open}}, required: [op]}}
          close: {kind: json, schema: {type: object, properties: {op: {const: close}}, required: [op]}}
        replies: {ok: {kind: json}}
    """
    result = run_routes(TUTORIAL_APP, "--routes-max-examples", "200", spec=spec)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/counter",
            "Check: no_server_error",
            "Message: the app raised KeyError: 'c'",
            "ALSO FOUND ON /ws/counter (a separate bug):",
            "Check: invalid_input",
            "Probe: negative: *",
            # The other negative probes still run, and keep what is a different bug.
            "ALSO FOUND ON /ws/counter (a separate bug):",
            "Check: invalid_input",
            "Probe: negative: *",
            "  Failures: 3",
        ]
    )
