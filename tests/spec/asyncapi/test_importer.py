"""AsyncAPI import: each mapping rule, the documents in tests/data/asyncapi/, and located errors."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ws_routes.compile.route import compile_route
from ws_routes.errors import SpecError, SpecErrors
from ws_routes.spec.asyncapi import import_asyncapi
from ws_routes.spec.asyncapi.emit import dump_yaml
from ws_routes.spec.asyncapi.messages import kind_of
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.model import Spec, StreamSpec, WrongState
from ws_routes.spec.yamlpos import parse_yaml

DATA = Path(__file__).resolve().parents[2] / "data" / "asyncapi"
TICKER_V2 = DATA / "tickerx-2.6.yaml"
TICKER_V3 = DATA / "tickerx-3.0.yaml"
PULSE = DATA / "pulse-notifications-3.0.json"
QUOTES = DATA / "quotes-rpc-3.0.yaml"
DOCUMENTS = [TICKER_V2, TICKER_V3, PULSE, QUOTES]


def write(folder: Path, text: str, name: str = "asyncapi.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def imported(path: Path) -> Spec:
    return load_spec_text(import_asyncapi(path))


def errors_of(path: Path) -> list[SpecError]:
    with pytest.raises((SpecError, SpecErrors)) as info:
        import_asyncapi(path)
    error = info.value
    return list(error.errors) if isinstance(error, SpecErrors) else [error]  # type: ignore[union-attr]


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            elif key not in ("const", "enum", "default", "examples"):
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolves(root: Any, ref: str) -> bool:
    node = root
    for token in ref.lstrip("#").split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return False
        node = node[token]
    return True


# -- the documents in tests/data/asyncapi ------------------------------------------------------


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_imported_documents_load_and_every_route_compiles(path: Path) -> None:
    spec = imported(path)
    assert spec.routes
    for route in spec.routes:
        compiled = compile_route(route)
        assert [m.spec.name for m in compiled.messages] == [m.name for m in route.messages]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_imported_schema_is_self_contained(path: Path) -> None:
    spec = imported(path)
    schemas = [s for r in spec.routes for s in (r.query, r.headers, *r.path_params.values())]
    schemas += [m.schema for r in spec.routes for m in (*r.messages, *r.replies)]
    checked = 0
    for schema in schemas:
        if schema is None:
            continue
        for ref in refs(schema.value):
            assert ref.startswith("#"), ref
            assert resolves(schema.value, ref), ref
            checked += 1
    assert checked > 3


def test_v2_channels_on_websocket_servers_become_routes_below_the_server_path() -> None:
    text = import_asyncapi(TICKER_V2)
    spec = load_spec_text(text)
    assert [r.path for r in spec.routes] == [
        "/ws/v2/market/{symbol}",
        "/ws/v2/chat/{room}",
        "/ws/v2/heartbeat",
    ]
    assert "channels.settlement.executed: skipped" in text
    assert "'settlement-bus' (kafka)" in text


def test_header_says_where_the_spec_came_from() -> None:
    text = import_asyncapi(TICKER_V3)
    first = text.splitlines()[0]
    assert first.startswith("# ws-routes spec imported from ")
    assert "tickerx-3.0.yaml" in first
    assert "AsyncAPI 3.0.0: TickerX Streaming API 3.0.0" in first
    data, _ = parse_yaml(text, filename="x")
    assert data["version"] == 1


def test_v2_publish_is_what_clients_send_and_subscribe_what_they_receive() -> None:
    route = imported(TICKER_V2).routes[0]
    assert [m.name for m in route.messages] == ["subscribe", "unsubscribe", "ping"]
    assert [r.name for r in route.replies] == ["bookSnapshot", "bookUpdate", "ack", "pong", "error"]


def test_v3_receive_is_what_clients_send_and_send_what_the_server_sends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          feed:
            address: /feed
            messages:
              hello: {payload: {const: {op: hello}}}
              tick: {payload: {type: object}}
        operations:
          pushTicks: {action: send, channel: {$ref: '#/channels/feed'}, messages: [{$ref: '#/channels/feed/messages/tick'}]}
          greet: {action: receive, channel: {$ref: '#/channels/feed'}, messages: [{$ref: '#/channels/feed/messages/hello'}]}
        """,
    )
    route = imported(path).routes[0]
    assert [m.name for m in route.messages] == ["hello"]
    assert [r.name for r in route.replies] == ["tick"]


def test_v3_operation_reply_lists_the_replies_of_its_messages() -> None:
    route = imported(TICKER_V3).routes[0]
    assert route.message("subscribe").reply == ("bookSnapshot", "ack", "error")
    assert route.message("unsubscribe").reply == ("ack", "error")
    assert route.message("ping").reply == ("pong",)


def test_v3_operation_replies_and_correlation_ids_tie_replies_to_requests() -> None:
    route = imported(QUOTES).routes[0]
    assert route.path == "/rpc"
    assert [m.name for m in route.messages] == [
        *("initialize", "call", "notify", "subscribe", "unsubscribe"),
    ]
    # each receive operation's reply (with or without its channel) lists its message's replies
    assert route.message("initialize").reply == ("initialized", "error")
    assert route.message("call").reply == ("result", "error")
    # correlationId locations, inline or from components.correlationIds, become pointers
    correlations = {m.name: m.correlation for m in (*route.messages, *route.replies)}
    assert correlations == {
        **dict.fromkeys(("initialize", "call", "subscribe", "initialized", "result"), "/id"),
        **{"error": "/id", "done": "/id", "notify": None},
        **dict.fromkeys(("unsubscribe", "update"), "/params/subscription"),
    }
    # a stream's replies are its items and ends: its operation reply is no `reply` list
    subscribe = route.message("subscribe")
    assert subscribe.stream == StreamSpec(items=("update",), end=("done", "error"))
    assert subscribe.reply == ()
    assert subscribe.unique is True
    # a receive operation without a reply, and the extensions AsyncAPI has no words for
    assert route.message("notify").no_reply is True
    assert route.message("unsubscribe").ends == "subscribe"
    assert route.message("unsubscribe").no_reply is True


def test_protocol_state_comes_from_the_extensions() -> None:
    route = imported(QUOTES).routes[0]
    assert (route.states, route.opening) == (("connecting", "ready"), ("initialize",))
    initialize = route.message("initialize")
    assert (initialize.when, initialize.wrong_state) == (
        ("connecting",),
        WrongState(close_codes=(4409,)),
    )
    initialized = route.reply("initialized")
    assert (initialized.goto, dict(initialized.capture)) == (
        "ready",
        {"session": "/result/session"},
    )
    call = route.message("call")
    assert (call.when, dict(call.use), dict(call.echo)) == (
        ("ready",),
        {"/params/session": "session"},
        {"/result/method": "/method"},
    )
    [case] = call.cases
    assert case.reply == ("error",)
    assert case.match.value == {  # bundled like a payload: components.schemas.Shutdown
        "type": "object",
        "properties": {"method": {"const": "shutdown"}},
        "required": ["method"],
    }


def test_v3_operation_without_messages_takes_every_message_of_its_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          echo:
            address: /echo
            messages:
              a: {contentType: text/plain, payload: {type: string}}
              b: {contentType: text/plain, payload: {type: string}}
              unused: {payload: {type: object}}
        operations:
          listen: {action: receive, channel: {$ref: '#/channels/echo'}}
          answer: {action: send, channel: {$ref: '#/channels/echo'}, messages: [{$ref: '#/channels/echo/messages/a'}]}
        """,
    )
    text = import_asyncapi(path)
    route = load_spec_text(text).routes[0]
    assert [m.name for m in route.messages] == ["a", "b", "unused"]
    assert [r.name for r in route.replies] == ["a"]


def test_a_channel_message_no_operation_uses_is_left_out_with_a_note(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          echo:
            address: /echo
            messages:
              used: {payload: {type: object}}
              forgotten: {payload: {type: object}}
        operations:
          listen: {action: receive, channel: {$ref: '#/channels/echo'}, messages: [{$ref: '#/channels/echo/messages/used'}]}
        """,
    )
    text = import_asyncapi(path)
    assert [m.name for m in load_spec_text(text).routes[0].messages] == ["used"]
    assert "channels.echo.messages.forgotten: no operation sends or receives it" in text


def test_equivalent_v2_and_v3_documents_give_equal_specs() -> None:
    assert imported(TICKER_V2) == imported(TICKER_V3)


def test_parameters_become_path_params() -> None:
    v2, v3 = imported(TICKER_V2).routes[0], imported(TICKER_V3).routes[0]
    expected = {"type": "string", "enum": ["BTC-USD", "ETH-USD", "SOL-USD"]}
    for route in (v2, v3):
        assert {
            k: v for k, v in route.path_params["symbol"].value.items() if k != "description"
        } == expected
    pulse = imported(PULSE).routes[1]
    assert pulse.path_params["uploadId"].value == {
        "type": "string",
        "enum": ["avatar", "banner", "file"],
        "default": "file",
    }


def test_parameters_without_a_constraint_or_outside_the_address(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          room:
            address: /rooms/{room}/{part}
            parameters:
              room: {}
              part: {x-ws-routes-schema: {type: string, pattern: '^[a-z]+$'}}
              stray: {enum: [x]}
        """,
    )
    text = import_asyncapi(path)
    route = load_spec_text(text).routes[0]
    assert route.path == "/rooms/{room}/{part}"
    assert set(route.path_params) == {"part"}
    assert route.path_params["part"].value == {"type": "string", "pattern": "^[a-z]+$"}
    assert "parameter 'stray' is not in the path '/rooms/{room}/{part}': left out" in text


def test_ws_bindings_become_query_and_headers() -> None:
    route = imported(TICKER_V3).routes[0]
    assert route.query is not None
    assert route.headers is not None
    assert set(route.query.value["properties"]) == {"depth", "compression"}
    assert route.headers.value["properties"]["X-Client-Id"]["pattern"] == "^[a-z0-9-]{4,32}$"
    pulse = imported(PULSE).routes[0]
    assert pulse.query is not None
    assert pulse.query.value["$defs"]["Cursor"] == {
        "type": "string",
        "minLength": 8,
        "maxLength": 64,
    }


def test_route_extensions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        x-ws-routes-app: "game:app"
        x-ws-routes-settings: {max_messages: 4, checks: {origin: false}}
        channels:
          /play/{table}:
            x-ws-routes-path: /play/{table:int}
            x-ws-routes-subprotocols: [game.v1]
            x-ws-routes-close-codes: [1000, 4001]
            x-ws-routes-auth: {first_message: {$ref: '#/components/schemas/Login'}, token: t0ken}
            x-ws-routes-invalid: {must_reject: true}
            x-ws-routes-checks: {reply_expected: false}
            x-ws-routes-settings: {message_timeout: 0.5}
            publish:
              x-ws-routes-close-codes: [1000]
              message: {payload: {type: object}}
        components:
          schemas:
            Login:
              type: object
              properties: {op: {const: login}, user: {$ref: '#/components/schemas/User'}}
            User: {type: string, minLength: 1}
        """,
    )
    spec = imported(path)
    route = spec.routes[0]
    assert spec.app == "game:app"
    assert spec.settings.max_messages == 4
    assert route.path == "/play/{table:int}"
    assert route.subprotocols == ("game.v1",)
    assert route.close_codes == (1000, 4001)  # the channel's value wins over its operation's
    assert route.auth is not None
    assert route.auth.token == "t0ken"
    assert route.auth.first_message is not None
    assert route.auth.first_message.value["properties"]["user"] == {"$ref": "#/$defs/User"}
    assert route.invalid.must_reject is True
    assert route.settings.check_enabled("reply_expected") is False
    assert route.settings.check_enabled("origin") is False
    assert route.settings.message_timeout == 0.5


def test_route_extensions_on_a_v3_operation_fill_in_for_the_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          c: {address: /c, x-ws-routes-subprotocols: [a]}
        operations:
          o:
            action: receive
            channel: {$ref: '#/channels/c'}
            x-ws-routes-subprotocols: [b]
            x-ws-routes-close-codes: [1000]
        """,
    )
    route = imported(path).routes[0]
    assert route.subprotocols == ("a",)
    assert route.close_codes == (1000,)


@pytest.mark.parametrize(
    ("content_type", "payload", "kind"),
    [
        ("application/json", {"type": "object"}, "json"),
        ("application/json", {"type": "string"}, "json"),
        ("application/cloudevents+json; charset=utf-8", None, "json"),
        ("text/plain", {"type": "string"}, "text"),
        ("application/xml", None, "text"),
        ("application/octet-stream", {"type": "string", "format": "binary"}, "bytes"),
        ("application/x-protobuf", None, "bytes"),
        (None, {"type": "object"}, "json"),
        (None, {"type": "array"}, "json"),
        (None, {"type": "number"}, "json"),
        (None, {"type": "string"}, "text"),
        (None, {"type": "string", "format": "binary"}, "bytes"),
        (None, None, "json"),
    ],
)
def test_kind_follows_content_type_then_payload(
    content_type: str | None, payload: Any, kind: str
) -> None:
    assert kind_of(content_type, payload) == kind


def test_message_kinds_sizes_and_errors_in_a_document() -> None:
    heartbeat = imported(TICKER_V2).routes[2]
    assert heartbeat.message("beat").kind == "text"
    assert heartbeat.message("beat").schema is not None
    upload = imported(PULSE).routes[1]
    chunk = upload.message("chunk")
    assert (chunk.kind, chunk.schema, chunk.min_size, chunk.max_size) == ("bytes", None, 1, 65536)
    market = imported(TICKER_V3).routes[0]
    assert market.reply("error").error is True
    assert market.reply("ack").error is False
    assert market.message("subscribe").weight == 3.0


def test_message_names_and_their_fallbacks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        channels:
          /x:
            publish:
              message:
                oneOf:
                  - {name: explicit, messageId: notThis, payload: {type: object}}
                  - $ref: '#/components/messages/FromComponent'
                  - {messageId: byId, title: notThis, payload: {type: object}}
                  - {title: By title, payload: {type: object}}
                  - {payload: {type: object, properties: {type: {const: join}}}}
                  - {payload: {type: object, properties: {event: {enum: [leave]}}}}
                  - {payload: {type: object}}
                  - {payload: {type: object}}
                  - {name: explicit, payload: {type: object}}
        components:
          messages:
            FromComponent: {payload: {type: object}}
        """,
    )
    names = [m.name for m in imported(path).routes[0].messages]
    assert names == [
        "explicit",
        "FromComponent",
        "byId",
        "By title",
        "join",
        "leave",
        "message",
        "message_2",
        "explicit_2",
    ]


def test_components_are_bundled_into_defs_and_cycles_survive(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          tree:
            address: /tree
            messages:
              put: {payload: {$ref: '#/components/schemas/Node'}}
        operations:
          o: {action: receive, channel: {$ref: '#/channels/tree'}}
        components:
          schemas:
            Node:
              type: object
              properties:
                label: {$ref: '#/components/schemas/Label'}
                children: {type: array, maxItems: 2, items: {$ref: '#/components/schemas/Node'}}
              required: [label]
            Label: {type: string, maxLength: 8}
        """,
    )
    route = imported(path).routes[0]
    schema = route.message("put").schema
    assert schema is not None
    assert schema.value["properties"]["children"]["items"] == {"$ref": "#"}
    assert schema.value["$defs"] == {"Label": {"type": "string", "maxLength": 8}}
    compile_route(route)


def test_refs_into_other_files_are_bundled() -> None:
    route = imported(PULSE).routes[0]
    page = route.reply("Page").schema
    assert page is not None
    defs = page.value["$defs"]
    assert set(defs) == {"notification.schema", "UserRef", "UserId", "Cursor"}
    assert "$schema" not in defs["notification.schema"]  # a copy is not a resource root
    assert defs["notification.schema"]["properties"]["id"] == {
        "$ref": "#/$defs/notification.schema/definitions/id"
    }


def test_draft07_only_keywords_name_their_dialect() -> None:
    route = imported(TICKER_V3).routes[0]
    snapshot, subscribe = route.reply("bookSnapshot").schema, route.message("subscribe").schema
    assert snapshot is not None
    assert subscribe is not None
    assert snapshot.value["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$schema" not in subscribe.value  # the same in either dialect: left unlabelled


def test_security_schemes_say_where_the_credential_goes() -> None:
    chat = imported(TICKER_V3).routes[1]
    assert chat.auth is not None
    assert (chat.auth.query_param, chat.auth.token) == ("token", None)
    inbox = imported(PULSE).routes[0]
    assert inbox.auth is not None
    assert (inbox.auth.header, inbox.auth.scheme) == ("Authorization", "Bearer")
    assert imported(PULSE).routes[1].auth is None  # its operations ask for no security


def test_traits_are_merged_under_the_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        channels:
          /t:
            publish:
              message:
                oneOf:
                  - {name: plain, traits: [{$ref: '#/components/messageTraits/text'}], payload: {type: string}}
                  - {name: own, contentType: application/json, traits: [{$ref: '#/components/messageTraits/text'}]}
        components:
          messageTraits:
            text: {contentType: text/plain}
        """,
    )
    route = imported(path).routes[0]
    assert route.message("plain").kind == "text"
    assert route.message("own").kind == "json"


def test_server_prefixes_and_channels_sharing_a_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        servers:
          v1: {host: a.example, pathname: /api/v1, protocol: ws}
          v2: {host: b.example, pathname: /api/v2/, protocol: WSS}
          mq: {host: mq.example, protocol: amqp}
        channels:
          quotes: {address: /quotes}
          trades:
            address: quotes
            messages:
              t: {payload: {type: object}}
          only-mq: {address: /mq, servers: [{$ref: '#/servers/mq'}]}
          root: {address: null, servers: [{$ref: '#/servers/v1'}]}
        operations:
          o: {action: send, channel: {$ref: '#/channels/trades'}}
        """,
    )
    text = import_asyncapi(path)
    spec = load_spec_text(text)
    assert [r.path for r in spec.routes] == ["/api/v1/quotes", "/api/v2/quotes", "/api/v1"]
    assert [r.name for r in spec.routes[0].replies] == ["t"]
    assert "merged into its route" in text
    assert "channels.only-mq: skipped: only on non-WebSocket servers 'mq' (amqp)" in text


def test_a_document_without_websocket_channels_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        servers:
          broker: {url: 'mqtt://broker.example', protocol: mqtt}
        channels:
          sensors/temp: {subscribe: {message: {payload: {type: number}}}}
        """,
    )
    [error] = errors_of(path)
    assert error.message == "no WebSocket channel to import"
    assert error.hint is not None
    assert "'broker' (mqtt)" in error.hint


def test_non_json_schema_payloads_are_noted_not_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          c:
            address: /c
            messages:
              avro:
                contentType: application/octet-stream
                payload: {schemaFormat: 'application/vnd.apache.avro;version=1.9.0', schema: {type: record, name: R, fields: []}}
              draft7:
                payload: {schemaFormat: 'application/schema+json;version=draft-07', schema: {type: array, items: [{type: integer}]}}
              behindRef:
                payload: {$ref: '#/components/schemas/Multi'}
        operations:
          o: {action: receive, channel: {$ref: '#/channels/c'}}
        components:
          schemas:
            Multi:
              schemaFormat: 'application/schema+json;version=draft-2020-12'
              schema: {type: array, prefixItems: [{type: integer}]}
        """,
    )
    text = import_asyncapi(path)
    route = load_spec_text(text).routes[0]
    assert route.message("avro").kind == "bytes"
    behind = route.message("behindRef").schema
    assert behind is not None
    assert behind.value == {"type": "array", "prefixItems": [{"type": "integer"}]}
    assert "payload in 'application/vnd.apache.avro;version=1.9.0' is not checked" in text
    schema = route.message("draft7").schema
    assert schema is not None
    assert schema.value["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_a_declared_schema_dialect_is_named_in_every_schema(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        x-ws-routes-schema-dialect: https://json-schema.org/draft/2019-09/schema
        channels:
          c:
            address: /c
            messages:
              m: {payload: {type: object}}
              forced: {x-ws-routes-kind: text, payload: {type: string}}
        operations:
          o: {action: receive, channel: {$ref: '#/channels/c'}}
        """,
    )
    route = imported(path).routes[0]
    schema = route.message("m").schema
    assert schema is not None
    assert schema.value == {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
    }
    assert route.message("forced").kind == "text"


def test_unknown_servers_and_channels_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        servers:
          production: {url: 'wss://x.example', protocol: wss}
        channels:
          /a: {servers: [prodution]}
          /b: [not, a, channel]
        """,
    )
    unknown, not_a_channel = errors_of(path)
    assert (unknown.message, unknown.hint) == (
        "unknown server 'prodution'",
        "did you mean 'production'?",
    )
    assert not_a_channel.message == "expected a channel (a mapping), got list"


def test_yaml_output_quotes_strings_either_yaml_version_would_misread() -> None:
    values = [
        "1e3",
        "0o17",
        "0x1F",
        "no",
        "on",
        "y",
        "null",
        "~",
        "",
        "true",
        "1_000",
        ".5",
        "12:30",
    ]
    text = dump_yaml({"enum": values, "nested": {"k": values}})
    assert yaml.safe_load(text) == {"enum": values, "nested": {"k": values}}
    assert parse_yaml(text, filename="x")[0] == {"enum": values, "nested": {"k": values}}


# -- errors ------------------------------------------------------------------------------------


def test_not_an_asyncapi_document(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n")
    [error] = errors_of(path)
    assert error.location.file is not None
    assert error.location.file.endswith("asyncapi.yaml")
    assert error.location.line == 1
    assert (
        "not an AsyncAPI document: expected a top-level 'asyncapi' key, got keys 'openapi'"
        in error.message
    )
    assert error.hint is not None
    assert "OpenAPI" in error.hint


def test_a_misspelt_asyncapi_key_gets_a_suggestion(tmp_path: Path) -> None:
    [error] = errors_of(write(tmp_path, "info: {}\nasyncApi: 3.0.0\n"))
    assert error.hint == "did you mean 'asyncapi' instead of 'asyncApi'?"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("'1.2.0'", "unsupported AsyncAPI version '1.2.0': expected 2.x or 3.x"),
        ("'4.0.0'", "unsupported AsyncAPI version '4.0.0': expected 2.x or 3.x"),
        ("2.6", "expected the AsyncAPI version as a string such as '3.0.0', got 2.6"),
        ("'latest'", "expected a version such as '2.6.0' or '3.0.0', got 'latest'"),
    ],
)
def test_unsupported_versions(tmp_path: Path, version: str, message: str) -> None:
    path = write(tmp_path, f"info: {{title: t}}\nasyncapi: {version}\n")
    [error] = errors_of(path)
    assert error.message == message
    assert (error.location.line, error.location.pointer) == (2, "/asyncapi")


def test_a_dangling_ref_is_located_and_suggests_the_close_name(tmp_path: Path) -> None:
    write(tmp_path, "components:\n  schemas:\n    Note: {type: string}\n", "other.yaml")
    path = write(
        tmp_path,
        """
        asyncapi: 2.6.0
        info: {title: t, version: '1'}
        channels:
          /chat:
            publish:
              message:
                $ref: '#/components/messages/ChatMesage'
            subscribe:
              message:
                payload:
                  $ref: 'other.yaml#/components/schemas/Nope'
        components:
          messages:
            ChatMessage: {payload: {type: object}}
        """,
    )
    first, second = errors_of(path)
    assert str(first).endswith(
        "asyncapi.yaml:8:9: channels./chat.publish.message.$ref: $ref"
        " '#/components/messages/ChatMesage' points nowhere: no 'ChatMesage' in"
        " components.messages (did you mean 'ChatMessage'?)"
    )
    assert first.location.line == 8
    assert first.location.pointer == "/channels/~1chat/publish/message/$ref"
    assert first.message == (
        "$ref '#/components/messages/ChatMesage' points nowhere:"
        " no 'ChatMesage' in components.messages"
    )
    assert first.hint == "did you mean 'ChatMessage'?"
    assert second.location.line == 12
    assert "no 'Nope' in components.schemas of " in second.message
    assert second.hint == "did you mean 'Note'?"


def test_a_dangling_ref_in_a_json_document_has_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{\n  "asyncapi": "3.0.0",\n  "info": {"title": "t", "version": "1"},\n'
        '  "channels": {\n    "c": {"$ref": "#/components/channels/missing"}\n  }\n}\n',
        "doc.json",
    )
    [error] = errors_of(path)
    assert error.location.line == 5
    assert "no 'components' in (top level)" in error.message


def test_missing_and_remote_files(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          a: {$ref: 'channels/a.yaml'}
          b: {$ref: 'https://example.com/b.yaml'}
        """,
    )
    missing, remote = errors_of(path)
    assert missing.message == "$ref 'channels/a.yaml': no such file 'channels/a.yaml'"
    assert remote.message == "remote $ref 'https://example.com/b.yaml' is not supported"
    assert (missing.location.line, remote.location.line) == (5, 6)


def test_a_circular_reference_chain(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          a: {$ref: '#/components/channels/b'}
        components:
          channels:
            b: {$ref: '#/components/channels/c'}
            c: {$ref: '#/components/channels/b'}
        """,
    )
    [error] = errors_of(path)
    assert error.message.startswith("circular $ref")


def test_bad_extensions_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          chat:
            address: /chat
            x-ws-routes-close-code: [1000]
            x-ws-routes-close-codes: [1000, 1005, "x"]
            x-ws-routes-weight: 2
        operations:
          hear: {action: recieve, channel: {$ref: '#/channels/chat'}}
        """,
    )
    errors = errors_of(path)
    assert [(e.location.line, e.message, e.hint) for e in errors] == [
        (
            7,
            "unknown extension 'x-ws-routes-close-code' here",
            "did you mean 'x-ws-routes-close-codes'?",
        ),
        (
            8,
            "close code 1005 can never be sent in a close frame",
            "RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 and 1015",
        ),
        (8, "expected a close code (an integer from 1000 to 4999), got 'x'", None),
        (9, "unknown extension 'x-ws-routes-weight' here", "it belongs on a message"),
        (11, "expected action 'send' or 'receive', got 'recieve'", "did you mean 'receive'?"),
    ]


def test_problems_of_the_generated_spec_point_into_the_document(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        asyncapi: 3.0.0
        info: {title: t, version: '1'}
        channels:
          chat:
            address: /chat/{room}
            parameters:
              room:
                x-ws-routes-schema: {type: strin}
            messages:
              say: {payload: {$ref: '#/components/schemas/Say'}}
              hear:
                x-ws-routes-reply: [nothing]
                payload: {type: object}
        operations:
          listen: {action: receive, channel: {$ref: '#/channels/chat'}}
        components:
          schemas:
            Say:
              type: object
              properties:
                text: {$ref: '#/components/schemas/Text'}
            Text:
              type: string
              minLength: -1
        """,
    )
    errors = errors_of(path)
    assert [(e.location.line, e.location.pointer) for e in errors] == [
        (9, "/channels/chat/parameters/room/x-ws-routes-schema/type"),
        (13, "/channels/chat/messages/hear/x-ws-routes-reply/0"),
        (25, "/components/schemas/Text/minLength"),
    ]
    assert errors[0].hint == "did you mean 'string'?"
    assert errors[1].message == "unknown reply 'nothing'"
    assert errors[2].message == "expected an integer >= 0, got -1"


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    [error] = errors_of(write(tmp_path, "asyncapi: 3.0.0\ninfo: [unclosed\n"))
    assert error.message.startswith("invalid YAML")
    assert error.location.line is not None


LIVE_V3 = """
asyncapi: 3.0.0
info: {title: t, version: '1'}
servers:
  staging: {host: 'staging.example.com:{port}', protocol: wss, pathname: /api, variables: {port: {default: '8443'}}}
  mqtt: {host: broker.example.com, protocol: mqtt}
channels:
  feed:
    address: /feed
    messages:
      hello: {payload: {const: {op: hello}}}
operations:
  greet: {action: receive, channel: {$ref: '#/channels/feed'}}
"""


def test_websocket_servers_are_noted_for_live_mode(tmp_path: Path) -> None:
    text = import_asyncapi(write(tmp_path, LIVE_V3))
    assert (
        "# - server 'staging' runs at wss://staging.example.com:8443: test it there with "
        "--routes-url wss://staging.example.com:8443 (or x-ws-routes-server: {url: ...} in the "
        "document)" in text.splitlines()
    )
    assert "broker.example.com" not in text  # not a WebSocket server
    spec = load_spec_text(text)
    assert (spec.server_url, spec.routes[0].path) == (None, "/api/feed")


def test_x_ws_routes_server_names_the_server_of_live_mode(tmp_path: Path) -> None:
    document = "x-ws-routes-server: {url: 'wss://staging.example.com:8443'}\n" + LIVE_V3
    text = import_asyncapi(write(tmp_path, document))
    assert load_spec_text(text).server_url == "wss://staging.example.com:8443"
    assert "runs at" not in text  # chosen already: no note
    bad = write(tmp_path, "x-ws-routes-server: {address: x}\n" + LIVE_V3, name="bad.yaml")
    assert errors_of(bad)
