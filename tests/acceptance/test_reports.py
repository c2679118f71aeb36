"""Acceptance: the failure report and its replay snippet, reproduce commands, per-route example
databases, seeds, xdist and --lf."""

from __future__ import annotations

import shlex
import shutil
import sys
import textwrap

import pytest

from tests.conftest import FAST_ARGS, STARLETTE_HEADER, RunRoutes, node, section

DIVIDE_APP = (
    STARLETTE_HEADER
    + """
async def divide(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            await ws.send_json({"result": 100 // data["n"]})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/divide", divide), WebSocketRoute("/ws/echo", echo)])
"""
)

DIVIDE_SPEC = """
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


def test_failure_report_has_every_section_and_its_snippet_reproduces(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    result = run_routes(DIVIDE_APP, spec=DIVIDE_SPEC)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "_*_ test_websocket[[]/ws/divide] _*_",
            "============================================================",
            "WEBSOCKET TEST FAILURE: /ws/divide",
            "============================================================",
            "Error Type: server_error",
            "Check: no_server_error",
            "Message: the app raised ZeroDivisionError: integer division or modulo by zero",
            "Failed at message index: 0",
            "Sent (json):",
            '  {"n": 0}',
            "Expected:",
            "  the handler to handle every message without raising",
            "Actual:",
            "  ZeroDivisionError: integer division or modulo by zero",
            "Connection State: closed by the server",
            "Close Code: 1011",
            "Additional Context:",
            "  total_messages_sent: 1",
            "  last_response: None",
            "  elapsed_time_ms: *",
            "",
            "Transcript (1 message(s) sent, minimal after shrinking):",
            "  ! connect /ws/divide",
            "  ! handshake accepted",
            '  > json {"n": 0}    [[]div]',
            "  x close 1011    [[]by server]",
            "",
            "App traceback:",
            "  Traceback (most recent call last):",
            "*ZeroDivisionError: integer division or modulo by zero",
            "",
            "Reproduce with:",
            "  pytest * --routes-ws-include /ws/divide --routes-seed 1",
            "Or replay this exact conversation in Python:",
            "  from ws_routes import replay",
            "*",
            "  replay(",
            "      'app:app',",
            "      '/ws/divide',",
            "      messages=[[]",
            "          ('div', 'json', {'n': 0})",
            "      ],",
            "      spec='ws-routes.yaml',",
            "  )",
            "============================================================",
            "WebSocket test failed (seed: 1)",
        ]
    )
    lines = result.stdout.lines
    start = lines.index("Or replay this exact conversation in Python:") + 1
    end = lines.index("=" * 60, start)
    snippet = textwrap.dedent("\n".join(lines[start:end]))
    pytester.path.joinpath("replay_it.py").write_text(snippet, encoding="utf-8")
    replayed = pytester.run(sys.executable, "replay_it.py", timeout=60)
    replayed.stdout.fnmatch_lines(
        [
            "! connect /ws/divide",
            '> json {"n": 0}    [[]div]',
            "x close 1011    [[]by server]",
            "App traceback:",
            "*ZeroDivisionError*",
            "FAILED no_server_error: the app raised ZeroDivisionError*",
        ]
    )

    # The reproduce command runs the failing route alone and finds the same minimal failure.
    command = next(line for line in lines if line.startswith("  pytest "))
    shutil.rmtree(pytester.path / ".hypothesis" / "examples", ignore_errors=True)
    again = pytester.runpytest_subprocess(*shlex.split(command)[1:], timeout=60)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["collected 1 item", '  > json {"n": 0}    [[]div]'])


DB_APP = (
    STARLETTE_HEADER
    + """
async def picky(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            if len(text) >= 3:
                raise ValueError("too long")
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/a", picky), WebSocketRoute("/ws/b", echo)])
"""
)

DB_SPEC = """
# The replayed failure must come from the conversations (probes are not stored in the database).
settings: {checks: {invalid_input: false}}
routes:
  /ws/a: {messages: {say: {kind: text}}}
  /ws/b: {messages: {say: {kind: text}}}
"""


def transcript_of(lines: list[str]) -> list[str]:
    return [line.strip() for line in section(lines, "Transcript (")]


# Hypothesis' default profile on CI machines has no example database; these variables are
# how it recognises one (hypothesis._settings._CI_VARS).
CI_VARIABLES = (
    "CI",
    "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI",
    "TF_BUILD",
    "bamboo.buildKey",
    "BUILDKITE",
    "CIRCLECI",
    "CIRRUS_CI",
    "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "TEAMCITY_VERSION",
)


def test_database_replays_a_failure_on_its_own_route(
    run_routes: RunRoutes, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in CI_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    first = run_routes(DB_APP, spec=DB_SPEC)
    first.assert_outcomes(failed=1, passed=1)
    first.stdout.fnmatch_lines([f"FAILED {node('/ws/a')}*"])
    minimal = transcript_of(first.stdout.lines)
    assert minimal[2].startswith("> text ")

    # Unseeded: a seeded run draws from its seed alone and does not replay the database. The
    # crash file would replay the failure too: this test is about the database.
    unseeded = [*FAST_ARGS[: FAST_ARGS.index("--routes-seed")], "--routes-max-examples", "1"]
    shutil.rmtree(pytester.path / ".ws-routes")
    replayed = run_routes(None, *unseeded, defaults=False)
    replayed.assert_outcomes(failed=1, passed=1)
    replayed.stdout.fnmatch_lines(
        ["Route: /ws/b   [[]passed]", "  Sequences tested: 1", f"FAILED {node('/ws/a')}*"]
    )
    assert transcript_of(replayed.stdout.lines) == minimal
    # This run's seed did not draw it: the report names the crash file instead.
    replayed.stdout.fnmatch_lines(
        [
            "Reproduce with:",
            "  ws-routes replay .ws-routes/crashes/ws-a-no_server_error-ValueError-*.json",
            "  (found by replaying the example database: seed * draws other conversations, *",
        ]
    )

    # Without the database, one conversation does not find the bug: the replay is what did.
    shutil.rmtree(pytester.path / ".hypothesis" / "examples", ignore_errors=True)
    shutil.rmtree(pytester.path / ".ws-routes")
    fresh = run_routes(None, *unseeded, defaults=False)
    fresh.assert_outcomes(passed=2)


def test_same_seed_gives_identical_transcripts(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    transcripts = []
    for _ in range(2):
        shutil.rmtree(pytester.path / ".hypothesis" / "examples", ignore_errors=True)
        shutil.rmtree(pytester.path / ".ws-routes", ignore_errors=True)
        result = run_routes(DB_APP, "--routes-seed", "12345", "--routes-verbose", spec=DB_SPEC)
        result.assert_outcomes(failed=1, passed=1)
        transcripts.append(
            [line for line in result.stdout.lines if line.startswith(("> ", "< ", "x ", "--- "))]
        )
    assert len(transcripts[0]) > 30
    assert transcripts[0] == transcripts[1]


def test_xdist_node_ids_summary_and_reproduce_command(run_routes: RunRoutes) -> None:
    app = DIVIDE_APP.replace(
        'WebSocketRoute("/ws/echo", echo)',
        'WebSocketRoute("/ws/echo", echo), WebSocketRoute("/ws/internal/x", echo)',
    )
    result = run_routes(app, "-n", "2", "-v", spec=DIVIDE_SPEC)
    result.assert_outcomes(failed=1, passed=2)
    output = result.stdout.str()
    result.stdout.fnmatch_lines([f"*FAILED {node('/ws/divide')}*"])
    for route in ("/ws/echo", "/ws/internal/x"):
        result.stdout.fnmatch_lines([f"*PASSED {node(route)}*"])
        # Counters travel from the workers: every route's own, in the controller's summary.
        assert f"Route: {route}   [passed]\n  Sequences tested: 30\n" in output
    result.stdout.fnmatch_lines(
        ["ws_routes: WebSocket Test Summary", "Route: /ws/divide   [[]FAILED]"]
    )
    command = next(line for line in result.stdout.lines if line.startswith("  pytest "))
    assert " -n " not in command
    assert command.endswith("--routes-ws-include /ws/divide --routes-seed 1")
    assert output.count("WebSocket test failed (seed: 1)") == 1


def test_last_failed_reruns_only_the_failing_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    # --lf needs the cache plugin, which the other runs switch off.
    args = [*FAST_ARGS, "-p", "no:faker", "--assert=plain", "-v"]
    pytester.makepyfile(app=DIVIDE_APP)
    (pytester.path / "ws-routes.yaml").write_text(DIVIDE_SPEC, encoding="utf-8")
    pytester.runpytest_subprocess(*args, timeout=60).assert_outcomes(failed=1, passed=1)
    again = pytester.runpytest_subprocess(*args, "--lf", timeout=60)
    again.assert_outcomes(failed=1, deselected=1)
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure*"])
    assert "PASSED" not in again.stdout.str()
