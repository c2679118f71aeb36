"""Acceptance: hostile apps. Hangs are found at the configured timeouts, faults stay in their
route, app imports and factories that block or exit are located collection errors, and Ctrl-C
ends the run with pytest's interrupted summary.

Every inner run is bounded by ``run_routes``' pytester timeout (60 s): "the run finished" is the
upper bound these tests assert, never a measured duration.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import QUIET_ARGS, STARLETTE_HEADER, RunRoutes, seed_hypothesis_dir

SMALL = ("--routes-max-examples", "10")


def failure_block(lines: list[str], route: str) -> list[str]:
    """The lines of the failure report of ``route``, from its title up to its closing rule."""
    start = lines.index(f"WEBSOCKET TEST FAILURE: {route}")
    return lines[start : lines.index("=" * 60, start + 2)]


FAULTS_APP = (
    STARLETTE_HEADER
    + """
import os
import time


class Custom(BaseException):
    pass


async def interrupts(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    raise KeyboardInterrupt


async def exits(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    raise SystemExit(2)


async def custom(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    raise Custom("own BaseException")


async def hard_exit(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    os._exit(3)


async def in_a_task(ws: WebSocket) -> None:
    async def worker() -> None:
        raise KeyboardInterrupt

    await ws.accept()
    await ws.receive()
    asyncio.get_running_loop().create_task(worker())
    await echo_accepted(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/a_interrupts", interrupts),
        WebSocketRoute("/ws/b_exits", exits),
        WebSocketRoute("/ws/c_custom", custom),
        WebSocketRoute("/ws/d_hard_exit", hard_exit),
        WebSocketRoute("/ws/e_in_a_task", in_a_task),
        WebSocketRoute("/ws/z_echo", echo),
    ]
)
"""
)


def test_base_exceptions_of_the_app_are_findings_of_their_route(run_routes: RunRoutes) -> None:
    result = run_routes(FAULTS_APP, *SMALL)
    out = result.stdout.str()
    result.assert_outcomes(failed=5, passed=1)  # the session went on: the healthy route ran
    assert "Message: the app raised KeyboardInterrupt" in out
    assert "Message: the app raised SystemExit: 2" in out
    assert "Message: the app raised Custom: own BaseException" in out
    assert "os._exit(3) was called" in out
    assert "a task the app started raised KeyboardInterrupt" in out
    # A BaseException of the app's own is what it is, not an abnormal closure.
    assert "1006" not in "\n".join(failure_block(result.outlines, "/ws/c_custom"))
    assert "INTERNALERROR" not in out


SLEEPY_APP = (
    STARLETTE_HEADER
    + """
import time


async def blocks_forever(ws: WebSocket) -> None:
    await ws.accept()
    time.sleep(1000)


async def sleeps_each_connection(ws: WebSocket) -> None:
    await ws.accept()
    time.sleep(8)  # under every hard deadline, far over message_timeout
    await echo_accepted(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/a_forever", blocks_forever),
        WebSocketRoute("/ws/b_sleeps", sleeps_each_connection),
        WebSocketRoute("/ws/z_echo", echo),
    ]
)
"""
)


def test_a_blocked_loop_is_reported_at_the_timeout_and_later_routes_run(
    run_routes: RunRoutes,
) -> None:
    # Before, each of these routes cost its hard deadline (or was never reported) and the run
    # did not finish within the pytester timeout.
    result = run_routes(SLEEPY_APP, *SMALL, "--routes-ws-timeout", "5")
    # The failure reports only: under CI=true pytest's short summary repeats each one whole.
    out = result.stdout.str().split("short test summary info")[0]
    result.assert_outcomes(failed=2, passed=1)
    assert out.count("Message: the app blocked the event loop for ") == 2
    assert "longer than the 0.5 s (message_timeout) that wait allows" in out
    assert "elapsed_time_ms: 0.0" not in out


BLOCKING_IMPORT = """
import time
from starlette.applications import Starlette

time.sleep(1000)
app = Starlette()
"""

EXITING_FACTORY = """
import sys
from starlette.applications import Starlette

def create_app():
    sys.exit("no config")
"""

INTERRUPTING_IMPORT = """
raise KeyboardInterrupt
"""


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (
            BLOCKING_IMPORT,
            "app:app",
            "ws_routes: importing app module 'app' did not finish within 3.0 s (at *app.py:4)*",
        ),
        (
            EXITING_FACTORY,
            "app:create_app()",
            "ws_routes: the app factory 'app:create_app()' called sys.exit('no config') (at *app.py:5)*",
        ),
        (
            INTERRUPTING_IMPORT,
            "app:app",
            "ws_routes: importing app module 'app' raised KeyboardInterrupt (at *app.py:1)*",
        ),
    ],
    ids=["blocking-import", "exiting-factory", "interrupting-import"],
)
def test_app_loading_faults_are_located_collection_errors(
    run_routes: RunRoutes, source: str, target: str, message: str
) -> None:
    result = run_routes(source, "--routes-app", target, "--routes-ws-timeout", "0.3")
    result.stdout.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # pytest's code for collection errors


LIFESPAN_EXIT = """
from contextlib import asynccontextmanager
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


@asynccontextmanager
async def lifespan(app):
    raise SystemExit(4)
    yield


async def echo(ws):
    await ws.accept()


app = Starlette(routes=[WebSocketRoute("/ws/echo", echo)], lifespan=lifespan)
"""


def test_a_lifespan_raising_system_exit_fails_the_route(run_routes: RunRoutes) -> None:
    result = run_routes(LIFESPAN_EXIT, *SMALL)
    result.assert_outcomes(failed=1)
    # Starlette reports the exception as lifespan.startup.failed with its traceback.
    result.stdout.fnmatch_lines(
        ["lifespan startup failed: *", "*raise SystemExit(4)", "SystemExit: 4"]
    )
    assert "INTERNALERROR" not in result.stdout.str()


INTERRUPTIBLE_APP = """
import time
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


async def spins(ws):
    await ws.accept()
    print("ROUTE STARTED", flush=True)
    while True:
        pass


async def sleeps(ws):
    await ws.accept()
    print("ROUTE STARTED", flush=True)
    time.sleep(1000)


async def a_echo(ws):
    await ws.accept()
    while (message := await ws.receive())["type"] != "websocket.disconnect":
        if message.get("text") is not None:
            await ws.send_text(message["text"])
        else:
            await ws.send_bytes(message["bytes"])


app = Starlette(
    routes=[
        WebSocketRoute("/ws/a_echo", a_echo),
        WebSocketRoute("/ws/spins", spins),
        WebSocketRoute("/ws/sleeps", sleeps),
    ]
)
"""


@pytest.mark.parametrize("route", ["/ws/spins", "/ws/sleeps"])
def test_ctrl_c_mid_route_ends_the_run_with_the_interrupted_summary(
    pytester: pytest.Pytester, unicode_tables: Path, route: str
) -> None:
    junit = pytester.path / "junit.xml"
    out, code = interrupt_at(
        pytester, unicode_tables, INTERRUPTIBLE_APP, "--routes-ws-include", f"/ws/a_echo,{route}",
        "--routes-max-examples", "5", f"--junitxml={junit}",
    )  # fmt: skip
    assert code == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out
    assert "INTERNALERROR" not in out
    # The summary and the JUnit file hold the route that finished before the interruption.
    assert "Route: /ws/a_echo   [passed]" in out
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert "test_websocket[/ws/a_echo]" in names


def test_ctrl_c_during_a_slow_import_interrupts_instead_of_failing_collection(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    slow = 'import time\nprint("ROUTE STARTED", flush=True)\ntime.sleep(1000)\napp = None\n'
    out, code = interrupt_at(pytester, unicode_tables, slow)
    assert code == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out
    assert "raised KeyboardInterrupt" not in out  # a real Ctrl-C, not the app's doing


def interrupt_at(
    pytester: pytest.Pytester,
    unicode_tables: Path,
    app: str,
    *args: str,
    delay: float = 0.0,
    took: list[float] | None = None,
) -> tuple[str, int]:
    """Run pytest on ``app`` in a subprocess, send SIGINT ``delay`` seconds after it prints
    ``ROUTE STARTED``, and return its output and exit code (and append to ``took`` how long it
    ran after the SIGINT); every wait is bounded."""
    pytester.makeini("[pytest]\n")
    seed_hypothesis_dir(pytester.path, unicode_tables)
    pytester.makepyfile(app=textwrap.dedent(app))
    command = [
        sys.executable, "-m", "pytest", *QUIET_ARGS, "-s", "--routes-websocket",
        "--routes-app", "app:app", "--routes-ws-timeout", "60",
        "--routes-ws-message-timeout", "60", *args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"ROUTE STARTED" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break  # the run ended before the marker: the assertion below says so
                seen += chunk
        assert b"ROUTE STARTED" in seen, seen.decode(errors="replace")
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        rest, _ = process.communicate(timeout=20)  # "within a few seconds", generously bounded
        if took is not None:
            took.append(time.monotonic() - interrupted)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return (seen + rest).decode(errors="replace"), process.returncode
