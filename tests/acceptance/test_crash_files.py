"""Acceptance: every finding saved as a crash file, replayed by the next run and by
``ws-routes replay`` until the bug is fixed, then removed; secrets kept out of them."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes, node, section

DIVIDE_APP = (
    STARLETTE_HEADER
    + """
async def divide(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            await ws.send_json({"result": 100 // (data["n"] - 3)})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/divide", divide)])
"""
)
FIXED_APP = DIVIDE_APP.replace('100 // (data["n"] - 3)', '100 // (data["n"] - 3 or 1)')
DIVIDE_SPEC = """
settings: {checks: {invalid_input: false}}
routes:
  /ws/divide:
    messages:
      div:
        kind: json
        schema: {type: object, required: [n], properties: {n: {type: integer, minimum: -5, maximum: 5}}}
        reply: [result]
    replies:
      result: {kind: json, schema: {type: object, required: [result]}}
"""


def ws_routes(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "ws_routes", *args, timeout=60)


def test_a_failing_run_writes_a_crash_file_that_replay_last_reproduces_until_fixed(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    result = run_routes(DIVIDE_APP, spec=DIVIDE_SPEC)
    result.assert_outcomes(failed=1)
    (path,) = (pytester.path / ".ws-routes" / "crashes").glob("*.json")
    assert path.name.startswith("ws-divide-no_server_error-ZeroDivisionError-")
    shown = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    result.stdout.fnmatch_lines(
        [
            "Reproduce with:",
            "  pytest * --routes-ws-include /ws/divide --routes-seed 1",
            f"  ws-routes replay {shown}",
        ]
    )
    saved = json.loads(path.read_text("utf-8"))
    assert saved["route"] == "/ws/divide"
    assert saved["failure"]["check"] == "no_server_error"
    assert saved["conversation"]["steps"] == [
        {"message": "div", "kind": "json", "payload": {"n": 3}}
    ]
    assert (saved["app"], saved["spec"], saved["seed"]) == ("app:app", "ws-routes.yaml", 1)
    assert saved["spec_digest"].startswith("sha256:")
    assert saved["hypothesis_blob"].startswith("@reproduce_failure(")
    assert set(saved["versions"]) == {"python", "ws_routes", "hypothesis"}
    assert saved["settings"]["message_timeout"] == 0.5  # the run's settings, the CLI's included

    # The same finding, reported as pytest reported it.
    replayed = ws_routes(pytester, "replay", "--last")
    assert replayed.ret == 1
    report = section(result.stdout.lines, "Transcript (")
    assert section(replayed.stdout.lines, "Transcript (") == report
    replayed.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/divide",
            "Check: no_server_error",
            "Message: the app raised ZeroDivisionError: integer division or modulo by zero",
            "Reproduce with:",
            f"  ws-routes replay {shown}",
        ]
    )
    assert path.exists()

    pytester.makepyfile(app=textwrap.dedent(FIXED_APP))
    fixed = ws_routes(pytester, "replay", "--last")
    assert fixed.ret == 0, fixed.stdout.str()
    fixed.stdout.fnmatch_lines([f"{shown}: passes now; removed"])
    assert not path.exists()


def test_the_next_run_replays_crash_files_first_and_removes_those_that_pass(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    run_routes(DIVIDE_APP, spec=DIVIDE_SPEC).assert_outcomes(failed=1)
    crashes = pytester.path / ".ws-routes" / "crashes"
    (path,) = crashes.glob("*.json")

    # A budget too small to find the bug: the replayed crash file is what finds it, so the
    # report names the file, not a seed that would draw other conversations.
    again = run_routes(None, "--routes-max-examples", "1")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(
        [
            "Reproduce with:",
            f"  ws-routes replay .ws-routes/crashes/{path.name}",
            "  (found by replaying a crash file: seed 1 draws other conversations, *",
            "  *Crash files replayed: 1",
        ]
    )
    assert "--routes-seed 1" not in "\n".join(section(again.stdout.lines, "Reproduce with:"))
    assert path.exists()

    pytester.makepyfile(app=textwrap.dedent(FIXED_APP))
    passing = run_routes(None)
    passing.assert_outcomes(passed=1)
    passing.stdout.fnmatch_lines(["  *Crash files replayed: 1"])
    assert list(crashes.glob("*.json")) == []


AUTH_APP = (
    STARLETTE_HEADER
    + """
async def private(ws: WebSocket) -> None:
    if ws.query_params.get("token") != "cr4sh-s3cret-token":
        await ws.close(code=4001)
        return
    await ws.accept()
    text = await ws.receive_text()
    if len(text) > 2:
        raise ValueError("too long")
    await ws.send_text(text)
    await ws.receive()


app = Starlette(routes=[WebSocketRoute("/ws/private", private)])
"""
)
AUTH_SPEC = """
settings: {checks: {invalid_input: false}}
routes:
  /ws/private:
    auth: {query_param: token, reject_close_codes: [4001]}
    messages: {say: {kind: text}}
"""


def test_a_crash_file_holds_no_secret_and_a_replay_takes_the_credential_again(
    run_routes: RunRoutes, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = "query:token:cr4sh-s3cret-token"
    result = run_routes(AUTH_APP, "--routes-auth", auth, spec=AUTH_SPEC)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"FAILED {node('/ws/private')}*"])
    paths = list((pytester.path / ".ws-routes" / "crashes").glob("*.json"))
    assert paths
    for path in paths:
        assert "cr4sh-s3cret-token" not in path.read_text("utf-8")
    newest = max(paths, key=lambda p: p.stat().st_mtime)
    assert json.loads(newest.read_text("utf-8"))["redacted"]

    without = ws_routes(pytester, "replay", str(newest))
    assert without.ret == 1
    without.stderr.fnmatch_lines(["*its credential was redacted (***) when it was saved; pass it*"])

    monkeypatch.setenv("WS_ROUTES_AUTH", auth)
    again = ws_routes(pytester, "replay", str(newest))
    assert again.ret == 1  # the same bug, reached with the credential put back
    again.stdout.fnmatch_lines(
        [
            "*note: the credential, redacted in the file, was taken from --auth",
            "Check: no_server_error",
            "Message: the app raised ValueError: too long",
        ]
    )
    assert "cr4sh-s3cret-token" not in again.stdout.str() + again.stderr.str()


def test_a_crash_file_that_cannot_be_written_leaves_the_finding_and_warns(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    (pytester.path / ".ws-routes").write_text("not a folder")
    result = run_routes(DIVIDE_APP, "-W", "error", spec=DIVIDE_SPEC)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["Check: no_server_error", "*WsRoutesWarning: /ws/divide: no crash file written*"]
    )
    assert "ws-routes replay" not in result.stdout.str()
