"""spec.states: the protocol state keys, built into the dataclasses and checked with located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec.texts import errors_of, load_text
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.model import MessageSpec, ReplySpec, RouteSpec, WrongState


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


GRAPHQL = """\
routes:
  /graphql:
    states: [connecting, ready]
    opening: [connection_init]
    messages:
      connection_init:
        kind: json
        reply: [connection_ack]
        when: [connecting]
        wrong_state: {close_codes: [4429]}
      subscribe:
        kind: json
        when: [ready]
        wrong_state: {close_codes: [4401], replies: [error]}
        use: {/payload/session: session}
      logout: {kind: json, goto: connecting}
    replies:
      connection_ack: {kind: json, goto: ready, capture: {session: /session}}
      error: {kind: json, error: true}
"""


def test_the_keys_become_fields() -> None:
    route = load_text(GRAPHQL).routes[0]
    assert (route.states, route.opening) == (("connecting", "ready"), ("connection_init",))
    init, subscribe, logout = route.messages
    assert (init.when, init.wrong_state) == (("connecting",), WrongState(close_codes=(4429,)))
    assert subscribe.wrong_state == WrongState(close_codes=(4401,), replies=("error",))
    assert subscribe.use == {"/payload/session": "session"}
    assert (logout.goto, logout.when, logout.wrong_state) == ("connecting", (), None)
    ack = route.reply("connection_ack")
    assert (ack.goto, ack.capture) == ("ready", {"session": "/session"})


def test_without_the_keys_nothing_changes() -> None:
    route = load_text(
        "routes:\n  /ws: {messages: {a: {kind: json}}, replies: {b: {kind: json}}}\n"
    ).routes[0]
    defaults = RouteSpec(path="/ws")
    assert (route.states, route.opening) == (defaults.states, defaults.opening) == ((), ())
    message, reply = route.messages[0], route.replies[0]
    default_message = MessageSpec(name="a", kind="json")
    assert (message.when, message.goto, message.wrong_state, message.use) == (
        default_message.when,
        default_message.goto,
        default_message.wrong_state,
        default_message.use,
    )
    assert (reply.goto, reply.capture) == (ReplySpec(name="b", kind="json").goto, {})


def test_unknown_names_are_located_with_a_suggestion() -> None:
    spec = """\
    routes:
      /graphql:
        states: [connecting, ready]
        opening: [conection_init]
        messages:
          connection_init: {kind: json, when: [conecting], wrong_state: {replies: [eror]}}
          subscribe: {kind: json, goto: redy}
        replies:
          connection_ack: {kind: json, goto: nowhere}
          error: {kind: json, error: true}
    """
    assert errors_of(spec) == [
        "ws-routes.yaml:4:15: routes./graphql.opening.0: unknown message 'conection_init' in "
        "the opening (did you mean 'connection_init'?)",
        "ws-routes.yaml:6:44: routes./graphql.messages.connection_init.when.0: unknown state "
        "'conecting' (did you mean 'connecting'?)",
        "ws-routes.yaml:6:80: routes./graphql.messages.connection_init.wrong_state.replies.0: "
        "unknown reply 'eror' (did you mean 'error'?)",
        "ws-routes.yaml:7:31: routes./graphql.messages.subscribe.goto: unknown state 'redy' "
        "(did you mean 'ready'?)",
        "ws-routes.yaml:9:36: routes./graphql.replies.connection_ack.goto: unknown state "
        "'nowhere' (this route's states are 'connecting', 'ready')",
    ]


def test_states_must_be_declared_to_be_named() -> None:
    assert errors_of("routes:\n  /ws: {messages: {a: {kind: json, when: [ready]}}}\n") == [
        "ws-routes.yaml:2:43: routes./ws.messages.a.when.0: unknown state 'ready' (this route "
        "declares no states: add 'states: [...]' to it)"
    ]


def test_pointers_and_captured_names_are_checked() -> None:
    spec = """\
    routes:
      /ws:
        messages:
          resume: {kind: json, use: {session: token, "/a~2": sesion}}
        replies:
          welcome: {kind: json, capture: {session: "id"}}
    """
    pointer = "(a JSON pointer is '' or starts with '/', and '~' is written '~0', '/' '~1')"
    assert errors_of(spec) == [
        f"ws-routes.yaml:4:34: routes./ws.messages.resume.use.session: 'session' is not a JSON "
        f"pointer {pointer}",
        "ws-routes.yaml:4:34: routes./ws.messages.resume.use.session: value 'token' is never "
        "captured (no reply captures it: add 'capture: {token: /pointer}' to a reply)",
        f"ws-routes.yaml:4:50: routes./ws.messages.resume.use./a~2: '/a~2' is not a JSON "
        f"pointer {pointer}",
        "ws-routes.yaml:4:50: routes./ws.messages.resume.use./a~2: value 'sesion' is never "
        "captured (did you mean 'session'?)",
        f"ws-routes.yaml:6:39: routes./ws.replies.welcome.capture.session: 'id' is not a JSON "
        f"pointer {pointer}",
    ]


def test_wrong_state_close_codes_are_real_close_codes() -> None:
    spec = "routes:\n  /ws: {states: [a], messages: {m: {kind: json, wrong_state: {close_codes: [1005]}}}}\n"
    assert errors_of(spec) == [
        "ws-routes.yaml:2:77: routes./ws.messages.m.wrong_state.close_codes.0: close code 1005 "
        "can never be sent in a close frame (RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 "
        "and 1015)"
    ]


def test_the_shipped_schema_knows_the_keys() -> None:
    # A misspelt key is the schema's to catch, with a suggestion.
    assert errors_of("routes:\n  /ws: {state: [a]}\n") == [
        "ws-routes.yaml:2:9: routes./ws: unknown key 'state' (did you mean 'states'?)"
    ]
    assert errors_of("routes:\n  /ws: {messages: {m: {kind: json, wrong_state: {codes: [4401]}}}}\n")[
        0
    ].endswith("unknown key 'codes' (did you mean 'close_codes'?)")


def test_the_documented_graphql_transport_ws_route_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "spec.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Protocol state") :].split("\n## ", 1)[0]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = load_spec_text(example, filename="ws-routes.yaml", base_dir=root)
    route = spec.routes[0]
    assert (route.states, route.opening) == (("connecting", "ready"), ("connection_init",))
    assert route.reply("connection_ack").goto == "ready"
    assert route.message("subscribe").wrong_state == WrongState(close_codes=(4401,))
