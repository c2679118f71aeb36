"""``ws-routes gen-tests``: a module of route tests, collected and passing as written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import ECHO_APP, QUIET_ARGS, seed_hypothesis_dir
from ws_routes.tools.cli import main
from ws_routes.tools.cli_gentests import route_tests_module

SPEC = """\
version: 1
app: "app:app"
settings: {max_examples: 10, max_messages: 2, message_timeout: 0.5, connection_timeout: 2}
routes:
  "/ws/echo":
    messages:
      say: {kind: text, reply: [echo]}
    replies:
      echo: {kind: text}
"""
APP = ECHO_APP.replace(
    'app = Starlette(routes=[WebSocketRoute("/ws/echo", echo)])',
    'app = Starlette(routes=[WebSocketRoute("/ws/echo", echo), WebSocketRoute("/ws/rooms/{room:str}", echo)])',
)


def test_one_named_route_test_per_route() -> None:
    text = route_tests_module("ws-routes.yaml", "app:app", ["/ws/chat/{room}", "/ws/chat/{room:int}", "/"])
    assert "SPEC = 'ws-routes.yaml'\nAPP = 'app:app'\n" in text
    assert "test_ws_chat_room = route_test(SPEC, '/ws/chat/{room}', app=APP)" in text
    assert "test_ws_chat_room_2 = route_test(SPEC, '/ws/chat/{room:int}', app=APP)" in text
    assert "test_root = route_test(SPEC, '/', app=APP)" in text
    compile(text, "test_ws_routes.py", "exec")


def test_the_module_it_writes_runs_every_route(
    pytester: pytest.Pytester,
    unicode_tables: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytester.makepyfile(app=textwrap.dedent(APP))
    (pytester.path / "ws-routes.yaml").write_text(SPEC, "utf-8")
    seed_hypothesis_dir(pytester.path, unicode_tables)
    monkeypatch.chdir(pytester.path)
    monkeypatch.syspath_prepend(str(pytester.path))
    assert main(["gen-tests"]) == 0
    assert "wrote test_ws_routes.py: 2 route test(s)" in capsys.readouterr().out
    written = (pytester.path / "test_ws_routes.py").read_text("utf-8")
    assert "SPEC = 'ws-routes.yaml'" in written  # relative: the module is committed
    assert main(["gen-tests"]) == 2  # it exists
    assert "exists; --force replaces it" in capsys.readouterr().err
    result = pytester.runpytest_subprocess(
        *QUIET_ARGS, "-p", "no:xdist", "-v", "test_ws_routes.py", timeout=60
    )
    result.stdout.fnmatch_lines_random(
        ["*::test_ws_echo PASSED*", "*::test_ws_rooms_room PASSED*"]  # the app's own route too
    )
    result.assert_outcomes(passed=2)


def test_no_app_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ws-routes.yaml").write_text(SPEC.replace('app: "app:app"\n', ""), "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["gen-tests", "-o", "-"]) == 2
    assert "no app: pass --app module:app" in capsys.readouterr().err
