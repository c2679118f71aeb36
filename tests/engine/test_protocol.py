"""engine.protocol: following one connection's protocol state and the values its replies hand out."""

from __future__ import annotations

from typing import Any

from ws_routes.driver.transcript import Frame
from ws_routes.engine.protocol import ProtocolState, follows_protocol, wrong_state_of
from ws_routes.spec.model import MessageSpec, ReplySpec, RouteSpec, WrongState

INIT = MessageSpec(
    name="init",
    kind="json",
    reply=("ack",),
    when=("connecting",),
    wrong_state=WrongState(close_codes=(4429,)),
)
SUBSCRIBE = MessageSpec(name="subscribe", kind="json", when=("ready",), use={"/session": "session"})
LOGOUT = MessageSpec(name="logout", kind="json", goto="connecting")
PING = MessageSpec(name="ping", kind="json")
ACK = ReplySpec(name="ack", kind="json", goto="ready", capture={"session": "/session"})
ROUTE = RouteSpec(
    path="/ws",
    states=("connecting", "ready"),
    opening=("init",),
    messages=(INIT, SUBSCRIBE, LOGOUT, PING),
    replies=(ACK, ReplySpec(name="pong", kind="json")),
)


def recv(name: str | None, data: Any) -> Frame:
    return Frame(direction="recv", kind="json", name=name, data=data)


def test_only_routes_that_declare_protocol_keys_follow_one() -> None:
    assert not follows_protocol(RouteSpec(path="/ws", messages=(PING,)))
    assert follows_protocol(ROUTE)
    assert follows_protocol(RouteSpec(path="/ws", opening=("ping",), messages=(PING,)))
    captures = RouteSpec(path="/ws", replies=(ReplySpec(name="r", kind="json", capture={"a": ""}),))
    assert follows_protocol(captures)


def test_a_connection_starts_in_the_first_state_and_when_gates_messages() -> None:
    state = ProtocolState(ROUTE)
    assert state.state == "connecting"
    assert state.allows(INIT)
    assert state.allows(PING)
    assert not state.allows(SUBSCRIBE)
    assert ProtocolState(RouteSpec(path="/ws")).state is None


def test_replies_move_the_state_and_capture_values() -> None:
    state = ProtocolState(ROUTE)
    frames = [
        Frame(direction="send", name="init", data={}),
        recv("ack", {"session": {"id": 7}}),
        recv(None, "?"),
    ]
    assert state.observe(frames) == ["ready"]
    assert (state.state, state.captured, state.seen) == ("ready", {"session": {"id": 7}}, 3)
    assert state.observe(frames) == []  # frames already read are not read again
    assert state.sendable(SUBSCRIBE)
    assert not state.allows(INIT)


def test_a_message_that_uses_an_uncaptured_value_is_not_sendable() -> None:
    state = ProtocolState(ROUTE)
    state.state = "ready"
    assert state.allows(SUBSCRIBE)
    assert not state.sendable(SUBSCRIBE)


def test_a_reply_without_the_pointer_captures_nothing() -> None:
    state = ProtocolState(ROUTE)
    state.observe([recv("ack", {"other": 1})])
    assert (state.state, state.captured) == ("ready", {})


def test_sent_messages_move_the_state_only_when_valid() -> None:
    state = ProtocolState(ROUTE)
    state.state = "ready"
    assert state.sent("logout", valid=False) is None
    assert state.state == "ready"
    assert state.sent("logout", valid=True) == "connecting"
    assert state.sent("logout", valid=True) is None  # already there: no new state
    assert state.sent("unknown", valid=True) is None


def test_fill_writes_captured_values_into_a_copy() -> None:
    route = RouteSpec(
        path="/ws",
        messages=(
            MessageSpec(
                name="m",
                kind="json",
                use={"/a/b": "x", "/list/0": "x", "/list/-": "x", "/scalar/c": "x", "/n": "y"},
            ),
        ),
    )
    state = ProtocolState(route)
    payload = {"list": [1], "scalar": 3}
    assert state.fill("m", payload) is payload  # nothing captured yet
    state.captured["x"] = {"deep": True}
    filled = state.fill("m", payload)
    assert filled == {
        "a": {"b": {"deep": True}},
        "list": [{"deep": True}, {"deep": True}],
        "scalar": 3,  # a path through a scalar leaves the value as it was
    }
    assert payload == {"list": [1], "scalar": 3}
    assert filled["a"]["b"] is not state.captured["x"]
    whole = RouteSpec(path="/ws", messages=(MessageSpec(name="m", kind="text", use={"": "x"}),))
    assert ProtocolState(whole, captured={"x": "token"}).fill("m", "drawn") == "token"


def test_expect_follows_a_prefix_as_if_its_replies_came() -> None:
    state = ProtocolState(ROUTE)
    state.expect("init")
    assert state.state == "ready"
    state.expect("ping")  # no declared reply moves the state
    assert state.state == "ready"


def test_expect_takes_the_success_when_an_error_reply_may_come_instead() -> None:
    init = MessageSpec(name="init", kind="json", reply=("ack", "refused"))
    refused = ReplySpec(name="refused", kind="json", error=True)
    route = RouteSpec(
        path="/ws",
        states=("connecting", "ready"),
        messages=(init,),
        replies=(ReplySpec(name="ack", kind="json", goto="ready"), refused),
    )
    state = ProtocolState(route)
    state.expect("init")
    assert state.state == "ready"
    # Two successes that disagree (or one that stays) leave the state where it was.
    stays = RouteSpec(
        path="/ws",
        states=("connecting", "ready"),
        messages=(MessageSpec(name="init", kind="json", reply=("ack", "later")),),
        replies=(
            ReplySpec(name="ack", kind="json", goto="ready"),
            ReplySpec(name="later", kind="json"),
        ),
    )
    state = ProtocolState(stays)
    state.expect("init")
    assert state.state == "connecting"


def test_wrong_state_of_names_the_declared_reactions() -> None:
    assert wrong_state_of(ROUTE, "init") == WrongState(close_codes=(4429,))
    assert wrong_state_of(ROUTE, "ping") is None
    assert wrong_state_of(ROUTE, "auth") is None
