"""specbuild: the semantic checks the format schema cannot express, and the typed Spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.spec.texts import errors_of, load_text
from ws_routes.spec.model import AuthSpec, InvalidSpec


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_version_must_be_1() -> None:
    assert errors_of("version: 2\n") == [
        "ws-routes.yaml:1:1: version: unsupported version 2 (this ws_routes reads version 1)"
    ]


def test_route_paths_start_with_a_slash() -> None:
    assert errors_of("routes:\n  ws/chat: {}\n") == [
        "ws-routes.yaml:2:3: routes.ws/chat: route path 'ws/chat' must start with '/' "
        "(did you mean '/ws/chat'?)"
    ]


def test_path_params_must_be_in_the_path() -> None:
    spec = """\
    routes:
      "/ws/{room_id:int}/{user}":
        path_params:
          room_id: {type: integer}
          usr: {type: string}
      "/ws/plain":
        path_params:
          x: {type: string}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:5:7: routes./ws/{room_id:int}/{user}.path_params.usr: path parameter "
        "'usr' is not in the route path '/ws/{room_id:int}/{user}' (did you mean 'user'?)",
        "ws-routes.yaml:8:7: routes./ws/plain.path_params.x: path parameter 'x' is not in the "
        "route path '/ws/plain' (the path has no parameters)",
    ]


def test_reply_names_must_exist() -> None:
    spec = """\
    routes:
      /ws/a:
        messages:
          m: {kind: json, reply: [akc, nothing]}
        replies:
          ack: {kind: json}
      /ws/b:
        messages:
          m: {kind: text, reply: [pong]}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:4:31: routes./ws/a.messages.m.reply.0: unknown reply 'akc' "
        "(did you mean 'ack'?)",
        "ws-routes.yaml:4:36: routes./ws/a.messages.m.reply.1: unknown reply 'nothing' "
        "(declare it under 'replies')",
        "ws-routes.yaml:9:31: routes./ws/b.messages.m.reply.0: unknown reply 'pong' "
        "(this route declares no replies)",
    ]


def test_strategy_and_schema_exclude_each_other() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          m:
            kind: json
            schema: {type: object}
            strategy: "app.strategies:message"
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:7:9: routes./ws.messages.m.strategy: 'strategy' and 'schema' exclude "
        "each other (a strategy generates the values itself: remove one of them)"
    ]


def test_bytes_take_no_schema() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          blob: {kind: bytes, schema: {type: string}}
        replies:
          frame: {kind: bytes, schema: {type: string}}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:4:27: routes./ws.messages.blob.schema: a bytes message takes no schema "
        "(bound its length with min_size and max_size)",
        "ws-routes.yaml:6:28: routes./ws.replies.frame.schema: a bytes reply takes no schema "
        "(bound its length with min_size and max_size)",
    ]


def test_sizes() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          blob: {kind: bytes, min_size: 10, max_size: 2}
          doc: {kind: json, max_size: 10}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:4:27: routes./ws.messages.blob.min_size: min_size 10 is greater than "
        "max_size 2",
        "ws-routes.yaml:5:25: routes./ws.messages.doc.max_size: max_size applies to text and "
        "bytes messages only (bound JSON values in the schema instead)",
    ]


def test_bytes_replies_take_sizes_and_other_replies_do_not() -> None:
    spec = load_text(
        """\
        routes:
          /ws:
            replies:
              frame: {kind: bytes, min_size: 2, max_size: 8}
              open: {kind: bytes}
        """
    )
    frame, open_ = spec.routes[0].replies
    assert (frame.min_size, frame.max_size) == (2, 8)
    assert (open_.min_size, open_.max_size) == (None, None)
    bad = """\
    routes:
      /ws:
        replies:
          frame: {kind: bytes, min_size: 9, max_size: 8}
          doc: {kind: json, max_size: 10}
          line: {kind: text, min_size: 1}
          neg: {kind: bytes, max_size: -1}
    """
    assert errors_of(bad) == [
        "ws-routes.yaml:4:28: routes./ws.replies.frame.min_size: min_size 9 is greater than "
        "max_size 8",
        "ws-routes.yaml:5:25: routes./ws.replies.doc.max_size: max_size applies to bytes replies "
        "only (bound json replies in their schema instead)",
        "ws-routes.yaml:6:26: routes./ws.replies.line.min_size: min_size applies to bytes replies "
        "only (bound text replies in their schema instead)",
        "ws-routes.yaml:7:26: routes./ws.replies.neg.max_size: expected a size in bytes from 0 to "
            "67108864 (64 MiB), got -1",
    ]


def test_auth_names_exactly_one_place() -> None:
    spec = """\
    routes:
      /a:
        auth: {token: t}
      /b:
        auth: {header: Authorization, cookie: session}
      /c:
        auth: {query_param: token, scheme: Bearer}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:3:5: routes./a.auth: auth needs exactly one of query_param, header, "
        "cookie, first_message; got none",
        "ws-routes.yaml:5:5: routes./b.auth: auth needs exactly one of query_param, header, "
        "cookie, first_message; got 'header' and 'cookie'",
        "ws-routes.yaml:7:32: routes./c.auth.scheme: 'scheme' applies to header credentials only "
        "(add 'header: Authorization' or remove 'scheme')",
    ]


def test_close_codes_no_frame_can_carry() -> None:
    spec = """\
    settings:
      test_close_codes: [1000, 1005]
    routes:
      /ws:
        close_codes: [1000, 1006]
        invalid: {close_codes: [1015]}
        settings: {test_close_codes: [1004]}
    """
    hint = "(RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 and 1015)"
    assert errors_of(spec) == [
        f"ws-routes.yaml:2:28: settings.test_close_codes.1: close code 1005 can never be sent "
        f"in a close frame {hint}",
        f"ws-routes.yaml:5:25: routes./ws.close_codes.1: close code 1006 can never be sent in a "
        f"close frame {hint}",
        f"ws-routes.yaml:6:29: routes./ws.invalid.close_codes.0: close code 1015 can never be "
        f"sent in a close frame {hint}",
        f"ws-routes.yaml:7:35: routes./ws.settings.test_close_codes.0: close code 1004 can never "
        f"be sent in a close frame {hint}",
    ]


def test_user_schemas_must_be_valid_where_they_are_written() -> None:
    spec = """\
    routes:
      /ws/{room}:
        path_params:
          room: {type: strng}
        query: {type: object, required: lang}
        headers: {properties: {x-a: {minLength: -1}}}
        auth: {first_message: {pattern: "[a-"}}
        messages:
          m:
            kind: json
            schema:
              type: object
              properties:
                n: {type: integer, minimum: "3"}
        replies:
          r: {kind: text, schema: {enum: 3}}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:4:14: routes./ws/{room}.path_params.room.type: 'strng' is not a JSON "
        "type (one of array, boolean, integer, null, number, object, string) "
        "(did you mean 'string'?)",
        "ws-routes.yaml:5:27: routes./ws/{room}.query.required: expected a list, got 'lang'",
        "ws-routes.yaml:6:34: routes./ws/{room}.headers.properties.x-a.minLength: expected an "
        "integer >= 0, got -1",
        "ws-routes.yaml:7:28: routes./ws/{room}.auth.first_message.pattern: '[a-' is not a 'regex'",
        "ws-routes.yaml:14:32: routes./ws/{room}.messages.m.schema.properties.n.minimum: "
        "expected a number, got '3'",
        "ws-routes.yaml:16:32: routes./ws/{room}.replies.r.schema.enum: expected a list, got 3",
    ]


def test_invalid_schemas_in_referenced_files_are_located_in_those_files(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "chat.json").write_text(
        '{\n  "$defs": {\n    "room": {"type": "strin"}\n  },\n  "$ref": "#/$defs/room"\n}\n'
    )
    spec = """\
    routes:
      /ws:
        messages:
          m: {kind: json, schema: {$ref: "schemas/chat.json"}}
    """
    assert errors_of(spec) == [
        "schemas/chat.json:3:14: $defs.room.type: 'strin' is not a JSON type (one of array, "
        "boolean, integer, null, number, object, string) (did you mean 'string'?)"
    ]


FULL = """\
version: 1
app: "chat_app:app"
settings:
  max_messages: 10.0
  connection_timeout: 5
  test_close_codes: [1000]
  include: ["/ws/*"]
  checks: {reply_schema: false, origin: false}
  origin: "https://evil.example"
routes:
  "/ws/chat/{room_id}":
    description: "chat"
    path_params: {room_id: {type: string}}
    query: {type: object}
    headers: {type: object}
    subprotocols: [chat.v2, chat.v1]
    auth:
      header: Authorization
      scheme: Bearer
      token: demo-token
    messages:
      chat: {kind: json, schema: {$ref: "chat.json"}, weight: 3, reply: [ack]}
      blob: {kind: bytes, min_size: 0, max_size: 1024}
      custom: {kind: json, strategy: "myproject.strategies:chat_message"}
    replies:
      ack: {kind: json, schema: {type: object}}
      error: {kind: json, error: true}
    close_codes: [1000, 4400]
    checks: {origin: true, undocumented_reply: false}
    settings: {max_messages: 5, message_timeout: 2, origin: null}
    invalid: {close_codes: [1003], must_reject: true}
  /ws/plain: {}
"""


def test_a_full_spec_is_built_into_frozen_dataclasses(tmp_path: Path) -> None:
    (tmp_path / "chat.json").write_text(json.dumps({"type": "object"}))
    spec = load_text(FULL)
    assert spec.app == "chat_app:app"
    assert spec.source == str(tmp_path.resolve() / "ws-routes.yaml")
    settings = spec.settings
    assert settings.max_messages == 10
    assert isinstance(settings.max_messages, int)
    assert settings.connection_timeout == 5.0
    assert isinstance(settings.connection_timeout, float)
    assert settings.test_close_codes == (1000,)
    assert settings.include == ("/ws/*",)
    assert settings.checks == {"reply_schema": False, "origin": False}
    chat, plain = spec.routes
    assert chat.path == "/ws/chat/{room_id}"
    assert chat.description == "chat"
    assert chat.subprotocols == ("chat.v2", "chat.v1")
    assert chat.close_codes == (1000, 4400)
    assert plain.close_codes is None
    assert chat.auth == AuthSpec(
        header="Authorization",
        scheme="Bearer",
        token="demo-token",
        reject_close_codes=(1008, 4001, 4003),
    )
    assert chat.invalid == InvalidSpec(close_codes=(1003,), must_reject=True)
    assert plain.invalid == InvalidSpec()
    assert [m.name for m in chat.messages] == ["chat", "blob", "custom"]
    message = chat.message("chat")
    assert (message.kind, message.weight, message.reply) == ("json", 3.0, ("ack",))
    assert message.schema is not None
    assert message.schema.value == {
        "$ref": "#/$defs/__file__chat.json",
        "$defs": {"__file__chat.json": {"type": "object"}},
    }
    assert str(message.schema.location) == (
        "ws-routes.yaml:22:26: routes./ws/chat/{room_id}.messages.chat.schema"
    )
    assert str(message.location) == "ws-routes.yaml:22:7: routes./ws/chat/{room_id}.messages.chat"
    blob = chat.message("blob")
    assert (blob.schema, blob.min_size, blob.max_size) == (None, 0, 1024)
    assert chat.message("custom").strategy == "myproject.strategies:chat_message"
    assert chat.reply("error").error is True
    assert chat.reply("ack").error is False
    assert chat.path_params["room_id"].value == {"type": "string"}
    assert chat.query is not None
    assert plain.query is None
    assert str(chat.location) == "ws-routes.yaml:11:3: routes./ws/chat/{room_id}"


def test_route_settings_override_the_global_ones_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "chat.json").write_text("{}")
    chat, plain = load_text(FULL).routes
    assert chat.settings.max_messages == 5
    assert chat.settings.message_timeout == 2.0
    assert chat.settings.connection_timeout == 5.0  # inherited
    assert chat.settings.origin is None  # null switches the origin check's Origin off
    assert chat.settings.checks == {
        "reply_schema": False,
        "origin": True,
        "undocumented_reply": False,
    }
    assert plain.settings == load_text(FULL).settings


def test_markers_and_fixtures_are_built_in_order() -> None:
    spec = load_text(
        """\
        routes:
          /ws/chat: {markers: [slow, db], fixtures: [database, override_auth]}
          /ws/plain: {}
        """
    )
    chat, plain = spec.routes
    assert (chat.markers, chat.fixtures) == (("slow", "db"), ("database", "override_auth"))
    assert (plain.markers, plain.fixtures) == ((), ())


def test_markers_that_take_arguments_or_are_operators_are_refused_where_written() -> None:
    spec = """\
    routes:
      /ws/chat:
        markers: [slow, usefixtures, not]
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:3:21: routes./ws/chat.markers.1: marker 'usefixtures' cannot be set "
        "here (name the fixtures under 'fixtures' instead)",
        "ws-routes.yaml:3:34: routes./ws/chat.markers.2: marker 'not' cannot be set here "
        "(-m reads it as an operator, so it could not select)",
    ]


def test_marker_and_fixture_names_are_identifiers_listed_once() -> None:
    spec = """\
    routes:
      /ws/chat: {markers: [slow, slow], fixtures: [my-db]}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:2:30: routes./ws/chat.markers.1: duplicate item 'slow' (list each value once)",
        "ws-routes.yaml:2:48: routes./ws/chat.fixtures.0: expected a string matching "
        "'^[A-Za-z_][A-Za-z0-9_]*$', got 'my-db'",
    ]


def test_a_server_url_is_checked_where_it_is_written() -> None:
    assert load_text("server: {url: 'ws://127.0.0.1:8000/api'}\n").server_url == (
        "ws://127.0.0.1:8000/api"
    )
    assert errors_of("server:\n  url: http://h\n") == [
        "ws-routes.yaml:2:3: server.url: expected ws://HOST[:PORT][/prefix] or "
        "wss://HOST[:PORT][/prefix], got 'http://h'"
    ]
