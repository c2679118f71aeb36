"""``ws-routes replay``: crash files replayed, reported as pytest reports them, removed once fixed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.servers import running_uvicorn
from ws_routes.compile.credentials import Redactor
from ws_routes.driver.transcript import Failure
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.report import crashfiles
from ws_routes.spec.loader import load_spec
from ws_routes.tools.cli import main

APP = """
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

async def divide(ws):
    await ws.accept()
    try:
        while True:
            n = int(await ws.receive_text())
            await ws.send_text(str(100 // n))
    except WebSocketDisconnect:
        pass

app = Starlette(routes=[WebSocketRoute("/ws/divide", divide)])
"""
SPEC = (
    "routes:\n  /ws/divide:\n    messages: {n: {kind: text}}\n    replies: {result: {kind: text}}\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_app(tmp_path, APP, monkeypatch)
    (tmp_path / "ws-routes.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_app(root: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "crashapp.py").write_text(source)
    monkeypatch.delitem(sys.modules, "crashapp", raising=False)  # import it afresh


def save(
    root: Path,
    payload: str,
    bug: str = "no_server_error-ZeroDivisionError-1",
    url: str | None = None,
) -> Path:
    route = load_spec(root / "ws-routes.yaml").route("/ws/divide")
    assert route is not None
    failure = Failure(
        check="no_server_error", error_type="server_error", message="m", expected="e", actual="a"
    )
    return crashfiles.save(
        root,
        crashfiles.build(
            route=route,
            failure=failure,
            bug=bug,
            conversation=Conversation(path="/ws/divide", steps=(Step("n", "text", payload),)),
            report="",
            redactor=Redactor(),
            app="crashapp:app",
            spec="ws-routes.yaml",
            url=url,
        ),
    )


def test_a_failing_file_exits_1_with_the_report_and_a_fixed_one_is_removed(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(project, "0")
    assert main(["replay", str(path)]) == 1
    captured = capsys.readouterr()
    assert "WEBSOCKET TEST FAILURE: /ws/divide" in captured.out
    assert "ZeroDivisionError: integer division or modulo by zero" in captured.out
    assert f"  ws-routes replay {path.relative_to(project)}" in captured.out.splitlines()
    assert "1 of 1 crash file(s) still fail" in captured.err
    assert path.exists()

    write_app(project, APP.replace("100 // n", "100 // n if n else 0"), monkeypatch)
    assert main(["replay", "--last"]) == 0
    assert capsys.readouterr().out == f"{path.relative_to(project)}: passes now; removed\n"
    assert not path.exists()


def test_any_file_still_failing_makes_it_exit_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passing = save(project, "5", bug="a")
    failing = save(project, "0", bug="b")
    assert main(["replay", "--keep", str(passing), str(failing)]) == 1
    out = capsys.readouterr().out
    assert f"{passing}: passes now (kept: --keep)" in out
    assert passing.exists()
    assert "Check: no_server_error" in out


def test_the_app_can_be_named_instead_of_the_files(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(project, "0")
    (project / "fixedapp.py").write_text(APP.replace("100 // n", "100 // (n or 1)"))
    monkeypatch.delitem(sys.modules, "fixedapp", raising=False)
    assert main(["replay", str(path), "--app", "fixedapp:app"]) == 0
    assert "passes now; removed" in capsys.readouterr().out


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay"]) == 2
    assert "name the crash files to replay, or pass --last" in capsys.readouterr().err
    assert main(["replay", "--last"]) == 2
    assert "no crash files in .ws-routes/crashes here or above" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse's own: --app and --url exclude each other
        main(["replay", "x.json", "--url", "ws://h", "--app", "a:b"])
    assert exited.value.code == 2


def test_a_file_replays_against_a_running_server_with_url(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    path = save(project, "0")
    with running_uvicorn(importlib.import_module("crashapp").app) as port:
        # --url: the server gets the traffic; the app the file names is not even imported.
        sys.modules.pop("crashapp")
        assert main(["replay", "--keep", str(path), "--url", f"ws://127.0.0.1:{port}"]) == 1
        assert "crashapp" not in sys.modules
    out = capsys.readouterr().out
    assert "Over the network: findings rest on what a client can see" in out
    assert "x dropped (no close frame: the client sees 1006)    [by server]" in out
    assert f"replay(\n      'ws://127.0.0.1:{port}'," in out  # the snippet replays the server too


def test_a_file_a_live_run_wrote_replays_against_its_server(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    with running_uvicorn(importlib.import_module("crashapp").app) as port:
        sys.modules.pop("crashapp")
        path = save(project, "0", url=f"ws://127.0.0.1:{port}")
        assert crashfiles.load(path).url == f"ws://127.0.0.1:{port}"
        assert main(["replay", "--keep", str(path)]) == 1
        assert "crashapp" not in sys.modules  # the server got the traffic, not the app
    assert "Over the network: findings rest on what a client can see" in capsys.readouterr().out


def test_a_file_that_cannot_be_replayed_exits_1_with_why(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "junk.json").write_text("{}")
    assert main(["replay", "junk.json"]) == 1
    assert "junk.json: not a ws_routes crash file" in capsys.readouterr().err
