"""Acceptance: a long route shows it lives (a line now and then in CI logs, a live line on a
terminal, nothing under xdist workers), and --routes-max-time bounds a route by wall time."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import QUIET_ARGS, STARLETTE_HEADER, RunRoutes

# Every message costs the app 5 ms: a few hundred conversations take seconds.
SLOW_APP = (
    STARLETTE_HEADER
    + """
async def slow(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            await asyncio.sleep(0.005)
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/slow", slow)])
"""
)
SLOW_SPEC = """
routes:
  /ws/slow:
    messages:
      say: {kind: text, schema: {type: string, maxLength: 5}, reply: [echo]}
    replies:
      echo: {kind: text}
    invalid: {enabled: false}
"""
# The real interval is 10 s; a conftest of the run under test makes it 1 s, so the test does
# not wait for tens of seconds to see three lines.
SHORT_INTERVAL = "import ws_routes.plugin.liveline as live\n\nlive.LOG_INTERVAL = 1.0\n"
PROGRESS = re.compile(
    r"^ws_routes: /ws/slow: [\d,]+/[\d,]+ conversations · \d+ findings? · [\d.,]+ conversations/s"
    r" · \d+ s$"
)


def test_without_a_terminal_a_long_route_prints_a_line_every_interval(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(SHORT_INTERVAL)
    result = run_routes(
        SLOW_APP,
        "--routes-max-examples",
        "100000",
        "--routes-max-time",
        "3.5",
        spec=SLOW_SPEC,
    )
    result.assert_outcomes(passed=1)
    lines = [line for line in result.stdout.lines if line.startswith("ws_routes: /ws/slow:")]
    assert 2 <= len(lines) <= 4, result.stdout.str()
    assert all(PROGRESS.match(line) for line in lines), lines
    assert "\r" not in result.stdout.str()  # a log keeps no carriage returns


def test_a_short_route_prints_no_progress(run_routes: RunRoutes) -> None:
    result = run_routes(SLOW_APP, "--routes-max-examples", "5", spec=SLOW_SPEC)
    result.assert_outcomes(passed=1)
    assert "ws_routes: /ws/slow:" not in result.stdout.str()


def test_xdist_workers_print_no_progress(run_routes: RunRoutes, pytester: pytest.Pytester) -> None:
    pytester.makeconftest(SHORT_INTERVAL)
    result = run_routes(
        SLOW_APP,
        "-n",
        "1",
        "--routes-max-examples",
        "100000",
        "--routes-max-time",
        "2.5",
        spec=SLOW_SPEC,
    )
    result.assert_outcomes(passed=1)
    assert "ws_routes: /ws/slow:" not in result.stdout.str()
    result.stdout.fnmatch_lines(["  Stopped at the time limit after * conversations"])


def test_max_time_stops_a_route_and_the_summary_and_junit_say_so(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    junit = pytester.path / "junit.xml"
    started = time.monotonic()
    result = run_routes(
        SLOW_APP,
        "--routes-max-examples",
        "100000",
        "--routes-max-time",
        "2",
        f"--junitxml={junit}",
        spec=SLOW_SPEC,
    )
    assert time.monotonic() - started < 30
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["Route: /ws/slow   [[]passed]", "  Stopped at the time limit after * conversations"]
    )
    stopped = re.search(
        r"Stopped at the time limit after ([\d,]+) conversations", result.stdout.str()
    )
    assert stopped is not None
    assert 10 < int(stopped.group(1).replace(",", "")) < 100000
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert properties["stopped_at_time_limit"] == "true"


def test_max_time_still_shrinks_and_reports_what_was_found(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
async def picky(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            await asyncio.sleep(0.005)
            if len(text) >= 3:
                raise ValueError("too long")
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/slow", picky)])
"""
    )
    result = run_routes(
        app, "--routes-max-examples", "100000", "--routes-max-time", "1", spec=SLOW_SPEC
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Check: no_server_error",
            "Transcript (1 message(s) sent, minimal after shrinking):",
            '  > text "???"    [[]say]',
        ]
    )


def test_a_bad_max_time_is_a_usage_error(run_routes: RunRoutes, pytester: pytest.Pytester) -> None:
    result = run_routes(SLOW_APP, "--routes-max-time", "0", spec=SLOW_SPEC)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--routes-max-time: expected a number of seconds greater than 0 and at most 86400,"
            " got '0'"
        ]
    )
    pytester.makeini("[pytest]\nroutes_max_time = soon\n")
    result = run_routes(SLOW_APP, spec=SLOW_SPEC)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option 'routes_max_time': expected a number of seconds*"])


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_on_a_terminal_the_live_line_is_rewritten_and_erased(
    pytester: pytest.Pytester, unicode_tables: object
) -> None:
    import pty

    from tests.conftest import FAST_ARGS, seed_hypothesis_dir

    pytester.makeini("[pytest]\n")
    seed_hypothesis_dir(pytester.path, unicode_tables)  # type: ignore[arg-type]
    pytester.makepyfile(app=SLOW_APP)
    (pytester.path / "ws-routes.yaml").write_text(SLOW_SPEC, encoding="utf-8")
    main, terminal = pty.openpty()
    command = [sys.executable, "-m", "pytest", *QUIET_ARGS, *FAST_ARGS]
    command += ["--routes-max-examples", "100000", "--routes-max-time", "2"]
    env = {**os.environ, "COLUMNS": "100", "LINES": "40"}
    env.pop("CI", None)  # pytest's CI mode prints differently
    proc = subprocess.Popen(
        command, cwd=pytester.path, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=30)
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.decode("utf-8", "replace"))
    assert proc.returncode == 0, text
    assert "\rws-routes /ws/slow: " in text  # rewritten in place, after pytest's own "ws-routes "
    assert text.count("\rws-routes /ws/slow: ") >= 2
    # Erased at the end: what the terminal finally shows on that line is pytest's alone.
    line = next(line for line in text.split("\n") if "[100%]" in line)
    shown = ""
    for part in line.split("\r"):
        shown = part + shown[len(part) :]
    assert re.fullmatch(r"ws-routes \. +\[100%\]\s*", shown), repr(shown)
    assert "Stopped at the time limit after" in text
