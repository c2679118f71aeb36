"""spec.correlated: the keys that tie replies to requests, checked with located errors and built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec.texts import errors_of, load_text
from ws_routes.spec.correlated import is_json_pointer
from ws_routes.spec.model import MessageSpec, ReplySpec, StreamSpec


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


GOOD = """\
routes:
  /rpc:
    messages:
      call:
        kind: json
        correlation: /id
        unique: true
        reply: [result, error]
        echo: {/echo: /params/0}
        cases:
          - match: {required: [bad]}
            reply: [error]
          - match: {required: [quiet]}
            no_reply: true
      sub: {kind: json, correlation: /id, stream: {items: [result], end: [error]}}
      stop: {kind: json, correlation: /id, ends: sub, no_reply: true}
      ping: {kind: json}
    replies:
      result: {kind: json, correlation: /id}
      error: {kind: json, error: true, correlation: /id}
"""


def test_the_keys_build_into_the_model() -> None:
    route = load_text(GOOD).routes[0]
    call = route.message("call")
    assert (call.correlation, call.unique, call.reply) == ("/id", True, ("result", "error"))
    assert call.echo == {"/echo": "/params/0"}
    case, quiet = call.cases
    assert (case.match.value, case.reply, case.no_reply) == ({"required": ["bad"]}, ("error",), False)
    assert case.match.location.line == 11
    assert (quiet.match.value, quiet.reply, quiet.no_reply) == ({"required": ["quiet"]}, (), True)
    assert route.message("sub").stream == StreamSpec(items=("result",), end=("error",))
    stop = route.message("stop")
    assert (stop.ends, stop.no_reply) == ("sub", True)
    assert route.reply("result").correlation == "/id"


def test_without_the_keys_everything_means_what_it_meant() -> None:
    ping = load_text(GOOD).routes[0].message("ping")
    assert ping == MessageSpec(name="ping", kind="json", location=ping.location)
    plain = ReplySpec(name="r", kind="json")
    assert plain.correlation is None
    assert (ping.stream, ping.no_reply, ping.ends, ping.echo, ping.cases) == (
        None,
        False,
        None,
        {},
        (),
    )


@pytest.mark.parametrize(
    ("pointer", "valid"),
    [
        ("", True),
        ("/id", True),
        ("/a/0/b~1c~0", True),
        ("id", False),
        ("/a~2", False),
        ("/~", False),
    ],
)
def test_json_pointers(pointer: str, valid: bool) -> None:
    assert is_json_pointer(pointer) is valid


def test_every_mistake_is_located_with_a_hint() -> None:
    spec = """\
    routes:
      /rpc:
        messages:
          call:
            kind: json
            correlation: id
            reply: [result]
            stream: {items: [reslt], end: [eror]}
            no_reply: true
          stop: {kind: json, ends: cal}
          stop2: {kind: json, ends: call, correlation: $.id}
          plain: {kind: json, unique: true, echo: {/a: /b}}
          text: {kind: text, correlation: /id, reply: [result], echo: {"": /x}}
          chosen:
            kind: json
            cases: [{match: {type: nope}, reply: [nothing]}]
        replies:
          result: {kind: json, correlation: "~2"}
          error: {kind: json, error: true}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:6:9: routes./rpc.messages.call.correlation: 'id' is not a JSON pointer "
        "(did you mean '/id'?)",
        "ws-routes.yaml:8:9: routes./rpc.messages.call.stream: 'reply' and 'stream' exclude each "
        "other (a streaming request's replies are its stream's items and end)",
        "ws-routes.yaml:8:26: routes./rpc.messages.call.stream.items.0: unknown reply 'reslt' "
        "(did you mean 'result'?)",
        "ws-routes.yaml:8:40: routes./rpc.messages.call.stream.end.0: unknown reply 'eror' "
        "(did you mean 'error'?)",
        "ws-routes.yaml:9:9: routes./rpc.messages.call.no_reply: 'no_reply' excludes 'reply' and "
        "'stream' (a message either gets no reply at all or declares the replies it gets)",
        "ws-routes.yaml:10:26: routes./rpc.messages.stop.ends: unknown message 'cal' "
        "(did you mean 'call'?)",
        "ws-routes.yaml:11:39: routes./rpc.messages.stop2.correlation: '$.id' is not a JSON "
        "pointer (did you mean '/id'?)",
        "ws-routes.yaml:12:27: routes./rpc.messages.plain.unique: 'unique' needs 'correlation' "
        "(add 'correlation: /id', the pointer to the value that must be unique)",
        "ws-routes.yaml:12:41: routes./rpc.messages.plain.echo: 'echo' compares a reply with the "
        "message, but this message declares no reply (declare the replies it compares: 'reply' "
        "or 'stream')",
        "ws-routes.yaml:13:26: routes./rpc.messages.text.correlation: correlation applies to json "
        "messages only (the id is read at a JSON pointer into the message)",
        "ws-routes.yaml:13:68: routes./rpc.messages.text.echo.: a text message has no members: "
        "only '' (the whole frame) can be echoed",
        "ws-routes.yaml:16:26: routes./rpc.messages.chosen.cases.0.match.type: 'nope' is not a "
        "JSON type (one of array, boolean, integer, null, number, object, string)",
        "ws-routes.yaml:16:47: routes./rpc.messages.chosen.cases.0.reply.0: unknown reply "
        "'nothing' (declare it under 'replies')",
        "ws-routes.yaml:18:28: routes./rpc.replies.result.correlation: '~2' is not a JSON pointer "
        "(a JSON pointer is '' (the whole value) or a path like '/id')",
    ]


def test_ends_needs_ids_on_both_sides() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          sub: {kind: json, reply: [r]}
          stop: {kind: json, ends: sub}
        replies: {r: {kind: json}}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:5:26: routes./ws.messages.stop.ends: 'ends' needs 'correlation' (the "
        "operation ended is the 'sub' with the same correlation value)",
        "ws-routes.yaml:5:26: routes./ws.messages.stop.ends: message 'sub' has no 'correlation', "
        "so nothing tells which one this ends (add 'correlation: /id' to 'sub')",
    ]


def test_a_stream_needs_an_id_an_end_and_no_cases() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          sub: {kind: json, stream: {items: [r]}}
          sub2:
            kind: json
            correlation: /id
            stream: {end: [r]}
            cases: [{match: {}, reply: [r]}]
        replies: {r: {kind: json}}
    """
    errors = errors_of(spec)
    assert "routes./ws.messages.sub.stream: 'stream' needs 'correlation'" in "\n".join(errors)
    assert any("routes./ws.messages.sub.stream" in e and "end" in e for e in errors)
    assert any("'cases' and 'stream' exclude each other" in e for e in errors)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("{match: {}}", "routes./rpc.messages.call.cases.0: a case needs 'reply' or 'no_reply: true'"),
        (
            "{match: {}, reply: [r], no_reply: true}",
            "routes./rpc.messages.call.cases.0: a case gives 'reply' or 'no_reply: true', one of them",
        ),
    ],
)
def test_a_case_gives_its_replies_or_no_reply(case: str, message: str) -> None:
    spec = f"""\
routes:
  /rpc:
    messages:
      call: {{kind: json, reply: [r], cases: [{case}]}}
    replies:
      r: {{kind: json}}
"""
    assert any(message in e for e in errors_of(spec)), errors_of(spec)
