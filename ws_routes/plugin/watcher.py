"""The pytest side of the watcher process (:mod:`ws_routes.plugin.watchman`).

One watcher per pytest process that runs routes (the main one, or each xdist worker; not the
xdist controller, which runs no app). :func:`start` spawns it at configure time, before the app
is imported, and registers a :class:`WatcherPlugin` that keeps it informed:

- the vital signs (:mod:`ws_routes.app.vitals`), written by the loop thread and the app
  import's deadline into shared memory;
- ``signal.set_wakeup_fd`` pointed at a pipe to the watcher, so a SIGINT reaches it even when
  no Python code of this process can run;
- ``faulthandler.register`` on the watcher's dump signal, writing every thread's stack to
  another pipe to it;
- before each route, the JUnit file rewritten with every test finished so far (pytest's own
  writer, run early), so a process that must be killed leaves a complete file behind;
- each test's outcome and one-line finding, for the summary the watcher prints.

Where something is missing (no ``fork``/signals, as on Windows), no watcher starts and the
summary says that a GIL-holding app would go unreported; nothing waits on it either way.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import mmap
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from ws_routes.app import vitals

__all__ = ["WatcherPlugin", "start"]

_WATCHMAN = Path(__file__).with_name("watchman.py")
# How long the watcher gets to exit after ``bye`` before the session stops waiting for it.
_EXIT_WAIT = 1.0
NO_WATCHER_NOTE = (
    "ws_routes: no watcher process on this platform ({why}): an app that holds the GIL "
    "(a C call that never releases it) hangs the run instead of being reported"
)


def start(config: pytest.Config) -> None:
    """Spawn the watcher for this process and register the plugin that feeds it."""
    if _is_xdist_controller(config):
        notes = CrashNotes()
        config.pluginmanager.register(notes, "ws_routes_crash_notes")
        config.add_cleanup(notes.stop)
        return
    why = _missing()
    if why:
        config.pluginmanager.register(_NoWatcherNote(why), "ws_routes_no_watcher")
        return
    plugin = WatcherPlugin(config)
    config.pluginmanager.register(plugin, "ws_routes_watcher")
    config.add_cleanup(plugin.stop)


def _is_xdist_controller(config: pytest.Config) -> bool:
    worker = hasattr(config, "workerinput")
    return not worker and str(config.getoption("dist", "no") or "no") != "no"


def _missing() -> str:
    if not hasattr(faulthandler, "register") or not hasattr(os, "set_blocking"):
        return "no faulthandler.register"
    if not hasattr(signal, "SIGKILL"):
        return "no SIGKILL"
    return ""


# The folder where xdist workers' watchers leave their findings, set by the controller for the
# workers it spawns (they inherit its environment).
NOTES_ENV = "WS_ROUTES_WATCHER_NOTES"


class CrashNotes:
    """On xdist's controller: a worker its watcher killed is reported with the watcher's finding,
    not only as "worker 'gw1' crashed while running ..." (the terminal and JUnit show both)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="ws-routes-notes-")
        self._previous = os.environ.get(NOTES_ENV)
        os.environ[NOTES_ENV] = self.folder

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", None)
        path = os.path.join(self.folder, f"{worker}.json")
        try:
            with open(path, encoding="utf-8") as file:
                note = json.load(file)
            os.unlink(path)
        except (OSError, ValueError):
            return  # not killed by its watcher: xdist's own words stand
        if note.get("nodeid") == crashitem:
            report.longrepr = f"{report.longrepr}: killed by ws_routes' watcher\n\n{note['text']}"

    def stop(self) -> None:
        if self._previous is None:
            os.environ.pop(NOTES_ENV, None)
        else:
            os.environ[NOTES_ENV] = self._previous
        shutil.rmtree(self.folder, ignore_errors=True)


class _NoWatcherNote:
    def __init__(self, why: str) -> None:
        self.note = NO_WATCHER_NOTE.format(why=why)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(self.note)


class WatcherPlugin:
    """Spawns the watcher, and tells it what it needs as the session goes."""

    def __init__(self, config: pytest.Config) -> None:
        from ws_routes.plugin.watchman import DUMP_SIGNAL

        self.config = config
        # Unlinked at once; its fd goes to the watcher, and both map it (closed in stop()).
        self._shm_file = tempfile.TemporaryFile()  # noqa: SIM115
        self._shm_file.truncate(vitals.SIZE)
        self._shm = mmap.mmap(self._shm_file.fileno(), vitals.SIZE)
        # Written ("nothing runs") before the watcher can read it.
        self._vitals = vitals.Vitals(self._shm)
        wake_r, self._wake_w = os.pipe()
        dump_r, self._dump_w = os.pipe()
        os.set_blocking(self._wake_w, False)  # set_wakeup_fd requires it; a full pipe drops bytes
        worker = hasattr(config, "workerinput")
        # A worker's stdout is execnet's channel: the watcher speaks on stderr there.
        out = sys.__stderr__ if worker else sys.__stdout__
        self._stdout = os.dup(out.fileno() if out is not None else 2)
        junit = None if worker else config.getoption("xmlpath", None)
        self._junit = os.path.abspath(junit) if junit else None
        worker_id = getattr(config, "workerinput", {}).get("workerid")
        notes = os.environ.get(NOTES_ENV)
        note = os.path.join(notes, f"{worker_id}.json") if worker_id and notes else None
        fds = (self._shm_file.fileno(), wake_r, dump_r, self._stdout)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_WATCHMAN), str(_WATCHMAN.parents[2])],
            stdin=subprocess.PIPE,
            pass_fds=fds,
            start_new_session=True,  # a terminal's Ctrl-C is this process's to answer
        )
        os.close(wake_r)
        os.close(dump_r)
        self._send(op="init", pid=os.getpid(), out=self._stdout, shm=fds[0], wake=fds[1],
                   dump=fds[2], junit=self._junit,
                   worker=worker_id, note=note)  # fmt: skip
        self._signal = DUMP_SIGNAL
        faulthandler.register(DUMP_SIGNAL, file=self._dump_w, all_threads=True, chain=False)
        self._previous_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._outer = vitals.current()  # a session running inside another one (pytester)
        vitals.install(self._vitals)
        self._stopped = False

    def _send(self, **message: Any) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.closed:
            return
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
            stdin.flush()
        except OSError:
            pass  # the watcher is gone: the run goes on unwatched

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._send(op="items", nodeids=[item.nodeid for item in session.items])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        from ws_routes.plugin.item import WebSocketRouteItem

        if not isinstance(item, WebSocketRouteItem):
            return
        self._rewrite_junit()
        self._claim_wakeup_fd()
        settings = item.route.settings
        classname, name = _junit_names(self.config, item.nodeid)
        self._send(
            op="route",
            nodeid=item.nodeid,
            path=item.route.path,
            at=time.monotonic(),
            classname=classname,
            name=name,
            timeouts={
                "message_timeout": settings.message_timeout,
                "connection_timeout": settings.connection_timeout,
            },
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            line = ""
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                first = str(getattr(crash, "message", "") or "").splitlines()[:1]
                line = first[0][:80] if first else ""
            self._send(op="done", nodeid=report.nodeid, outcome=report.outcome, line=line)

    def pytest_keyboard_interrupt(self) -> None:
        self._send(op="interrupted")

    def _rewrite_junit(self) -> None:
        """Pytest's JUnit file as it would be now, so a killed process leaves every finished
        test in it (pytest writes it only at the session's end)."""
        if self._junit is None:
            return
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        try:
            xml.pytest_sessionfinish()
        except Exception:  # pytest's internals moved: the file is then written at the end only
            self._junit = None

    def _claim_wakeup_fd(self) -> None:
        """Point the wakeup fd at the watcher again, unless someone else set one since."""
        try:
            old = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            return
        if old not in (-1, self._wake_w):
            signal.set_wakeup_fd(old)  # theirs (an asyncio loop's): leave it

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        vitals.install(self._outer)
        with contextlib.suppress(ValueError):  # not the main thread
            signal.set_wakeup_fd(self._previous_wakeup)
        faulthandler.unregister(self._signal)
        self._send(op="bye")
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(_EXIT_WAIT)
        for fd in (self._wake_w, self._dump_w, self._stdout):
            os.close(fd)
        self._shm.close()
        self._shm_file.close()


def _junit_names(config: pytest.Config, nodeid: str) -> tuple[str, str]:
    """The classname and name pytest's JUnit writer gives ``nodeid``."""
    from _pytest.junitxml import mangle_test_address

    names = mangle_test_address(nodeid)
    prefix = config.getoption("junitprefix", None)
    classnames = ([prefix] if prefix else []) + names[:-1]
    return ".".join(classnames), names[-1]
