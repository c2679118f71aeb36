"""``ws-routes import-asyncapi`` and ``export-asyncapi``: output, exit codes, never overwriting."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ws_routes.spec.loader import load_spec, load_spec_text
from ws_routes.tools.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "asyncapi"
TICKER = DATA / "tickerx-3.0.yaml"
SPEC = """\
version: 1
routes:
  "/ws/echo":
    messages:
      say: {kind: text, schema: {type: string, maxLength: 20}, reply: [echo]}
    replies:
      echo: {kind: text}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_prints_the_spec(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-asyncapi", str(TICKER)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ws-routes spec imported from ")
    assert next(r.path for r in load_spec_text(out).routes) == "/ws/v2/market/{symbol}"


def test_import_writes_and_never_overwrites_without_force(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = project / "ws-routes.yaml"
    assert main(["import-asyncapi", str(TICKER), "-o", str(target)]) == 0
    assert load_spec(target).routes
    target.write_text("# mine\n")
    assert main(["import-asyncapi", str(TICKER), "-o", str(target)]) == 2
    assert target.read_text() == "# mine\n"
    assert "exists; pass --force to overwrite it" in capsys.readouterr().err
    assert main(["import-asyncapi", str(TICKER), "-o", str(target), "--force"]) == 0
    assert load_spec(target).routes


def test_import_of_an_invalid_document_is_exit_1_with_located_errors(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "old.yaml").write_text("asyncapi: 1.2.0\ninfo: {title: t, version: '1'}\n")
    assert main(["import-asyncapi", "old.yaml", "-o", "out.yaml"]) == 1
    err = capsys.readouterr().err
    assert "old.yaml:1:1: asyncapi: unsupported AsyncAPI version '1.2.0'" in err
    assert "1 error(s)" in err
    assert not (project / "out.yaml").exists()


def test_import_usage_errors_are_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-asyncapi", "missing.yaml"]) == 2
    assert "no such file 'missing.yaml'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["import-asyncapi"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("command", ["import-asyncapi", "export-asyncapi"])
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: ws-routes {command}" in out
    assert "--force" in out
    assert "AsyncAPI" in out


def test_export_finds_the_spec_like_validate(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "ws-routes.yaml").write_text(SPEC)
    assert main(["export-asyncapi"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["asyncapi"] == "3.0.0"
    assert [c["address"] for c in document["channels"].values()] == ["/ws/echo"]


def test_export_writes_json_or_yaml_by_extension(project: Path) -> None:
    (project / "spec.yaml").write_text(SPEC)
    assert main(["export-asyncapi", "spec.yaml", "-o", "api.json"]) == 0
    assert json.loads((project / "api.json").read_text())["asyncapi"] == "3.0.0"
    assert main(["export-asyncapi", "spec.yaml", "-o", "api.yaml"]) == 0
    assert yaml.safe_load((project / "api.yaml").read_text())["asyncapi"] == "3.0.0"
    assert main(["export-asyncapi", "spec.yaml", "-o", "api.yaml"]) == 2
    assert main(["export-asyncapi", "spec.yaml", "-o", "api.yaml", "--force"]) == 0


def test_export_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-asyncapi"]) == 2
    assert "no spec in" in capsys.readouterr().err
    (project / "ws-routes.yaml").write_text(
        "version: 1\nroutes:\n  /ws: {messages: {m: {kind: jsn}}}\n"
    )
    assert main(["export-asyncapi"]) == 1
    assert "ws-routes.yaml:3:24: routes./ws.messages.m.kind:" in capsys.readouterr().err


def test_the_commands_run_as_a_module(tmp_path: Path) -> None:
    source = tmp_path / "api.yaml"
    shutil.copy(TICKER, source)
    python = [sys.executable, "-m", "ws_routes"]
    imported = subprocess.run(
        [*python, "import-asyncapi", str(source), "-o", "ws-routes.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    exported = subprocess.run(
        [*python, "export-asyncapi", "-o", "again.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    again = json.loads((tmp_path / "again.json").read_text())
    assert [c["address"] for c in again["channels"].values()] == [
        "/ws/v2/market/{symbol}",
        "/ws/v2/chat/{room}",
        "/ws/v2/heartbeat",
    ]
    refused = subprocess.run(
        [*python, "import-asyncapi", str(source), "-o", "ws-routes.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "pass --force" in refused.stderr
