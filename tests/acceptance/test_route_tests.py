"""Acceptance: ``ws_routes.testing.route_test`` gives a route as an ordinary @given test that
pytest runs (with the plugin's report on failure), pytest-xdist distributes and HypoFuzz fuzzes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import QUIET_ARGS, STARLETTE_HEADER, seed_hypothesis_dir

APP = (
    STARLETTE_HEADER
    + """

async def count(ws: WebSocket) -> None:
    await ws.accept()
    with open("connections.log", "a") as log:  # how many examples ran, for the fuzzing test
        log.write("connection\\n")
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        n = json.loads(message["text"])["n"]
        if n > LIMIT:
            raise ValueError("n is too big")
        await ws.send_text(json.dumps({"n": n + 1}))


LIMIT = 1000
app = Starlette(routes=[WebSocketRoute("/ws/count", count), WebSocketRoute("/ws/echo", echo)])
"""
)

SPEC = """\
version: 1
settings: {max_examples: 25, max_messages: 3, message_timeout: 0.5, connection_timeout: 2}
routes:
  "/ws/count":
    messages:
      inc:
        kind: json
        schema: {type: object, properties: {n: {type: integer, minimum: 0, maximum: 1000}}, required: [n], additionalProperties: false}
        reply: [count]
    replies:
      count: {kind: json, schema: {type: object, properties: {n: {type: integer}}, required: [n]}}
    invalid: {enabled: false}
  "/ws/echo":
    messages:
      say: {kind: text, reply: [echo]}
    replies:
      echo: {kind: text}
    invalid: {enabled: false}
"""

TESTS = """\
from ws_routes.testing import route_test

test_count = route_test("ws-routes.yaml", "/ws/count", app="app:app")
test_echo = route_test("ws-routes.yaml", "/ws/echo", app="app:app")
"""


def project(folder: Path, unicode_tables: Path, *, limit: int = 1000) -> None:
    (folder / "app.py").write_text(APP.replace("LIMIT = 1000", f"LIMIT = {limit}"), "utf-8")
    (folder / "ws-routes.yaml").write_text(SPEC, "utf-8")
    (folder / "test_routes.py").write_text(TESTS, "utf-8")
    seed_hypothesis_dir(folder, unicode_tables)


def test_a_failing_route_test_is_shrunk_and_shows_the_plugins_report(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    project(pytester.path, unicode_tables, limit=100)
    result = pytester.runpytest_subprocess(
        *QUIET_ARGS, "-p", "no:xdist", "test_routes.py", timeout=60
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no_server_error*",
            "*Transcript (1 message(s) sent, minimal after shrinking):",
            '*> json {"n": *}*[[]inc[]]',
            "*x close 1011*",
            "*ValueError: n is too big",
            "*pytest 'test_routes.py::test_count'",
            "*from ws_routes import replay*",
            "FAILED test_routes.py::test_count - *",
        ]
    )
    # No patch adding the example to the @given function: that one is inside ws_routes.
    assert "to add failing test cases to your code" not in result.stdout.str()


@pytest.mark.skipif(
    not os.environ.get("WS_ROUTES_SLOW_TESTS"),
    reason="two xdist workers start for ~10 s: set WS_ROUTES_SLOW_TESTS=1",
)
def test_pytest_xdist_spreads_route_tests_over_workers(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    project(pytester.path, unicode_tables)
    result = pytester.runpytest_subprocess(
        *QUIET_ARGS, "-n", "2", "-v", "test_routes.py", timeout=90
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "[[]gw?[]] *PASSED test_routes.py::test_count*",
            "[[]gw?[]] *PASSED test_routes.py::test_echo*",
        ]
    )


def test_hypofuzz_collects_route_tests_and_runs_their_examples(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    pytest.importorskip("hypofuzz", reason="HypoFuzz is not installed (.ci/fuzz installs it)")
    project(pytester.path, unicode_tables)
    # HypoFuzz's command line (the `fuzz` extra, in `test` too), from this interpreter's venv.
    hypothesis = Path(sys.executable).parent / "hypothesis"
    command = [str(hypothesis), "fuzz", "-n", "1", "--no-dashboard"]
    command += ["--", "test_routes.py::test_count", *QUIET_ARGS]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    log = pytester.path / "connections.log"
    fuzz = subprocess.Popen(
        command,
        cwd=pytester.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers are its children: stopped with it, as a group
    )
    try:
        deadline = time.monotonic() + 40
        # Fuzzing never ends on its own: wait until enough examples ran, or the deadline.
        while time.monotonic() < deadline and fuzz.poll() is None:
            if log.exists() and len(log.read_text("utf-8").splitlines()) >= 30:
                break
            time.sleep(0.5)
    finally:
        if fuzz.poll() is None:
            os.killpg(fuzz.pid, signal.SIGINT)
        try:
            output, _ = fuzz.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(fuzz.pid, signal.SIGKILL)
            output, _ = fuzz.communicate(timeout=15)
    assert "using 1 process to fuzz 1 test" in output, output
    assert log.exists(), output
    assert len(log.read_text("utf-8").splitlines()) >= 30, output
