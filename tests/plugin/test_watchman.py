"""The watcher process's decisions and what it writes: the stuck frames, the finding, JUnit."""

from __future__ import annotations

import math
import mmap
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from ws_routes.app import vitals
from ws_routes.plugin import watchman

DUMP = """\
Thread 0x00007f0000000002 (most recent call first):
  File "/usr/lib/python3.11/re/__init__.py", line 166 in match
  File "/project/app.py", line 28 in backtracks
  File "/venv/lib/site-packages/starlette/routing.py", line 82 in app
  File "/venv/lib/site-packages/starlette/applications.py", line 96 in __call__
  File "/venv/lib/site-packages/ws_routes/driver/asgi.py", line 50 in run
  File "/venv/lib/site-packages/ws_routes/driver/loop.py", line 300 in _run_here

Current thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 331 in wait
  File "/venv/lib/site-packages/_pytest/main.py", line 1 in main
"""


def test_the_stuck_frames_are_the_loop_threads_down_to_the_apps_outermost() -> None:
    frames = watchman._app_frames(DUMP.replace("/", os.sep))
    assert [f.split(os.sep)[-1] for f in frames[:2]] == [
        '__init__.py", line 166 in match',
        'app.py", line 28 in backtracks',
    ]
    assert frames[2:] == ["... 2 more frame(s) of libraries"]


def test_a_dump_without_the_loop_thread_is_shown_as_it_is() -> None:
    dump = 'Current thread 0x1 (most recent call first):\n  File "x.py", line 1 in f\n'
    assert watchman._app_frames(dump) == dump.splitlines()


def test_the_finding_names_the_wait_and_its_timeout() -> None:
    route = {"timeouts": {"message_timeout": 0.5, "connection_timeout": 2.0}}
    text = watchman._finding(0.5, "waiting for a reply", 2.61, "stall", route)
    assert text.startswith(
        "the app held the GIL for 2.6 s while waiting for a reply, longer than the 0.5 s "
        "(message_timeout) that wait allows: "
    )
    interrupted = watchman._finding(math.nan, "", None, "sigint", {})
    assert interrupted.startswith("interrupted (SIGINT) while the app held the GIL: ")


def test_the_stuck_route_is_added_to_the_junit_file_pytest_wrote(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
        '<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1" time="1.0">'
        '<testcase classname="ws-routes" name="test_websocket[/ws/a]" time="0.5"/>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    route = {"nodeid": "ws-routes::test_websocket[/ws/b]", "classname": "ws-routes",
             "name": "test_websocket[/ws/b]", "at": time.monotonic() - 2}  # fmt: skip
    watchman._complete_junit(str(junit), route, "the app held the GIL", "body")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    stuck = suite.findall("testcase")[1]
    assert stuck.get("name") == "test_websocket[/ws/b]"
    assert float(stuck.get("time", "0")) >= 2
    failure = stuck.find("failure")
    assert failure is not None
    assert failure.get("message") == "no_hang: the app held the GIL"
    assert failure.text == "body"


def test_without_a_junit_file_one_is_written_holding_the_stuck_collection(tmp_path: Path) -> None:
    junit = tmp_path / "missing.xml"
    route = {"nodeid": watchman.COLLECTION, "name": watchman.COLLECTION}
    watchman._complete_junit(str(junit), route, "import stuck", "body")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    case = suite.find("testcase")
    assert case is not None
    assert case.find("error") is not None


@pytest.fixture
def watch() -> Iterator[tuple[watchman.Watch, vitals.Vitals]]:
    with tempfile.TemporaryFile() as shared:
        shared.truncate(vitals.SIZE)
        block = mmap.mmap(shared.fileno(), vitals.SIZE)
        signs = vitals.Vitals(block)
        init = {"pid": os.getpid(), "out": 1, "shm": shared.fileno(), "wake": -1, "dump": -1}
        yield watchman.Watch(init), signs
        block.close()


def test_the_watcher_acts_only_past_the_in_process_watchdogs_moment_plus_its_grace(
    watch: tuple[watchman.Watch, vitals.Vitals],
) -> None:
    watcher, signs = watch
    owner = object()
    assert watcher.deaf(time.monotonic()) is None  # idle: nothing of the app's runs
    signs.running(owner, beat=100.0, hard=200.0)
    signs.wait(owner, beat=100.0, limit=0.5, grace=1.0, during="waiting for a reply")
    assert watcher.deaf(101.5 + watchman.GRACE - 0.01) is None  # the in-process one acts first
    assert watcher.deaf(101.5 + watchman.GRACE + 0.01) == "stall"
    signs.idle(owner)  # the in-process watchdog reported it
    assert watcher.deaf(1e9) is None


def test_an_unanswered_sigint_while_the_app_runs_ends_the_process(
    watch: tuple[watchman.Watch, vitals.Vitals],
) -> None:
    watcher, signs = watch
    owner = object()
    signs.running(owner, beat=100.0, hard=1e9)
    watcher.sigint = 100.0
    assert watcher.deaf(100.0 + watchman.SIGINT_GRACE - 0.01) is None
    assert watcher.deaf(100.0 + watchman.SIGINT_GRACE + 0.01) == "sigint"
    watcher.message({"op": "interrupted"})  # pytest answered it itself
    assert watcher.deaf(100.0 + watchman.SIGINT_GRACE + 0.01) is None


def test_messages_keep_what_the_summary_needs(watch: tuple[watchman.Watch, vitals.Vitals]) -> None:
    watcher, _ = watch
    watcher.message({"op": "items", "nodeids": ["a", "b", "c"]})
    watcher.message({"op": "done", "nodeid": "a", "outcome": "passed"})
    watcher.message({"op": "route", "nodeid": "b", "path": "/ws/b"})
    lines = watchman._summary(watcher, "b", "the app held the GIL", "stall")
    assert lines[2:5] == [
        "PASSED a",
        "FAILED b - no_hang: the app held the GIL",
        "NOT RUN (1): c",
    ]
    assert lines[-1].startswith("== 1 passed, 1 failed, 1 not run in ")


def test_a_stopped_process_is_not_taken_for_a_deaf_one() -> None:
    import signal
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not watchman._stopped(child.pid)
        child.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not watchman._stopped(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watchman._stopped(child.pid)
    finally:
        child.kill()
        child.wait()
