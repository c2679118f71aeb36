from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ws_routes.cli import main

APP = """
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

async def chat(websocket):
    await websocket.accept()
    await websocket.close()

app = Starlette(routes=[WebSocketRoute("/ws/chat/{room}", chat), WebSocketRoute("/ws/n/{id:int}", chat)])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cliapp.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_routes_lists_paths_and_params(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "cliapp:app"]) == 0
    out = capsys.readouterr().out
    assert "/ws/chat/{room}" in out
    assert "id:int" in out


def test_routes_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "cliapp:app", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == ["/ws/chat/{room}", "/ws/n/{id:int}"]
    assert rows[1]["params"] == {"id": "int"}


def test_routes_bad_app_is_exit_1_with_message(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "cliapp:ap"]) == 1
    assert "ws-routes:" in capsys.readouterr().err


def test_validate_ok(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "ws-routes.yaml").write_text(
        'version: 1\nroutes:\n  "/ws/chat/{room}":\n    messages:\n      say: {kind: text}\n'
    )
    assert main(["validate"]) == 0
    assert "spec OK" in capsys.readouterr().out


def test_validate_reports_every_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "ws-routes.yaml").write_text(
        "version: 1\nsettings:\n  max_message: 3\nroutes:\n"
        '  "/ws/chat":\n    messages:\n      say: {kind: jsn}\n'
    )
    assert main(["validate", "ws-routes.yaml"]) == 1
    err = capsys.readouterr().err
    assert "ws-routes.yaml:3:3: settings: unknown key 'max_message' (did you mean 'max_messages'?)" in err
    assert "did you mean 'json'?" in err
    assert "2 error(s)" in err


def test_validate_finds_schemas_we_cannot_generate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "ws-routes.yaml").write_text(
        'version: 1\nroutes:\n  "/ws/chat":\n    messages:\n'
        "      say: {kind: text, schema: {type: string, minLength: 5, maxLength: 2}}\n"
    )
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "ws-routes.yaml:5" in err
    assert "minLength" in err


def test_usage_error_is_exit_2(project: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bogus"])
    assert info.value.code == 2


def test_module_entry_point_runs(project: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ws_routes", "routes", "cliapp:app"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "/ws/chat/{room}" in out.stdout
