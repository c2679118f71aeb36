"""Fresh apps: the app imported anew in this process (its own modules put back after), and in
a forking worker process that replays each case in an app nothing ran in before."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.leaks import FreshOutcome
from ws_routes.report.fresh import FreshApps, FreshProcess, reimported
from ws_routes.spec.model import RouteSpec, Settings

# Crashes on the third connection of an app instance: a module-level counter, never reset.
COUNTER_APP = """
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

CONNECTIONS = 0


async def counted(ws):
    global CONNECTIONS
    CONNECTIONS += 1
    await ws.accept()
    text = await ws.receive_text()
    if CONNECTIONS > 2 or text == "boom":
        raise RuntimeError(f"connection {CONNECTIONS}")
    await ws.send_text(text)
    await ws.close()


app = Starlette(routes=[WebSocketRoute("/ws", counted)])
"""
ROUTE = RouteSpec(path="/ws", settings=Settings(connection_timeout=2, message_timeout=0.5))
SAY = Conversation(path="/ws", steps=(Step("text", "text", "hi"),))
BOOM = Conversation(path="/ws", steps=(Step("text", "text", "boom"),))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    name = f"counter_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(COUNTER_APP), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path / name


def test_the_worker_replays_each_case_in_an_app_nothing_ran_in(project: Path) -> None:
    fresh = FreshProcess(f"{project.name}:app", ROUTE, None, rootdir=project.parent)
    try:
        # However often it is asked, the counter starts at zero: each replay is a new app.
        for _ in range(3):
            assert fresh.replay((), SAY, timeout=10).bug is None
        outcome = fresh.replay((SAY, SAY), SAY, timeout=10, render=True)
        assert outcome.check == "no_server_error"
        assert outcome.bug is not None
        assert "RuntimeError" in outcome.bug
        assert [lines[:2] for lines in outcome.earlier] == [
            ("! connect /ws", "! handshake accepted")
        ] * 2
    finally:
        fresh.close()


def test_an_app_that_does_not_import_is_an_error_not_a_verdict(project: Path) -> None:
    fresh = FreshProcess(f"{project.name}:missing", ROUTE, None, rootdir=project.parent)
    try:
        outcome = fresh.replay((), SAY, timeout=10)
    finally:
        fresh.close()
    assert outcome.bug is None
    assert "could not be imported" in outcome.error
    assert "missing" in outcome.error


def test_a_replay_that_outlives_its_timeout_is_cut_off(tmp_path: Path) -> None:
    (tmp_path / "sleepy_fresh.py").write_text(
        textwrap.dedent(
            """
            import time

            async def app(scope, receive, send):
                if scope["type"] == "lifespan":
                    await receive()
                    time.sleep(30)  # the startup blocks: the replay cannot end in time
            """
        ),
        encoding="utf-8",
    )
    route = RouteSpec(path="/ws", settings=Settings(connection_timeout=30, message_timeout=0.5))
    fresh = FreshProcess("sleepy_fresh:app", route, None, rootdir=tmp_path)
    try:
        outcome = fresh.replay((), SAY, timeout=1.0)
    finally:
        fresh.close()
    assert "did not finish within 1.0 s" in outcome.error


def test_the_app_imported_anew_here_has_new_module_state(project: Path) -> None:
    import importlib

    module = importlib.import_module(project.name)
    module.CONNECTIONS = 99  # as a run would have left it
    with reimported(f"{project.name}:app", project.parent, ROUTE.settings) as app:
        assert app is not module.app
        assert sys.modules[project.name].CONNECTIONS == 0
    assert sys.modules[project.name] is module  # the run's module is back
    assert module.CONNECTIONS == 99


def test_fresh_apps_decide_a_failing_case_here_and_a_passing_one_in_the_worker(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = FreshApps(f"{project.name}:app", ROUTE, None, rootdir=project.parent)
    started: list[int] = []
    original = FreshProcess._start

    def counted(self: FreshProcess) -> str:
        started.append(1)
        return original(self)

    monkeypatch.setattr(FreshProcess, "_start", counted)
    try:
        assert fresh.replay((), BOOM, timeout=10).check == "no_server_error"
        assert started == []  # an ordinary bug costs no process
        assert fresh.replay((), SAY, timeout=10).bug is None  # confirmed by the worker
        assert fresh.replay((SAY, SAY), SAY, timeout=10).bug is not None
        assert started == [1]  # one worker for both
    finally:
        fresh.close()


def test_a_case_asked_about_again_alone_goes_to_the_worker(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = FreshApps(f"{project.name}:app", ROUTE, None, rootdir=project.parent)
    asked: list[int] = []
    monkeypatch.setattr(
        FreshProcess,
        "replay",
        lambda self, earlier, final, **kw: asked.append(len(earlier)) or FreshOutcome(),
    )
    assert fresh.replay((), BOOM, timeout=10).bug is not None  # decided here
    assert fresh.replay((), BOOM, timeout=10).bug is None  # the same case again: the worker's
    assert asked == [0]
