"""Acceptance: a failure that needs state earlier connections left behind is said to pass in a
fresh app, and its minimal case gains the earlier connections it needs, so it replays (crash file,
``ws-routes replay``, the snippet); an ordinary bug's report is unchanged; and a background task
crashing after the client's last step is reported, not lost at the close."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes

# A registry of sockets never cleaned on disconnect: a message broadcasts to every socket still
# registered, and sending to one whose client left raises. One connection alone never fails.
LEAKY_APP = (
    STARLETTE_HEADER
    + """
SOCKETS: list[WebSocket] = []


async def room(ws: WebSocket) -> None:
    await ws.accept()
    SOCKETS.append(ws)
    try:
        while True:
            data = json.loads(await ws.receive_text())
            for other in SOCKETS:
                if other is not ws and other.client_state.name != "CONNECTED":
                    raise RuntimeError("broadcast to a socket whose client left")
            await ws.send_json({"echo": data["text"]})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/room", room)])
"""
)
CORRECT_APP = LEAKY_APP.replace(
    "    except WebSocketDisconnect:\n        pass\n",
    "    except WebSocketDisconnect:\n        pass\n    finally:\n        SOCKETS.remove(ws)\n",
)
ROOM_SPEC = """
settings: {checks: {invalid_input: false}}
routes:
  /ws/room:
    messages:
      say:
        kind: json
        schema: {type: object, required: [text], properties: {text: {type: string, maxLength: 3}}}
        reply: [echo]
    replies:
      echo: {kind: json, schema: {type: object, required: [echo]}}
"""
# An ordinary bug: it fails on its own, in any app.
DIVIDE_APP = (
    STARLETTE_HEADER
    + """
async def divide(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            await ws.send_json({"echo": 100 // (len(data["text"]) - 2)})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/room", divide)])
"""
)
# Work handed off to a task that crashes 50 ms after the message: after the client's last step.
LATE_TASK_APP = (
    STARLETTE_HEADER
    + """
async def later(text: str) -> None:
    await asyncio.sleep(0.05)
    if text:
        raise RuntimeError("late crash in a background task")


async def room(ws: WebSocket) -> None:
    await ws.accept()
    tasks = set()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            tasks.add(asyncio.create_task(later(data["text"])))
            await ws.send_json({"echo": data["text"]})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/room", room)])
"""
)
FRESH_NOTE = "this case passes in a fresh app"


def test_a_leak_is_said_to_need_earlier_connections_and_its_case_replays_with_them(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    result = run_routes(LEAKY_APP, spec=ROOM_SPEC)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "broadcast to a socket whose client left" in out
    assert FRESH_NOTE in out
    assert "state left behind by earlier connections is needed" in out
    found = re.search(r"These (\d+) earlier connection\(s\)", out)
    assert found is not None, out
    count = int(found.group(1))
    assert count == 1  # one socket left behind is all it takes: ddmin found the minimum
    result.stdout.fnmatch_lines(
        [
            "Connection 1 (earlier):",
            "  ! connect /ws/room*",
            "  ! handshake accepted",
            "Connection 2 (the failing case): the transcript above.",
        ]
    )
    (path,) = (pytester.path / ".ws-routes" / "crashes").glob("*.json")
    saved = json.loads(path.read_text("utf-8"))
    assert [c["path"] for c in saved["earlier"]] == ["/ws/room"]

    # The crash file replays in a fresh process, earlier connection first: it still fails.
    replayed = pytester.run(sys.executable, "-m", "ws_routes", "replay", str(path), timeout=60)
    assert replayed.ret == 1, replayed.stdout.str()
    replayed.stdout.fnmatch_lines(["Earlier connections (replayed first, in order):"])
    assert "broadcast to a socket whose client left" in replayed.stdout.str()

    # So does the snippet the report printed, run as a script in a new interpreter.
    lines = result.stdout.lines
    start = lines.index("Or replay this exact conversation in Python:") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("====="))
    snippet = "\n".join(line.removeprefix("  ") for line in lines[start:end])
    assert "earlier=[" in snippet
    script = pytester.path / "snippet.py"
    script.write_text(snippet + "\n", encoding="utf-8")
    ran = pytester.run(sys.executable, str(script), timeout=60)
    assert ran.ret == 1
    assert "ReplayFailed" in ran.stderr.str()


def test_the_correct_app_passes(run_routes: RunRoutes) -> None:
    result = run_routes(CORRECT_APP, "--routes-max-examples", "20", spec=ROOM_SPEC)
    result.assert_outcomes(passed=1)


def test_an_ordinary_bug_reproduces_fresh_and_its_report_is_unchanged(
    run_routes: RunRoutes,
) -> None:
    result = run_routes(DIVIDE_APP, spec=ROOM_SPEC)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "ZeroDivisionError" in out
    assert "fresh app" not in out
    assert "earlier" not in out.lower()


def test_a_background_task_crashing_after_the_last_step_is_reported(
    run_routes: RunRoutes,
) -> None:
    result = run_routes(LATE_TASK_APP, "--routes-max-examples", "10", spec=ROOM_SPEC)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "RuntimeError: late crash in a background task" in out
    assert "a task the app started raised" in out
