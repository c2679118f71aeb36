"""The protocol keys in AsyncAPI: correlationId, operation replies and the x-ws-routes-* ones."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ws_routes.errors import SpecError, SpecErrors
from ws_routes.spec.asyncapi import export_asyncapi, import_asyncapi
from ws_routes.spec.asyncapi.protocol_keys import answers, with_replies
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.model import MessageSpec, RouteSpec, StreamSpec

HEAD = """\
asyncapi: 3.0.0
info: {title: t, version: '1'}
defaultContentType: application/json
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "asyncapi.yaml"
    path.write_text(HEAD + textwrap.dedent(text), encoding="utf-8")
    return path


def one_route(path: Path) -> RouteSpec:
    [route] = load_spec_text(import_asyncapi(path)).routes
    return route


def errors_of(path: Path) -> list[SpecError]:
    with pytest.raises((SpecError, SpecErrors)) as info:
        import_asyncapi(path)
    error = info.value
    return list(error.errors) if isinstance(error, SpecErrors) else [error]  # type: ignore[union-attr]


def channel(messages: str, operations: str = "") -> str:
    """A /rpc channel whose every message the server receives, besides ``operations``."""
    return (
        "channels:\n  rpc:\n    address: /rpc\n    messages:\n"
        + textwrap.indent(textwrap.dedent(messages), "      ")
        + "operations:\n  hear: {action: receive, channel: {$ref: '#/channels/rpc'}}\n"
        + textwrap.indent(textwrap.dedent(operations), "  ")
    )


# -- correlationId ---------------------------------------------------------------------------


def test_a_v2_correlation_id_from_a_trait_is_the_correlation(tmp_path: Path) -> None:
    path = tmp_path / "v2.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            asyncapi: 2.6.0
            info: {title: t, version: '1'}
            channels:
              /rpc:
                publish:
                  message:
                    name: call
                    payload: {type: object}
                    traits: [{correlationId: {location: '$message.payload#/req/id'}}]
                subscribe:
                  message: {name: result, payload: {type: object}, correlationId: {location: '$message.payload#/id'}}
            """
        ),
        encoding="utf-8",
    )
    route = one_route(path)
    assert route.message("call").correlation == "/req/id"
    assert route.reply("result").correlation == "/id"


def test_a_correlation_id_in_a_header_is_noted_and_not_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel(
            "call: {payload: {type: object}, correlationId: {location: '$message.header#/cid'}}\n"
        ),
    )
    text = import_asyncapi(path)
    assert "a correlation ID in a header: WebSocket frames have none; not used" in text
    assert load_spec_text(text).routes[0].message("call").correlation is None


def test_bad_correlation_ids_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel(
            """\
            a: {payload: {type: object}, correlationId: {location: /id}}
            b: {payload: {type: object}, correlationId: {description: no location}}
            c: {payload: {type: object}, correlationId: '$message.payload#/id'}
            d: {payload: {type: object}, correlationId: {$ref: '#/components/correlationIds/bId'}}
            """
        )
        + "components:\n  correlationIds:\n    byId: {location: '$message.payload#/id'}\n",
    )
    errors = errors_of(path)
    assert [(e.location.line, e.message, e.hint) for e in errors] == [
        (
            8,
            "expected a runtime expression such as '$message.payload#/id', got '/id'",
            "did you mean '$message.payload#/id'?",
        ),
        (
            9,
            "missing 'location': a correlation ID must say where the id is",
            "write location: '$message.payload#/id', the id's JSON pointer after '#'",
        ),
        (
            10,
            "expected a Correlation ID Object (a mapping with 'location'), got '$message.payload#/id'",
            None,
        ),
        (
            11,
            "$ref '#/components/correlationIds/bId' points nowhere: no 'bId' in components.correlationIds",
            "did you mean 'byId'?",
        ),
    ]


def test_a_pointer_the_spec_refuses_is_located_at_its_correlation_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel("e: {payload: {type: object}, correlationId: {location: '$message.payload#id'}}\n"),
    )
    [error] = errors_of(path)
    assert (error.location.line, error.message, error.hint) == (
        8,
        "'id' is not a JSON pointer",
        "did you mean '/id'?",
    )


def test_correlation_of_a_text_message_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel(
            """\
            say:
              contentType: text/plain
              payload: {type: string}
              correlationId:
                location: '$message.payload#/id'
            """
        ),
    )
    [error] = errors_of(path)
    assert (error.location.line, error.message) == (12, "correlation applies to json messages only")


# -- operation replies -------------------------------------------------------------------------


def test_a_stream_keeps_only_its_own_replies_from_the_operation_reply(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel(
            """\
            sub:
              payload: {type: object}
              correlationId: {location: '$message.payload#/id'}
              x-ws-routes-stream: {items: [item], end: [end]}
            item: {payload: {type: object}}
            end: {payload: {type: object}}
            other: {payload: {type: object}}
            """,
            """\
            subscribe:
              action: receive
              channel: {$ref: '#/channels/rpc'}
              messages: [{$ref: '#/channels/rpc/messages/sub'}]
              reply:
                address: {location: '$message.header#/replyTo'}
                messages:
                  - {$ref: '#/channels/rpc/messages/item'}
                  - {$ref: '#/channels/rpc/messages/end'}
                  - {$ref: '#/channels/rpc/messages/other'}
            """,
        ).replace(
            "hear: {action: receive, channel: {$ref: '#/channels/rpc'}}",
            "hear: {action: send, channel: {$ref: '#/channels/rpc'},"
            " messages: [{$ref: '#/channels/rpc/messages/item'}]}",
        ),
    )
    text = import_asyncapi(path)
    assert "its stream has no 'other' that its operation reply lists: left out" in text
    assert "reply address not used: a WebSocket reply comes on the same connection" in text
    route = load_spec_text(text).routes[0]
    assert route.message("sub").reply == ()
    assert route.message("sub").stream == StreamSpec(items=("item",), end=("end",))


def test_no_reply_beside_an_operation_reply_is_located_at_the_extension(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        channel(
            """\
            note: {payload: {type: object}, x-ws-routes-no-reply: true}
            ok: {payload: {type: object}}
            """,
            """\
            notify:
              action: receive
              channel: {$ref: '#/channels/rpc'}
              messages: [{$ref: '#/channels/rpc/messages/note'}]
              reply: {messages: [{$ref: '#/channels/rpc/messages/ok'}]}
            """,
        ),
    )
    [error] = errors_of(path)
    assert (error.location.line, error.message) == (8, "'no_reply' excludes 'reply'")


# -- the x-ws-routes-* protocol extensions ---------------------------------------------------


def test_a_message_both_sides_use_gives_each_side_its_own_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        channels:
          rpc:
            address: /rpc
            x-ws-routes-states: [open, closed]
            messages:
              bye:
                payload: {type: object}
                correlationId: {location: '$message.payload#/id'}
                x-ws-routes-goto: closed
                x-ws-routes-when: [open]
                x-ws-routes-capture: {last: /id}
        operations:
          hear: {action: receive, channel: {$ref: '#/channels/rpc'}}
          say: {action: send, channel: {$ref: '#/channels/rpc'}}
        """,
    )
    route = one_route(path)
    message, reply = route.message("bye"), route.reply("bye")
    assert (message.goto, message.correlation, message.when) == ("closed", "/id", ("open",))
    assert (reply.goto, reply.correlation, dict(reply.capture)) == (
        "closed",
        "/id",
        {"last": "/id"},
    )


def test_bad_protocol_extensions_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        channels:
          rpc:
            address: /rpc
            x-ws-routes-states: [idle, busy]
            x-ws-routes-opening: [strat]
            x-ws-routes-when: [idle]
            messages:
              start:
                payload: {type: object}
                x-ws-routes-when: [idel]
                x-ws-routes-states: [a]
                x-ws-routes-unique: yes please
                x-ws-routes-use: {/token: token}
        operations:
          hear: {action: receive, channel: {$ref: '#/channels/rpc'}}
        """,
    )
    errors = errors_of(path)
    assert [(e.location.line, e.message, e.hint) for e in errors] == [
        (9, "unknown extension 'x-ws-routes-when' here", "it belongs on a message"),
        (
            14,
            "unknown extension 'x-ws-routes-states' here",
            "it belongs on a channel or operation",
        ),
        (15, "expected true or false, got 'yes please'", None),
    ]
    # Once the extensions are well-formed, what the spec's own checks find points back here too.
    path.write_text(
        path.read_text("utf-8")
        .replace("    x-ws-routes-when: [idle]\n", "")
        .replace("        x-ws-routes-states: [a]\n", "")
        .replace("yes please", "false"),
        "utf-8",
    )
    errors = errors_of(path)
    assert [(e.location.line, e.message, e.hint) for e in errors] == [
        (8, "unknown message 'strat' in the opening", "did you mean 'start'?"),
        (12, "unknown state 'idel'", "did you mean 'idle'?"),
        (
            14,
            "value 'token' is never captured",
            "no reply captures it: add 'capture: {token: /pointer}' to a reply",
        ),
    ]


# -- export --------------------------------------------------------------------------------


SPEC = """\
version: 1
routes:
  /rpc:
    states: [a, b]
    opening: [sub]
    messages:
      sub:
        kind: json
        correlation: /id
        stream: {items: [item], end: [end]}
      note: {kind: json, no_reply: true}
      ask:
        kind: json
        reply: [item, end]
        cases:
          - match: {$ref: "#/$defs/x", $defs: {x: {required: [id]}}}
            reply: [end]
    replies:
      item: {kind: json, correlation: ""}
      end: {kind: json, goto: b}
"""


def test_the_export_says_it_in_asyncapi_words_where_it_has_them() -> None:
    document = export_asyncapi(load_spec_text(SPEC))
    operations = document["operations"]
    messages = document["components"]["messages"]
    # a stream's items and ends are its operation's reply; a stream and a reply list with the
    # same replies stay apart, and a no_reply message's operation has no reply
    assert operations["rpc.receive.sub"]["reply"]["messages"] == [
        {"$ref": "#/channels/rpc/messages/item"},
        {"$ref": "#/channels/rpc/messages/end"},
    ]
    assert operations["rpc.receive.ask"]["reply"] == operations["rpc.receive.sub"]["reply"]
    assert operations["rpc.receive"]["messages"] == [{"$ref": "#/channels/rpc/messages/note"}]
    assert "reply" not in operations["rpc.receive"]
    assert messages["rpc.sub"]["correlationId"] == {"location": "$message.payload#/id"}
    assert messages["rpc.item"]["correlationId"] == {"location": "$message.payload#"}
    assert document["channels"]["rpc"]["x-ws-routes-states"] == ["a", "b"]
    assert document["channels"]["rpc"]["x-ws-routes-opening"] == ["sub"]
    assert messages["rpc.end"]["x-ws-routes-goto"] == "b"
    assert messages["rpc.note"]["x-ws-routes-no-reply"] is True
    # a case's schema points into its place in the document
    [case] = messages["rpc.ask"]["x-ws-routes-cases"]
    assert (
        case["match"]["$ref"] == "#/components/messages/rpc.ask/x-ws-routes-cases/0/match/$defs/x"
    )


def test_replies_of_a_streaming_message_and_of_others() -> None:
    stream = MessageSpec(
        name="s",
        kind="json",
        correlation="/id",
        stream=StreamSpec(items=("a", "b"), end=("b", "c")),
    )
    assert answers(stream) == ("a", "b", "c")
    assert answers(MessageSpec(name="m", kind="json", reply=("x",))) == ("x",)
    body, left_out = with_replies(
        {"correlation": "/id", "stream": {"end": ["c"]}, "kind": "json"}, ["c", "d", "d"]
    )
    assert (list(body), left_out) == (["kind", "stream", "correlation"], ["d"])
    body, left_out = with_replies({"kind": "json", "reply": ["x", "y"]}, ["y", "z"])
    assert (body["reply"], left_out) == (["y", "z", "x"], [])


def test_clients_and_delivery_round_trip_in_their_extensions(tmp_path: Path) -> None:
    text = """\
version: 1
routes:
  /rooms/{room}:
    clients: {max: 3, path_params: same}
    messages:
      say: {kind: json, reply: [ack, said]}
    replies:
      ack: {kind: json}
      said: {kind: json, delivery: {to: others, same: room}}
"""
    spec = load_spec_text(text)
    document = export_asyncapi(spec)
    [channel] = document["channels"].values()
    assert channel["x-ws-routes-clients"] == {"max": 3, "path_params": "same"}
    messages = document["components"]["messages"]
    said = next(m for m in messages.values() if m.get("name") == "said")
    assert said["x-ws-routes-delivery"] == {"to": "others", "same": "room"}
    path = tmp_path / "asyncapi.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")
    [route] = load_spec_text(import_asyncapi(path)).routes
    [original] = spec.routes
    assert route.clients == original.clients
    assert route.reply("said").delivery == original.reply("said").delivery
    assert route.reply("ack").delivery is None
