"""The watcher process: ends a pytest process that an app's GIL-holding C call made deaf.

Started by :mod:`ws_routes.plugin.watcher` as ``python -I -S watchman.py ROOT`` (the standard
library only, so it starts in milliseconds and shares nothing with the app), one per pytest
process (each xdist worker has its own). It reads:

- JSON lines on stdin: ``init`` (pid, fds, the JUnit path), ``items`` (what was collected),
  ``route`` (a route starts: its node id, timeouts, JUnit names), ``done`` (a test finished:
  outcome and one-line finding), ``interrupted`` (pytest handled a Ctrl-C itself), ``bye``;
- the vital signs in shared memory (:mod:`ws_routes.app.vitals`): is the app being waited
  for, and how long may that wait stay silent;
- the signal numbers Python's C-level handler writes to ``signal.set_wakeup_fd``, which needs
  no GIL: a SIGINT the process then fails to answer is seen here.

It acts in two cases, each only when the process shows no sign of life: the vital signs stay
put past the current wait's limit plus the in-process watchdog's grace plus :data:`GRACE`, or a
SIGINT gets no answer within :data:`SIGINT_GRACE` while the app runs. Then it asks faulthandler
(registered on :data:`DUMP_SIGNAL` by the client; faulthandler writes from its C handler,
without the GIL) for every thread's stack, kills the process (SIGKILL: a process whose GIL is
held cannot be asked to exit), prints the stuck route's ``no_hang`` finding, the finished
routes and those not run, and adds the finding to the JUnit file, which the process rewrote as
each route started, so it already holds every finished test. An xdist worker's watcher leaves
the finding in a file for the controller first (``plugin.watcher.CrashNotes``). On EOF without
``bye`` while a route runs (the process died otherwise: SIGKILL, a segfault) it says so.
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import os
import select
import signal
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

if __name__ == "__main__":  # run by path: the package is importable from ROOT
    sys.path.insert(0, sys.argv[1])

from ws_routes.app.vitals import SIZE, read

# How far past the in-process watchdog's moment the watcher waits before it acts: that
# watchdog reports and recovers whenever the GIL is free, so it must always come first.
GRACE = 1.0
# How long a SIGINT may go unanswered while the app runs before the process counts as deaf.
SIGINT_GRACE = 2.0
# How often the vital signs are read.
POLL = 0.1
# How long the stack dump may take, and the quiet that ends it.
DUMP_WAIT, DUMP_QUIET = 2.0, 0.3
# The signal the client registers faulthandler on: a real-time one, which apps leave alone.
DUMP_SIGNAL = int(getattr(signal, "SIGRTMIN", signal.SIGUSR2)) + (
    6 if hasattr(signal, "SIGRTMIN") else 0
)


class Watch:
    """What the watcher holds of the session, and its decisions."""

    def __init__(self, init: dict[str, Any]) -> None:
        self.pid = int(init["pid"])
        self.out = int(init["out"])
        self.junit: str | None = init.get("junit")
        # An xdist worker's id: it runs only its share of the items, and xdist carries on.
        self.worker: str | None = init.get("worker")
        # Where an xdist worker's watcher leaves its finding for the controller.
        self.note: str | None = init.get("note")
        self.vitals = mmap.mmap(int(init["shm"]), SIZE, access=mmap.ACCESS_READ)
        self.wake = int(init["wake"])
        self.dump = int(init["dump"])
        self.started = time.monotonic()
        self.items: list[str] = []
        self.done: dict[str, tuple[str, str]] = {}
        self.route: dict[str, Any] | None = None
        self.sigint: float | None = None
        # Until when silence is excused: the process was seen stopped (see _stopped).
        self.hold = 0.0

    def message(self, data: dict[str, Any]) -> None:
        op = data.get("op")
        if op == "items":
            self.items = [str(n) for n in data["nodeids"]]
        elif op == "route":
            self.route = data
        elif op == "done":
            self.done[str(data["nodeid"])] = (str(data["outcome"]), str(data.get("line", "")))
        elif op == "interrupted":
            self.sigint = None  # answered: pytest is ending the run itself

    def deaf(self, now: float) -> str | None:
        """Why the process must be ended now, or None."""
        first, second = read(self.vitals), read(self.vitals)
        if first.raw != second.raw:
            return None  # being written: alive
        overdue = second.overdue_at()
        if overdue == math.inf:
            return None  # nothing of the app's runs: our own code, which reacts
        if (now > overdue + GRACE or self.sigint is not None) and _stopped(self.pid):
            # Ctrl-Z, or a debugger holds it: silence is not deafness then, nor just after it
            # resumes, before its heartbeat has run again.
            self.hold = now + 2 * GRACE
        if now < self.hold:
            return None
        if now > overdue + GRACE:
            return "stall"
        if self.sigint is not None and now > self.sigint + SIGINT_GRACE:
            return "sigint"
        return None


def _stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped (SIGSTOP, Ctrl-Z) or held by a tracer; False where
    ``/proc`` is missing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) S ...": the state follows the last ")" (comm may hold one).
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in (b"T", b"t")


def main() -> int:
    buffered = b""
    watch: Watch | None = None
    while True:
        fds = [0] + ([watch.wake] if watch is not None else [])
        ready, _, _ = select.select(fds, [], [], POLL)
        if 0 in ready:
            chunk = os.read(0, 65536)
            if not chunk:
                if watch is not None:
                    watch_ended(watch)
                return 0
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                data = json.loads(line)
                if data.get("op") == "bye":
                    return 0
                if data.get("op") == "init":
                    watch = Watch(data)
                elif watch is not None:
                    watch.message(data)
        if watch is None:
            continue
        if watch.wake in ready:
            received = os.read(watch.wake, 512)
            if signal.SIGINT in received and watch.sigint is None:
                watch.sigint = time.monotonic()
        why = watch.deaf(time.monotonic())
        if why is not None:
            end(watch, why)
            return 0


def watch_ended(watch: Watch) -> None:
    """The process closed the pipe without ``bye``: it died while we watched."""
    route = watch.route
    if route is not None and str(route["nodeid"]) not in watch.done:
        _write(
            watch.out,
            f"\nws_routes watcher: the pytest process ended while {route['nodeid']} ran, without "
            "a report (killed, or a crash in C code); "
            + (f"{watch.junit} holds the tests finished before it\n" if watch.junit else "\n"),
        )


def end(watch: Watch, why: str) -> None:
    snapshot = read(watch.vitals)
    stack = _dump(watch)
    silent = time.monotonic() - snapshot.beat if not math.isnan(snapshot.beat) else None
    route = watch.route
    if route is not None and str(route["nodeid"]) in watch.done:
        route = None  # it finished: what got stuck is collection's (the app's import, factory)
    if route is None and not math.isnan(snapshot.hard):
        allowed = round(snapshot.hard - snapshot.beat, 3)  # the import deadline: no wait limit
        finding = _finding(allowed, snapshot.during, silent, why, {}, "that deadline allows")
    else:
        finding = _finding(snapshot.limit, snapshot.during, silent, why, route or {})
    where = _app_frames(stack)
    name = str(route["nodeid"]) if route else COLLECTION
    lines = ["", "=" * 60, f"ws_routes watcher: {name}"]
    if route:
        lines += [f"WEBSOCKET TEST FAILURE: {route['path']}", "Check: no_hang"]
    lines.append(f"Message: {finding}")
    if where:
        lines.append("Where it was stuck (innermost call first, from faulthandler):")
        lines += [f"  {frame}" for frame in where]
    lines.append("=" * 60)
    if watch.note:
        # Before the kill: xdist's controller reads it as soon as it sees the worker die.
        _write_note(watch.note, name, "\n".join(lines[3:-1]))
    with contextlib.suppress(ProcessLookupError):  # it died meanwhile
        os.kill(watch.pid, signal.SIGKILL)
    lines += _summary(watch, name, finding, why)
    _write(watch.out, "\n".join(lines) + "\n")
    if watch.junit and why == "stall":
        text = "\n".join([finding, "", *where])
        _complete_junit(
            watch.junit, route or {"nodeid": COLLECTION, "name": COLLECTION}, finding, text
        )


# The node id of ws_routes' collector, which imports the app: pytest reports its errors under it.
COLLECTION = "ws-routes"


def _write_note(path: str, nodeid: str, text: str) -> None:
    """The finding, for xdist's controller (see ``plugin.watcher.CrashNotes``)."""
    with contextlib.suppress(OSError):
        with open(path + ".part", "w", encoding="utf-8") as file:
            json.dump({"nodeid": nodeid, "text": text}, file)
        os.replace(path + ".part", path)  # whole or not at all


def _finding(
    limit: float,
    during: str,
    silent: float | None,
    why: str,
    route: dict[str, Any],
    allows: str = "that wait allows",
) -> str:
    allowed = ""
    if not math.isnan(limit):
        names = [n for n, v in route.get("timeouts", {}).items() if v == limit]
        allowed = f", longer than the {limit} s{f' ({names[0]})' if names else ''} {allows}"
    how_long = f" for {silent:.1f} s" if silent is not None else ""
    while_ = f" while {during}" if during else ""
    if why == "sigint":
        return (
            f"interrupted (SIGINT) while the app held the GIL{how_long}{while_}: no thread of "
            "the process could run to stop it, so ws_routes' watcher process ended it"
        )
    return (
        f"the app held the GIL{how_long}{while_}{allowed}: no thread of the process could run, "
        "not even ws_routes' watchdog, so its watcher process ended the run (a C call that does "
        "not release the GIL: a backtracking regex, ctypes.PyDLL, a C extension?)"
    )


def _summary(watch: Watch, name: str, finding: str, why: str) -> list[str]:
    counts: dict[str, int] = {}
    lines = ["", "short test summary info (from ws_routes' watcher)"]
    for nodeid, (outcome, line) in watch.done.items():
        counts[outcome] = counts.get(outcome, 0) + 1
        lines.append(f"{outcome.upper()} {nodeid}" + (f" - {line}" if line else ""))
    stuck = "INTERRUPTED" if why == "sigint" else "ERROR" if name == COLLECTION else "FAILED"
    lines.append(f"{stuck} {name} - no_hang: {finding[:80]}")
    counts[stuck.lower()] = counts.get(stuck.lower(), 0) + 1
    not_run = [n for n in watch.items if n not in watch.done and n != name]
    if watch.worker:
        lines.append(
            f"== xdist worker {watch.worker}: {', '.join(f'{n} {k}' for k, n in counts.items())}; "
            "it was killed by ws_routes' watcher (xdist reports it as crashed and goes on) =="
        )
        return lines
    if not_run:
        lines.append(f"NOT RUN ({len(not_run)}): " + ", ".join(not_run[:20]))
        counts["not run"] = len(not_run)
    took = time.monotonic() - watch.started
    total = ", ".join(f"{n} {k}" for k, n in counts.items())
    junit = f"; JUnit: {watch.junit}" if watch.junit else ""
    lines.append(
        f"== {total} in {took:.1f}s; the process was killed by ws_routes' watcher{junit} =="
    )
    return lines


def _dump(watch: Watch) -> str:
    """Every thread's stack, written by faulthandler's C handler in the stuck process."""
    try:
        os.kill(watch.pid, DUMP_SIGNAL)
    except ProcessLookupError:
        return ""
    data = b""
    deadline = time.monotonic() + DUMP_WAIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([watch.dump], [], [], DUMP_QUIET if data else POLL)
        if not ready:
            if data:
                break
            continue
        chunk = os.read(watch.dump, 65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def _app_frames(dump: str) -> list[str]:
    """The frames of the thread that ran the app, innermost first, down to the app's outermost
    own frame (libraries beyond it are counted); else the dump's first lines.

    faulthandler lists each thread as a header line and ``File "...", line N in f`` lines,
    innermost first; the thread that ran the app has ws_routes' loop module further out.
    """
    threads: list[list[str]] = []
    for line in dump.splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")):
            threads.append([])
        elif line.strip().startswith("File ") and threads:
            threads[-1].append(line.strip())
    for frames in threads:
        ours = [i for i, f in enumerate(frames) if f"{os.sep}ws_routes{os.sep}" in f]
        if not ours:
            continue
        frames = frames[: ours[0]] or frames
        apps = [i for i, f in enumerate(frames) if _is_app_frame(f)]
        shown = frames[: (apps[-1] + 1 if apps else len(frames))][:_FRAMES]
        rest = len(frames) - len(shown)
        return shown + ([f"... {rest} more frame(s) of libraries"] if rest else [])
    return [line for line in dump.splitlines() if line.strip()][:40]


_FRAMES = 12
_LIBRARIES = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
_STDLIB = os.path.dirname(os.__file__) + os.sep


def _is_app_frame(frame: str) -> bool:
    """``File "app.py", line 3 in f``: not a library's, not the standard library's."""
    path = frame.split('"')[1] if frame.count('"') >= 2 else ""
    return (
        bool(path)
        and not path.startswith(("<", _STDLIB))
        and not any(part in path for part in _LIBRARIES)
    )


def _complete_junit(path: str, route: dict[str, Any], finding: str, text: str) -> None:
    """Add the stuck route to the JUnit file the process wrote as the route started."""
    try:
        tree = ET.parse(path)
        root = tree.getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        if suite is None:
            raise ValueError("no testsuite")
    except (OSError, ET.ParseError, ValueError):
        root = ET.Element("testsuites", name="pytest tests")
        suite = ET.SubElement(root, "testsuite", name="pytest", errors="0", failures="0",
                              skipped="0", tests="0", time="0")  # fmt: skip
        tree = ET.ElementTree(root)
    case = ET.SubElement(suite, "testcase", classname=str(route.get("classname", "")),
                         name=str(route.get("name", route["nodeid"])))  # fmt: skip
    started = route.get("at")
    case.set("time", f"{time.monotonic() - float(started):.3f}" if started else "0.000")
    collection = route["nodeid"] == COLLECTION
    failure = ET.SubElement(
        case, "error" if collection else "failure", message=f"no_hang: {finding}"
    )
    failure.text = text
    for key in ("tests", "errors" if collection else "failures"):
        suite.set(key, str(int(suite.get(key, "0")) + 1))
    with open(path, "w", encoding="utf-8") as file:
        file.write('<?xml version="1.0" encoding="utf-8"?>')
        file.write(ET.tostring(root, encoding="unicode"))


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8", "replace")
    while data:
        try:
            data = data[os.write(fd, data) :]
        except OSError:
            return  # the terminal is gone: nothing left to tell


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the watched process's to answer
    sys.exit(main())
