"""Acceptance: one finding per bug, where the code that raised is the app's and where it is a
library's.

A crash that passes through the app's own code is one bug per line of it, wherever in a library
it ended (an unguarded ``json.loads`` raises from many places in the decoder). A crash in code
the app only called into from a library's frames (a worker thread's, a mounted protocol
server's) has no line of the app's to go by: the library's frame that raised tells two bugs
apart, so one cannot hide the other.
"""

from __future__ import annotations

import re

from tests.conftest import STARLETTE_HEADER, RunRoutes

APP = (
    STARLETTE_HEADER
    + '''
import base64
import binascii


def is_json(text):
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def is_base64(text):
    try:
        base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


CHECKS = {"parse": is_json, "decode": is_base64}
WORKERS = {"parse": json.loads, "decode": base64.b64decode}


async def messages(ws: WebSocket):
    """JSON objects with a type, until the client leaves; anything else gets an error reply."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            data = json.loads(message.get("text") or "")
        except ValueError:
            data = None
        kind = data.get("type") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind in WORKERS and "payload" in data:
            yield data
        else:
            await ws.send_text(json.dumps({"error": "bad message"}))


async def workers(ws: WebSocket) -> None:
    """Checks a string payload, then has a worker thread do the work."""
    await ws.accept()
    async for data in messages(ws):
        kind, payload = data["type"], data["payload"]
        if isinstance(payload, str) and not CHECKS[kind](payload):
            await ws.send_text(json.dumps({"error": "bad payload"}))
            continue
        # BUG: a payload that is no string is never checked, and the worker raises a TypeError
        # (in json/__init__.py for parse, in base64.py for decode) that nobody reads: the
        # handler waits for the task to end, never for how it ended.
        await asyncio.wait([asyncio.create_task(asyncio.to_thread(WORKERS[kind], payload))])
        await ws.send_text(json.dumps({"ok": True}))


async def own(ws: WebSocket) -> None:
    await ws.accept()
    async for data in messages(ws):
        if not isinstance(data["payload"], str):
            await ws.send_text(json.dumps({"error": "bad payload"}))
            continue
        json.loads(data["payload"])  # BUG: one line, whatever the decoder says is wrong
        await ws.send_text(json.dumps({"ok": True}))


app = Starlette(
    routes=[
        WebSocketRoute("/ws/workers", workers),
        WebSocketRoute("/ws/loose", workers),
        WebSocketRoute("/ws/own", own),
    ]
)
'''
)

MESSAGES = """
        messages:
          parse: {kind: json, schema: {type: object, properties: {type: {const: parse}, payload: {type: string}}, required: [type, payload]}}
          decode: {kind: json, schema: {type: object, properties: {type: {const: decode}, payload: {type: string}}, required: [type, payload]}}
        replies:
          ok: {kind: json, schema: {type: object, required: [ok]}}
          error: {kind: json, error: true, schema: {type: object, required: [error]}}
"""
SPEC = f"""
settings: {{max_messages: 3, checks: {{disconnect: false}}}}
routes:
  /ws/workers:{MESSAGES}
  /ws/own:{MESSAGES}
  # Any payload is valid here: the conversations find both crashes, and shrink each on its own.
  /ws/loose:{MESSAGES.replace("payload: {type: string}", "payload: {}")}
"""


def _blocks(text: str, route: str) -> list[str]:
    """The report of each finding on ``route``: its failure, then the "ALSO FOUND" ones."""
    return [
        block
        for block in text.split("WEBSOCKET TEST FAILURE: ")[1:]
        if block.startswith(route + "\n")
    ]


def _messages(text: str, route: str) -> list[str]:
    return [
        re.search(r"^Message: (.*)$", block, re.M).group(1)  # type: ignore[union-attr]
        for block in _blocks(text, route)
    ]


def test_two_crashes_in_library_code_are_two_findings_one_app_line_is_one(
    run_routes: RunRoutes,
) -> None:
    result = run_routes(APP, "--routes-max-examples", "60", spec=SPEC)
    text = result.stdout.str()
    result.assert_outcomes(failed=3)
    json_error = "TypeError: the JSON object must be str"
    base64_error = "TypeError: argument should be a bytes-like object"
    # Both TypeErrors, raised in the standard library from frames of asyncio's and the thread
    # pool's only: the function that raised tells them apart, so neither hides the other.
    workers = _messages(text, "/ws/workers")
    assert len(workers) == 2, text[-8000:]
    null = "negative case, wrong type at /payload: null instead of string: a task the app started"
    assert all(m.startswith(null) for m in workers), workers
    assert any(json_error in m for m in workers), workers
    assert any(base64_error in m for m in workers), workers
    # Found by the conversations, each shrunk on its own to the one message that reaches it.
    loose = _blocks(text, "/ws/loose")
    assert len(loose) == 2, text[-8000:]
    for error, sent in [
        (json_error, '> json {"type": "parse", "payload": null}'),
        (base64_error, '> json {"type": "decode", "payload": null}'),
    ]:
        block = next(b for b in loose if error in b)
        assert "Check: no_server_error" in block
        assert "Transcript (1 message(s) sent, minimal after shrinking)" in block, block
        assert sent in block, block
    # The app's own json.loads raises from many places in the decoder: one line, one bug.
    own = _messages(text, "/ws/own")
    assert len(own) == 1, text[-8000:]
    assert "JSONDecodeError" in own[0]
    result.stdout.fnmatch_lines(["Route: /ws/own   [[]FAILED]", "  Failures: 1"])
