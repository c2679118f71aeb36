"""Acceptance: an app that holds the GIL, which no thread of the process can interrupt, is
reported by the watcher process: as a ``no_hang`` finding of its route at the wait's timeout
plus the graces, and on Ctrl-C within a few seconds; the summary lists the finished routes and
those not run, and the JUnit file holds every finished route (and the stuck one). Under xdist
the stuck worker's crash report carries the finding, and the other routes run.

The regex below backtracks for longer than the universe's age inside ``re``'s C code, which
never releases the GIL: the process must be killed, so each run's exit status is SIGKILL's.
"""

from __future__ import annotations

import os
import re
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.acceptance.test_hangs import interrupt_at
from tests.conftest import STARLETTE_HEADER, RunRoutes

GIL_APP = (
    STARLETTE_HEADER
    + """
import re


async def backtracks(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    print("ROUTE STARTED", flush=True)
    re.match(r"(a+)+$", "a" * 40 + "b")  # holds the GIL for ever


app = Starlette(
    routes=[
        WebSocketRoute("/ws/a_echo", echo),
        WebSocketRoute("/ws/b_backtracks", backtracks),
        WebSocketRoute("/ws/z_echo", echo),
    ]
)
"""
)

# message_timeout (0.5 s here) + the in-process watchdog's grace (1 s) + the watcher's (1 s),
# and a second for the stack dump and a loaded machine.
REPORTED_WITHIN = 0.5 + 1.0 + 1.0 + 1.5


def junit_cases(path: Path) -> dict[str, list[str]]:
    """Each testcase's name and the tags inside it (failure, skipped, properties...)."""
    return {
        str(case.get("name")): [child.tag for child in case]
        for case in ET.parse(path).getroot().iter("testcase")
    }


def test_an_app_holding_the_gil_is_a_no_hang_finding_of_its_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    junit = pytester.path / "junit.xml"
    result = run_routes(GIL_APP, "--routes-max-examples", "5", f"--junitxml={junit}")
    out = result.stdout.str()
    assert result.ret == -signal.SIGKILL, out
    result.stdout.fnmatch_lines(
        [
            "ws_routes watcher: ws-routes::test_websocket[[]/ws/b_backtracks[]]",
            "WEBSOCKET TEST FAILURE: /ws/b_backtracks",
            "Check: no_hang",
            "Message: the app held the GIL for * s while waiting for *, longer than the 0.5 s "
            "(message_timeout) that wait allows*",
            "Where it was stuck (innermost call first, from faulthandler):",
            '*File "*re*", line * in match',
            '*File "*app.py", line * in backtracks',
            "PASSED ws-routes::test_websocket[[]/ws/a_echo[]]",
            "FAILED ws-routes::test_websocket[[]/ws/b_backtracks[]] - no_hang: the app held*",
            "NOT RUN (1): ws-routes::test_websocket[[]/ws/z_echo[]]",
            "== 1 passed, 1 failed, 1 not run in *s; the process was killed by ws_routes' "
            "watcher; JUnit: *junit.xml ==",
        ]
    )
    held = re.search(r"held the GIL for ([\d.]+) s", out)
    assert held is not None, out
    assert float(held.group(1)) < REPORTED_WITHIN, out
    assert junit_cases(junit) == {
        "test_websocket[/ws/a_echo]": ["properties"],
        "test_websocket[/ws/b_backtracks]": ["failure"],
    }


def test_ctrl_c_while_the_app_holds_the_gil_ends_the_run_within_seconds(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    junit = pytester.path / "junit.xml"
    took: list[float] = []
    out, code = interrupt_at(
        pytester, unicode_tables, GIL_APP, "--routes-max-examples", "5", "--routes-seed", "1",
        f"--junitxml={junit}", delay=1.0, took=took,
    )  # fmt: skip  # the delay: past the print, into the regex, whose C code holds the GIL
    assert code == -signal.SIGKILL, out
    assert took[0] < 6.0, out  # SIGINT_GRACE (2 s), the dump, and a loaded machine
    assert "INTERRUPTED ws-routes::test_websocket[/ws/b_backtracks] - no_hang: interrupted" in out
    assert "PASSED ws-routes::test_websocket[/ws/a_echo]" in out
    assert "the process was killed by ws_routes' watcher; JUnit: " in out
    # The finished route is in the JUnit file; an interrupted one is not, as with pytest's own.
    assert junit_cases(junit) == {"test_websocket[/ws/a_echo]": ["properties"]}


@pytest.mark.skipif(
    not os.environ.get("WS_ROUTES_SLOW_TESTS"),
    reason="7 s (the import deadline is 3 s at least): set WS_ROUTES_SLOW_TESTS=1",
)
def test_an_app_import_holding_the_gil_is_a_collection_error_at_its_deadline(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    # sum() over an endless iterator loops in C, holding the GIL and checking no signal: the
    # SIGALRM of the import's deadline is never handled, so only the watcher can end it.
    source = "import itertools\n\nsum(itertools.repeat(0))\napp = None\n"
    junit = pytester.path / "junit.xml"
    result = run_routes(source, "--routes-ws-timeout", "0.3", f"--junitxml={junit}")
    assert result.ret == -signal.SIGKILL, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "ws_routes watcher: ws-routes",
            "Message: the app held the GIL for * s while importing app module 'app', longer "
            "than the 3.0 s that deadline allows*",
            '*File "*app.py", line 3 in <module>',
            "ERROR ws-routes - no_hang: *",
        ]
    )
    assert junit_cases(junit) == {"ws-routes": ["error"]}


@pytest.mark.skipif(
    not os.environ.get("WS_ROUTES_SLOW_TESTS"),
    reason="20 s (two xdist workers and a replacement): set WS_ROUTES_SLOW_TESTS=1",
)
def test_under_xdist_the_stuck_worker_is_reported_with_the_finding_and_the_run_goes_on(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    junit = pytester.path / "junit.xml"
    result = run_routes(GIL_APP, "-n", "2", "--routes-max-examples", "5", f"--junitxml={junit}")
    result.assert_outcomes(passed=2, failed=1)  # xdist went on with the other routes
    result.stdout.fnmatch_lines(
        [
            "worker 'gw*' crashed while running 'ws-routes::test_websocket[[]/ws/b_backtracks[]]'"
            ": killed by ws_routes' watcher",
            "Message: the app held the GIL for * s while waiting for *",
        ]
    )
    cases = junit_cases(junit)
    assert cases["test_websocket[/ws/b_backtracks]"] == ["error"]  # xdist's crash report
    assert (
        cases["test_websocket[/ws/a_echo]"] == cases["test_websocket[/ws/z_echo]"] == ["properties"]
    )
