from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ws_routes.tools.cli import main
from ws_routes.tools.scaffold import SCHEMA_FILE

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


def test_routes_bad_app_is_exit_1_with_message(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
    assert (
        "ws-routes.yaml:3:3: settings: unknown key 'max_message' (did you mean 'max_messages'?)"
        in err
    )
    assert "did you mean 'json'?" in err
    assert "2 error(s)" in err


def test_validate_finds_schemas_we_cannot_generate(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
        [sys.executable, "-m", "ws_routes", "routes", "cliapp:app"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "/ws/chat/{room}" in out.stdout


# -- init ----------------------------------------------------------------------------------------

TYPED_APP = """
from typing import Literal

import msgspec
from litestar import Litestar, websocket, websocket_listener
from litestar.connection import WebSocket
from litestar.dto import MsgspecDTO


class Join(msgspec.Struct):
    type: Literal["join"]
    room: int


@websocket_listener("/ws/join", dto=MsgspecDTO[Join])
async def join(data: Join) -> dict[str, int]:
    return {"room": data.room}


@websocket("/ws/raw")
async def raw(socket: WebSocket) -> None:
    await socket.accept()


app = Litestar([join, raw])
"""


@pytest.fixture
def typed(project: Path) -> Path:
    (project / "cli_typed_app.py").write_text(TYPED_APP)
    return project


def test_init_writes_a_spec_that_validates(typed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "cli_typed_app:app"]) == 0
    assert capsys.readouterr().out.startswith("wrote ws-routes.yaml: 2 route(s) (1 typed)\n")
    text = (typed / "ws-routes.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert 'app: "cli_typed_app:app"' in text
    assert main(["validate"]) == 0
    assert "spec OK: 2 route(s); every route exists in cli_typed_app:app" in capsys.readouterr().out


def test_init_writes_the_schema_beside_the_spec_and_names_it_relatively(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "config").mkdir()
    assert main(["init", "cliapp:app", "-o", "config/ws-routes.yaml"]) == 0
    out = capsys.readouterr().out
    assert "wrote config/ws-routes.schema.json: the spec format's JSON Schema" in out
    first = (project / "config" / "ws-routes.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./ws-routes.schema.json"
    written = (project / "config" / "ws-routes.schema.json").read_text()
    assert written == SCHEMA_FILE.read_text()


def test_init_leaves_a_schema_that_differs_unless_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = project / "ws-routes.schema.json"
    schema.write_text("{}")
    assert main(["init", "cliapp:app"]) == 0
    assert "left ws-routes.schema.json as it is; `ws-routes schema -o" in capsys.readouterr().out
    assert schema.read_text() == "{}"
    assert main(["init", "cliapp:app", "--force"]) == 0
    assert schema.read_text() == SCHEMA_FILE.read_text()


def test_init_to_stdout_says_how_to_write_the_schema(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "cliapp:app", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# yaml-language-server: $schema=./ws-routes.schema.json\n")
    assert "`ws-routes schema -o ws-routes.schema.json`" in captured.err
    assert not (project / "ws-routes.schema.json").exists()


def test_schema_prints_or_writes_and_never_replaces_silently(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(SCHEMA_FILE.read_text())
    assert main(["schema", "-o", "s.json"]) == 0
    assert capsys.readouterr().out == "wrote s.json\n"
    assert main(["schema", "-o", "s.json"]) == 0
    assert capsys.readouterr().out == "s.json is up to date\n"
    (project / "s.json").write_text("{}")
    assert main(["schema", "-o", "s.json"]) == 2
    assert "s.json exists and differs" in capsys.readouterr().err
    assert main(["schema", "-o", "s.json", "--force"]) == 0
    assert (project / "s.json").read_text() == SCHEMA_FILE.read_text()


def test_init_never_overwrites_without_force(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "ws-routes.yaml").write_text("# mine\n")
    assert main(["init", "cliapp:app"]) == 2
    assert "ws-routes init: error: ws-routes.yaml exists; pass --merge" in capsys.readouterr().err
    assert (project / "ws-routes.yaml").read_text() == "# mine\n"
    assert main(["init", "cliapp:app", "--force"]) == 0
    assert '"/ws/n/{id:int}":' in (project / "ws-routes.yaml").read_text()


def test_init_merge_adds_only_new_routes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = 'version: 1\nroutes:\n  "/ws/chat/{room}":  # hand-written\n    messages: {say: {kind: text}}\n'
    (project / "ws-routes.yaml").write_text(mine)
    assert main(["init", "cliapp:app", "--merge"]) == 0
    assert (
        "added to ws-routes.yaml: 1 route(s) (0 typed): /ws/n/{id:int}" in capsys.readouterr().out
    )
    merged = (project / "ws-routes.yaml").read_text()
    assert merged.startswith(mine)
    assert '"/ws/n/{id:int}":' in merged
    assert main(["init", "cliapp:app", "--merge"]) == 0
    assert "nothing to add" in capsys.readouterr().out
    assert (project / "ws-routes.yaml").read_text() == merged


def test_init_to_stdout_and_refusals(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "cliapp:app", "-o", "-"]) == 0
    assert '"/ws/chat/{room}":' in capsys.readouterr().out
    assert not (project / "ws-routes.yaml").exists()
    assert main(["init", "cliapp:app", "-o", "spec.toml"]) == 2
    assert "init writes YAML" in capsys.readouterr().err
    assert main(["init", "cliapp:nope"]) == 1
    assert "has no attribute 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["init", "cliapp:app", "--force", "--merge"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_init_into_a_missing_folder_or_onto_a_folder_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = project / "missing" / "x.yaml"
    assert main(["init", "cliapp:app", "-o", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"ws-routes init: error: cannot write {missing}: the folder" in err
    assert "does not exist; create it" in err
    assert "Traceback" not in err
    (project / "d.yaml").mkdir()
    assert main(["init", "cliapp:app", "-o", "d.yaml", "--force"]) == 2
    assert "cannot write d.yaml: it is a folder" in capsys.readouterr().err


# -- validate against the app --------------------------------------------------------------------


def test_validate_finds_spec_routes_the_app_lacks(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "ws-routes.yaml").write_text(
        'version: 1\napp: "cliapp:app"\nroutes:\n'
        '  "/ws/chats/{room}":\n    messages: {say: {kind: text}}\n'
        '  "/ws/n/{id}":\n    messages: {say: {kind: text}}\n'
        '  "/ws/gone":\n    messages: {say: {kind: text}}\n'
    )
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert (
        "ws-routes.yaml:4:3: routes./ws/chats/{room}: route '/ws/chats/{room}' is in the spec but the "
        "app has no such WebSocket route (did you mean '/ws/chat/{room}'?)"
    ) in err
    assert "ws-routes.yaml:8:3: routes./ws/gone:" in err
    assert "/ws/n/{id}" not in err.replace("/ws/n/{id:int}", "")  # matched without its converter
    assert "2 error(s)" in err


def test_validate_with_app_option_and_a_bad_app(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "ws-routes.yaml").write_text(
        'version: 1\nroutes:\n  "/ws/x":\n    messages: {a: {kind: text}}\n'
    )
    assert main(["validate"]) == 0  # no app named: the format and schemas only
    assert main(["validate", "--app", "cliapp:app"]) == 1
    assert "route '/ws/x' is in the spec" in capsys.readouterr().err
    assert main(["validate", "--app", "cliapp:missing"]) == 1
    assert "cannot load app 'cliapp:missing'" in capsys.readouterr().err


def test_validate_without_a_spec_says_how_to_write_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 1
    assert "ws-routes init module:app" in capsys.readouterr().err


# -- routes with a spec --------------------------------------------------------------------------


SPEC_FOR_ROUTES = """\
version: 1
routes:
  "/ws/chat/{room}":
    subprotocols: [chat.v2]
    auth: {query_param: token, token: s3cret}
    messages: {say: {kind: text, reply: [echo]}, ping: {kind: text}}
    replies: {echo: {kind: text}}
  "/ws/typo":
    messages: {a: {kind: text}}
"""


def test_routes_shows_what_the_spec_says(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "routes.yaml").write_text(SPEC_FOR_ROUTES)
    assert main(["routes", "cliapp:app", "--spec", "routes.yaml"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["PATH", "PARAMS", "HANDLER", "SPEC"]
    assert lines[1].endswith(
        "2 message(s), 1 reply(ies), auth query_param token, subprotocols chat.v2"
    )
    assert lines[2].endswith("default (any text, JSON, bytes)")
    assert "'/ws/typo' is in the spec but the app has no such WebSocket route" in err
    assert main(["routes", "cliapp:app", "--spec", "routes.yaml", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["spec"] == {
        "declared": True,
        "messages": ["say", "ping"],
        "replies": ["echo"],
        "auth": "query_param token",
        "subprotocols": ["chat.v2"],
    }
    assert rows[1]["spec"]["declared"] is False


@pytest.mark.parametrize("command", ["init", "validate", "routes"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: ws-routes {command}" in capsys.readouterr().out


def test_unknown_option_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["routes", "cliapp:app", "--bogus"])
    assert info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


# -- the real command, in a subprocess -----------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ws_routes", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_subprocess_init_then_merge_then_validate(project: Path) -> None:
    first = run("init", "cliapp:app")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote ws-routes.yaml: 2 route(s) (0 typed)")
    again = run("init", "cliapp:app")
    assert again.returncode == 2
    assert "--force" in again.stderr
    spec = project / "ws-routes.yaml"
    edited = spec.read_text().replace('"/ws/chat/{room}":', '"/ws/chats/{room}":')
    spec.write_text(edited)
    merged = run("init", "cliapp:app", "--merge")
    assert merged.returncode == 0
    assert "added to ws-routes.yaml: 1 route(s)" in merged.stdout
    assert spec.read_text().startswith(edited)
    checked = run("validate")
    assert checked.returncode == 1
    assert "did you mean '/ws/chat/{room}'?" in checked.stderr
    assert "1 error(s)" in checked.stderr


def test_subprocess_usage_errors_are_exit_2(project: Path) -> None:
    out = run("validate", "--nope")
    assert out.returncode == 2
    assert "unrecognized arguments: --nope" in out.stderr
