"""loader: finding spec files, YAML/TOML/pyproject, settings precedence, all errors at once."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from ws_routes.errors import SpecError, SpecErrors
from ws_routes.spec.loader import find_spec_file, load_spec, load_spec_text, validate_spec
from ws_routes.spec.model import Settings, Spec


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _strings(path: Path | str | None = None, rootdir: Path | None = None) -> list[str]:
    return [str(e) for e in validate_spec(path, rootdir=rootdir)]


SPEC = """\
version: 1
settings:
  max_messages: 4
routes:
  /ws/echo:
    messages:
      say: {kind: text}
"""

SEED = """\
[tool.pytest-routes]
app = "seed_app:app"
max_examples = 7   # pytest-routes' own HTTP setting: not ours, ignored

[tool.pytest-routes.websocket]
max_messages = 20
message_timeout = 5.0
test_close_codes = [1000, 1001, 4000]
"""


# --- finding the spec ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ws-routes.yaml", "ws-routes.yml", "ws-routes.toml"])
def test_find_spec_file_by_name(tmp_path: Path, name: str) -> None:
    _write(tmp_path / name, "")
    assert find_spec_file(tmp_path) == tmp_path / name


def test_yaml_comes_before_toml_and_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.toml", "")
    _write(tmp_path / "pyproject.toml", "[tool.ws-routes]\n")
    assert find_spec_file(tmp_path) == tmp_path / "ws-routes.toml"
    _write(tmp_path / "ws-routes.yml", "")
    assert find_spec_file(tmp_path) == tmp_path / "ws-routes.yml"


def test_pyproject_counts_only_with_a_ws_routes_table(tmp_path: Path) -> None:
    assert find_spec_file(tmp_path) is None
    _write(tmp_path / "pyproject.toml", SEED)
    assert find_spec_file(tmp_path) is None
    _write(tmp_path / "pyproject.toml", '[tool]\n"ws-routes" = {version = 1}\n')
    assert find_spec_file(tmp_path) == tmp_path / "pyproject.toml"


def test_a_broken_pyproject_is_found_so_that_its_error_is_reported(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool\n")
    assert find_spec_file(tmp_path) == tmp_path / "pyproject.toml"
    assert _strings() == [
        "pyproject.toml:1:6: (top level): invalid TOML: Expected ']' at the end of a table "
        "declaration"
    ]


# --- loading ------------------------------------------------------------------------------


def test_load_yaml_spec_found_in_the_working_directory(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", SPEC)
    spec = load_spec()
    assert spec.source == str(tmp_path.resolve() / "ws-routes.yaml")
    assert spec.settings.max_messages == 4
    (route,) = spec.routes
    assert str(route.location) == "ws-routes.yaml:5:3: routes./ws/echo"
    assert route.location.pointer == "/routes/~1ws~1echo"
    assert validate_spec() == []


def test_no_spec_and_no_pyproject_gives_the_defaults() -> None:
    assert load_spec() == Spec()


def test_no_spec_uses_the_seed_settings_from_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", SEED)
    spec = load_spec(rootdir=tmp_path)
    assert spec.routes == ()
    assert spec.app == "seed_app:app"
    assert spec.settings == Settings(
        max_messages=20, message_timeout=5.0, test_close_codes=(1000, 1001, 4000)
    )
    assert spec.source == str(tmp_path.resolve() / "pyproject.toml")


def test_a_pyproject_without_our_tables_is_no_source(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert load_spec(rootdir=tmp_path) == Spec()


def test_precedence_defaults_then_seed_then_spec_then_route(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", SEED)
    _write(
        tmp_path / "ws-routes.yaml",
        """\
        settings:
          message_timeout: 2.0
          checks: {origin: false}
        routes:
          /ws:
            settings: {message_timeout: 1.0}
            checks: {reply_schema: false}
        """,
    )
    spec = load_spec(rootdir=tmp_path)
    assert spec.app == "seed_app:app"  # the spec names none
    assert spec.settings.max_messages == 20  # seed over default
    assert spec.settings.message_timeout == 2.0  # spec over seed
    assert spec.settings.connection_timeout == 30.0  # default
    (route,) = spec.routes
    assert route.settings.message_timeout == 1.0  # route over spec
    assert route.settings.max_messages == 20
    assert route.settings.checks == {"origin": False, "reply_schema": False}


def test_the_spec_app_wins_over_the_seed_app(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", SEED)
    _write(tmp_path / "ws-routes.yaml", "app: spec_app:app\n")
    assert load_spec(rootdir=tmp_path).app == "spec_app:app"


def test_without_rootdir_the_pyproject_next_to_the_spec_applies(tmp_path: Path) -> None:
    _write(tmp_path / "project" / "pyproject.toml", SEED)
    _write(tmp_path / "project" / "ws-routes.yaml", SPEC)
    spec = load_spec("project/ws-routes.yaml")
    assert spec.app == "seed_app:app"
    assert spec.settings.max_messages == 4
    assert spec.settings.message_timeout == 5.0


def test_relative_paths_fall_back_to_the_rootdir(tmp_path: Path) -> None:
    _write(tmp_path / "project" / "specs" / "chat.yaml", SPEC)
    spec = load_spec("specs/chat.yaml", rootdir=tmp_path / "project")
    assert spec.source == str(tmp_path.resolve() / "project" / "specs" / "chat.yaml")


def test_missing_explicit_file() -> None:
    assert _strings("nope.yaml") == ["nope.yaml: (top level): no such spec file 'nope.yaml'"]


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", "# nothing yet\n")
    assert load_spec().routes == ()


def test_toml_spec(tmp_path: Path) -> None:
    _write(
        tmp_path / "ws-routes.toml",
        """\
        version = 1
        app = "chat_app:app"
        [settings]
        max_messages = 3
        [routes."/ws/chat/{room}".path_params.room]
        type = "string"
        [routes."/ws/chat/{room}".messages.ping]
        kind = "text"
        schema = {const = "ping"}
        reply = ["pong"]
        [routes."/ws/chat/{room}".replies.pong]
        kind = "text"
        """,
    )
    spec = load_spec()
    (route,) = spec.routes
    assert spec.settings.max_messages == 3
    assert route.message("ping").reply == ("pong",)
    assert str(route.location) == "ws-routes.toml: routes./ws/chat/{room}"


def test_toml_errors_carry_the_key_path_in_document_order(tmp_path: Path) -> None:
    _write(
        tmp_path / "ws-routes.toml",
        """\
        [settings]
        max_message = 3
        [routes."/ws".messages.m]
        kind = "jsn"
        created = 2024-01-01
        """,
    )
    assert _strings() == [
        "ws-routes.toml: settings: unknown key 'max_message' (did you mean 'max_messages'?)",
        "ws-routes.toml: routes./ws.messages.m: unknown key 'created'",
        "ws-routes.toml: routes./ws.messages.m.kind: 'jsn' is not one of 'json', 'text', "
        "'bytes' (did you mean 'json'?)",
    ]


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.toml", "version = 1\nsettings = {\n")
    (error,) = validate_spec()
    assert (error.location.file, error.location.line, error.location.column) == (
        "ws-routes.toml",
        2,
        13,
    )
    assert error.message.startswith("invalid TOML: ")


def test_pyproject_ws_routes_table(tmp_path: Path) -> None:
    _write(
        tmp_path / "pyproject.toml",
        SEED
        + textwrap.dedent(
            """\
            [tool.ws-routes.settings]
            max_messages = 6
            [tool.ws-routes.routes."/ws".messages.say]
            kind = "text"
            """
        ),
    )
    spec = load_spec(rootdir=tmp_path)
    assert spec.app == "seed_app:app"
    assert spec.settings.max_messages == 6
    assert spec.settings.message_timeout == 5.0
    (route,) = spec.routes
    assert route.location.pointer == "/tool/ws-routes/routes/~1ws"


def test_pyproject_errors_name_the_full_key_path(tmp_path: Path) -> None:
    _write(
        tmp_path / "pyproject.toml",
        """\
        [tool.pytest-routes]
        app = 3
        [tool.pytest-routes.websocket]
        max_mesages = 20
        test_close_codes = [1006]
        [tool.ws-routes.routes."/ws".messages.say]
        kind = "txt"
        """,
    )
    assert _strings(rootdir=tmp_path) == [
        "pyproject.toml: tool.pytest-routes.app: expected a string 'module:attribute', got 3",
        "pyproject.toml: tool.pytest-routes.websocket: unknown key 'max_mesages' "
        "(did you mean 'max_messages'?)",
        "pyproject.toml: tool.pytest-routes.websocket.test_close_codes.0: close code 1006 can "
        "never be sent in a close frame (RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 "
        "and 1015)",
        "pyproject.toml: tool.ws-routes.routes./ws.messages.say.kind: 'txt' is not one of "
        "'json', 'text', 'bytes' (did you mean 'text'?)",
    ]


def test_seed_errors_are_reported_with_the_yaml_spec(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.pytest-routes.websocket]\nenabled = 'yes'\n")
    _write(tmp_path / "ws-routes.yaml", "version: 2\n")
    assert _strings(rootdir=tmp_path) == [
        "ws-routes.yaml:1:1: version: unsupported version 2 (this ws_routes reads version 1)",
        "pyproject.toml: tool.pytest-routes.websocket.enabled: expected true or false, got 'yes'",
    ]


def test_yaml_syntax_error_is_one_located_error(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", "routes:\n  /ws: {messages: [}\n")
    with pytest.raises(SpecError) as info:
        load_spec()
    assert str(info.value).startswith("ws-routes.yaml:2:20: (top level): invalid YAML: ")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", "- /ws\n")
    assert _strings() == ["ws-routes.yaml:1:1: (top level): expected a mapping, got ['/ws']"]


MANY = """\
version: 1
settings:
  max_message: 10
  message_timeout: -1
  checks: {reply_schema: false, hang: false}
routes:
  /ws/chat:
    subprotocols: [chat, chat]
    messages:
      chat:
        kind: jsn
        reply: [ack]
      blob: {kind: bytes, min_size: 5, max_size: 1}
    close_codes: [999]
    invalid: {must_reject: maybe}
"""


def test_a_spec_with_many_errors_reports_all_of_them_in_file_order(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", MANY)
    with pytest.raises(SpecErrors) as info:
        load_spec()
    assert [str(e) for e in info.value.errors] == [
        "ws-routes.yaml:3:3: settings: unknown key 'max_message' (did you mean 'max_messages'?)",
        "ws-routes.yaml:4:3: settings.message_timeout: expected a number of seconds greater than 0 and at most 86400 (one day), got -1",
        "ws-routes.yaml:5:33: settings.checks: unknown key 'hang' (did you mean 'no_hang'?)",
        "ws-routes.yaml:8:26: routes./ws/chat.subprotocols.1: duplicate item 'chat' "
        "(list each value once)",
        "ws-routes.yaml:11:9: routes./ws/chat.messages.chat.kind: 'jsn' is not one of 'json', "
        "'text', 'bytes' (did you mean 'json'?)",
        "ws-routes.yaml:12:17: routes./ws/chat.messages.chat.reply.0: unknown reply 'ack' "
        "(this route declares no replies)",
        "ws-routes.yaml:13:27: routes./ws/chat.messages.blob.min_size: min_size 5 is greater "
        "than max_size 1",
        "ws-routes.yaml:14:19: routes./ws/chat.close_codes.0: expected a close code "
        "(an integer from 1000 to 4999), got 999",
        "ws-routes.yaml:15:15: routes./ws/chat.invalid.must_reject: expected true or false, "
        "got 'maybe'",
    ]


def test_load_spec_text_resolves_refs_from_base_dir(tmp_path: Path) -> None:
    _write(tmp_path / "schemas" / "ping.json", '{"const": "ping"}')
    text = (
        "routes:\n  /ws:\n    messages:\n      p: {kind: text, schema: {$ref: schemas/ping.json}}\n"
    )
    spec = load_spec_text(text, filename="inline.yaml", base_dir=tmp_path)
    message = spec.routes[0].message("p")
    assert message.schema is not None
    assert message.schema.value == {
        "$ref": "#/$defs/__file__ping.json",
        "$defs": {"__file__ping.json": {"const": "ping"}},
    }
    assert spec.source == str(tmp_path.resolve() / "inline.yaml")
    assert load_spec_text("version: 1\n").source is None


def test_load_spec_text_errors_use_the_given_name() -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text("settings: {max_messages: 0}\n")
    assert str(info.value) == (
        "<string>:1:12: settings.max_messages: expected an integer >= 1, got 0"
    )


def test_load_spec_text_toml_and_pyproject() -> None:
    assert load_spec_text("[settings]\nmax_messages = 2\n", fmt="toml").settings.max_messages == 2
    pyproject = '[tool.pytest-routes]\napp = "a:b"\n[tool.ws-routes]\nversion = 1\n'
    assert load_spec_text(pyproject, filename="pyproject.toml", fmt="toml").app == "a:b"


def test_fifty_routes_load(tmp_path: Path) -> None:
    _write(
        tmp_path / "chat.json",
        '{"$defs": {"room": {"type": "string"}}, "type": "object",'
        ' "properties": {"room": {"$ref": "#/$defs/room"}}}',
    )
    routes = "".join(
        f"""\
  /ws/r{i}/{{room}}:
    path_params: {{room: {{type: string, pattern: "^[a-z]{{1,{i + 1}}}$"}}}}
    query: {{type: object, properties: {{n{i}: {{type: integer}}}}}}
    auth: {{query_param: token, token: t}}
    messages:
      join: {{kind: json, schema: {{$ref: "chat.json"}}, reply: [ack]}}
      text: {{kind: text, schema: {{maxLength: {i + 5}}}}}
      blob: {{kind: bytes, max_size: {i + 1}}}
    replies:
      ack: {{kind: json, schema: {{type: object, required: [id{i}]}}}}
    close_codes: [1000, 4400]
"""
        for i in range(50)
    )
    _write(tmp_path / "ws-routes.yaml", "version: 1\nroutes:\n" + routes)
    # How fast is for benchmarks/bench_spec.py to print; here, that all fifty load.
    spec = load_spec()
    assert [r.path for r in spec.routes] == [f"/ws/r{i}/{{room}}" for i in range(50)]


# -- hostile values: located errors, never a traceback, a hang or a file's content ---------------

_ROUTE = "version: 1\nroutes:\n  /ws:\n    messages:\n      m:\n        kind: json\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "settings:\n  connection_timeout: .inf\n",
            "ws-routes.yaml:2:3: settings.connection_timeout: expected a finite number, got inf",
        ),
        (
            "settings:\n  message_timeout: .nan\n",
            "ws-routes.yaml:2:3: settings.message_timeout: expected a finite number, got nan",
        ),
        (
            "settings:\n  connection_timeout: 1e308\n",
            "ws-routes.yaml:2:3: settings.connection_timeout: expected a number of seconds greater"
            " than 0 and at most 86400 (one day), got 1e+308",
        ),
        (
            "settings:\n  max_message_size: 1e11\n",
            "ws-routes.yaml:2:3: settings.max_message_size: expected a size in bytes from 1 to"
            " 67108864 (64 MiB), got 100000000000.0",
        ),
        (
            "settings:\n  test_close_codes: [{}]\n",
            "ws-routes.yaml:2:22: settings.test_close_codes.0: expected a close code (an integer"
            " from 1000 to 4999), got {}",
        ),
        (
            "version: 1\nroutes:\n  /ws:\n    close_codes: [{}, 1006]\n",
            "ws-routes.yaml:4:19: routes./ws.close_codes.0: expected a close code (an integer"
            " from 1000 to 4999), got {}",
        ),
        (
            _ROUTE + '        schema: {$ref: "a\\0b.json"}\n',
            "ws-routes.yaml:7:18: routes./ws.messages.m.schema.$ref: $ref 'a\\x00b.json' holds a"
            " NUL character",
        ),
        (
            _ROUTE + "        schema: {type: integer, maximum: .inf}\n",
            "ws-routes.yaml:7:33: routes./ws.messages.m.schema.maximum: expected a finite number,"
            " got inf",
        ),
    ],
)
def test_hostile_values_are_located_errors(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path / "ws-routes.yaml", text)
    errors = _strings("ws-routes.yaml")
    assert errors[0].startswith(expected), errors


def test_nesting_limits_in_yaml_toml_and_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "ws-routes.yaml", "a: " + "[" * 500 + "]" * 500 + "\n")
    (error,) = _strings("ws-routes.yaml")
    assert error.startswith("ws-routes.yaml:1:103: a.0.0.0.0....(92 more)....0.0.0: nested more")
    assert "than 100 lists or mappings deep" in error
    _write(tmp_path / "ws-routes.toml", "a = " + "[" * 600 + "]" * 600 + "\n")
    # Located at the value where the parser gets that far (3.13), else at the file.
    (error,) = _strings("ws-routes.toml")
    assert error.startswith("ws-routes.toml: ")
    assert error.endswith(": nested more than 100 lists or mappings deep (flatten it)")
    _write(tmp_path / "deep.toml", "a = " + "[" * 150 + "]" * 150 + "\n")
    (error,) = _strings("deep.toml")
    assert error.startswith("deep.toml: a.0.0.0.0....")
    assert "nested more than 100" in error


def test_a_schema_nested_250_deep_is_a_located_error(tmp_path: Path) -> None:
    schema = "{items: " * 250 + "{}" + "}" * 250
    _write(tmp_path / "ws-routes.yaml", _ROUTE + f"        schema: {schema}\n")
    (error,) = _strings("ws-routes.yaml")
    assert error.startswith("ws-routes.yaml:7:")
    assert "routes./ws.messages.m.schema....(" in error
    assert "nested more than 100 lists or mappings deep" in error


def test_the_seed_table_rejects_nan_once(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.pytest-routes.websocket]\nmessage_timeout = nan\n")
    assert _strings(rootdir=tmp_path) == [
        "pyproject.toml: tool.pytest-routes.websocket.message_timeout: expected a finite number,"
        " got nan (JSON has no NaN or infinity; write a bound, or leave the key out)"
    ]


def test_a_spec_path_that_is_a_fifo_or_a_folder_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    assert _strings("fifo.yaml") == [
        "fifo.yaml: (top level): the spec file 'fifo.yaml' is not a regular file (name a .json"
        " or .yaml file)"
    ]
    (tmp_path / "dir.yaml").mkdir()
    assert "the spec file 'dir.yaml' is a folder" in _strings("dir.yaml")[0]
