"""The pytest side of the watcher: where it starts, what it leaves behind, JUnit names."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace
from typing import Any

import pytest

from ws_routes.app import vitals
from ws_routes.plugin import watcher


class FakeConfig:
    def __init__(
        self, *, dist: str = "no", worker: bool = False, prefix: str | None = None
    ) -> None:
        self.options = {"dist": dist, "junitprefix": prefix}
        if worker:
            self.workerinput = {"workerid": "gw0"}

    def getoption(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


def test_an_xdist_controller_starts_no_watcher_its_workers_do() -> None:
    assert watcher._is_xdist_controller(FakeConfig(dist="load"))  # type: ignore[arg-type]
    assert not watcher._is_xdist_controller(FakeConfig(dist="load", worker=True))  # type: ignore[arg-type]
    assert not watcher._is_xdist_controller(FakeConfig())  # type: ignore[arg-type]


def test_junit_names_are_pytests() -> None:
    nodeid = "ws-routes::test_websocket[/ws/chat]"
    assert watcher._junit_names(FakeConfig(), nodeid) == ("ws-routes", "test_websocket[/ws/chat]")  # type: ignore[arg-type]
    named = watcher._junit_names(FakeConfig(prefix="ci"), nodeid)  # type: ignore[arg-type]
    assert named == ("ci.ws-routes", "test_websocket[/ws/chat]")


def test_a_platform_without_the_tools_gets_a_note_not_a_watcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(watcher.faulthandler, "register")
    assert watcher._missing() == "no faulthandler.register"
    registered: list[object] = []
    config = SimpleNamespace(
        getoption=lambda name, default=None: default,
        pluginmanager=SimpleNamespace(register=lambda plugin, name: registered.append(plugin)),
    )
    watcher.start(config)  # type: ignore[arg-type]
    lines: list[str] = []
    registered[0].pytest_terminal_summary(SimpleNamespace(write_line=lines.append))  # type: ignore[attr-defined]
    assert lines == [watcher.NO_WATCHER_NOTE.format(why="no faulthandler.register")]


def test_a_session_leaves_nothing_of_the_watcher_behind(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app="""
        from starlette.applications import Starlette
        from starlette.routing import WebSocketRoute

        async def quiet(ws):
            await ws.accept()
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

        app = Starlette(routes=[WebSocketRoute("/ws/quiet", quiet)])
        """
    )
    seen: list[Any] = []
    before = signal.set_wakeup_fd(-1)  # whatever the outer session has, given back below
    signal.set_wakeup_fd(before)

    class Spy:
        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            plugin = session.config.pluginmanager.get_plugin("ws_routes_watcher")
            seen.extend([plugin, plugin._process, vitals.current()])

    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--routes-websocket", "--routes-app", "app:app",
        "--routes-max-examples", "2", "--routes-seed", "1", "--routes-ws-timeout", "1",
        "--routes-ws-message-timeout", "0.2", plugins=[Spy()],
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    plugin, process, signs = seen
    assert isinstance(plugin, watcher.WatcherPlugin)
    assert signs is not None  # the session wrote its vital signs...
    assert vitals.current() is None  # ...and stopped
    assert process.poll() == 0  # the watcher exited on "bye"
    assert signal.set_wakeup_fd(before) == before  # the wakeup fd was given back


def test_xdist_reports_a_worker_its_watcher_killed_with_the_watchers_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ws_routes.plugin import watchman

    monkeypatch.delenv(watcher.NOTES_ENV, raising=False)
    notes = watcher.CrashNotes()
    try:
        folder = os.environ[watcher.NOTES_ENV]  # what the workers it spawns inherit
        nodeid = "ws-routes::test_websocket[/ws/stuck]"
        watchman._write_note(os.path.join(folder, "gw1.json"), nodeid, "Check: no_hang")
        crashed = SimpleNamespace(
            node=SimpleNamespace(gateway=SimpleNamespace(id="gw1")),
            longrepr=f"worker 'gw1' crashed while running {nodeid!r}",
        )
        notes.pytest_handlecrashitem(nodeid, crashed, None)  # type: ignore[arg-type]
        assert crashed.longrepr == (
            f"worker 'gw1' crashed while running {nodeid!r}: killed by ws_routes' watcher\n\n"
            "Check: no_hang"
        )
        other = SimpleNamespace(node=crashed.node, longrepr="worker 'gw1' crashed")
        notes.pytest_handlecrashitem(nodeid, other, None)  # type: ignore[arg-type]
        assert other.longrepr == "worker 'gw1' crashed"  # no note (any more): xdist's words
    finally:
        notes.stop()
    assert watcher.NOTES_ENV not in os.environ
    assert not os.path.exists(folder)
