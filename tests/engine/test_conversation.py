"""Conversations: what the strategy draws for a route (running one is tests/engine/test_play.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings

from tests.protocols import rooms
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.compile.ties import DUPLICATE_ID
from ws_routes.engine.conversation import Conversation, Step, conversations, encode_payload
from ws_routes.spec.loader import load_spec
from ws_routes.spec.model import InvalidSpec, MessageSpec, RouteSpec, Schema, Settings

FIXED = settings(
    max_examples=80, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
QUICK = Settings(connection_timeout=1.0, message_timeout=0.5)
SAY = MessageSpec(name="say", kind="text", reply=("echo",))


def compiled(**fields: Any) -> CompiledRoute:
    return compile_route(
        RouteSpec(**{"path": "/ws/echo", "messages": (SAY,), "settings": QUICK, **fields})
    )


# -- the strategy ----------------------------------------------------------------------------------


def test_conversations_respect_max_messages_and_reach_it() -> None:
    route = compiled(settings=Settings(max_messages=3))
    lengths: set[int] = set()

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        lengths.add(len(conversation.steps))
        valid = [step for step in conversation.steps if step.mutation is None]
        assert all(step.message == "say" and step.kind == "text" for step in valid)
        assert all(isinstance(step.payload, str) for step in valid)

    check()
    assert lengths == {1, 2, 3}  # at least one message: an empty one only repeats the handshake


def test_zero_max_messages_only_connects() -> None:
    @FIXED
    @given(conversations(compiled(settings=Settings(max_messages=0))))
    def check(conversation: Conversation) -> None:
        assert conversation.steps == ()

    check()


def test_conversations_offer_declared_subprotocols_and_use_test_close_codes() -> None:
    route = compiled(
        subprotocols=("chat.v2", "chat.v1"), settings=Settings(test_close_codes=(1000, 4000))
    )
    codes: set[int | None] = set()

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert conversation.subprotocols == ("chat.v2", "chat.v1")
        codes.add(conversation.close_code)

    check()
    assert codes == {1000, 4000, None}  # None: the client drops the connection


def test_aborts_are_drawn_only_while_the_disconnect_check_is_on() -> None:
    route = compiled(settings=Settings(checks={"disconnect": False}))

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert conversation.close_code in (1000, 1001)

    check()


def test_conversations_fill_path_parameters() -> None:
    route = compile_route(
        RouteSpec(path="/ws/{room}/{n:int}", path_params={"room": Schema(value={"const": "a b/c"})})
    )

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        prefix, _, number = conversation.path.rpartition("/")
        assert prefix == "/ws/a%20b%2Fc"
        assert number.isdigit()

    check()


def test_the_previous_message_is_sometimes_repeated() -> None:
    route = compiled(messages=(MessageSpec(name="blob", kind="bytes", min_size=8, max_size=8),))
    found = find(
        conversations(route),
        lambda c: len(c.steps) == 2 and c.steps[0] == c.steps[1],
        settings=settings(database=None, derandomize=True, max_examples=500),
    )
    assert found.steps[0] == found.steps[1]


@pytest.mark.parametrize(
    ("credential", "query", "headers"),
    [
        (Credential("query", "token", "t0k", "t0k"), [("token", "t0k")], []),
        (
            Credential("header", "authorization", "Bearer t0k", "t0k"),
            [],
            [("authorization", "Bearer t0k")],
        ),
        (Credential("cookie", "session", "t0k", "t0k"), [], [("cookie", "session=t0k")]),
    ],
)
def test_credentials_are_placed_once_and_replace_generated_values(
    credential: Credential, query: list[tuple[str, str]], headers: list[tuple[str, str]]
) -> None:
    query_schema = {
        "type": "object",
        "properties": {"token": {"const": "generated"}},
        "required": ["token"],
        "additionalProperties": False,
    }
    header_schema = {
        "type": "object",
        "properties": {"authorization": {"const": "generated"}},
        "required": ["authorization"],
        "additionalProperties": False,
    }
    route = compiled(
        query=Schema(value=query_schema if credential.place == "query" else {"const": {}}),
        headers=Schema(value=header_schema if credential.place == "header" else {"const": {}}),
    )

    @FIXED
    @given(conversations(route, credential=credential))
    def check(conversation: Conversation) -> None:
        assert list(conversation.query) == query
        assert list(conversation.headers) == headers

    check()


def test_first_message_credential_opens_every_conversation() -> None:
    credential = Credential("first_message", "token", "t0k", "t0k")

    @FIXED
    @given(conversations(compiled(), credential=credential))
    def check(conversation: Conversation) -> None:
        # Without an auth.first_message schema on the route, the message is the credential alone.
        assert conversation.steps[0] == Step("auth", "json", {"token": "t0k"})

    check()


@pytest.mark.parametrize(
    ("kind", "payload", "wire"),
    [
        ("json", {"b": [1, 2], "é": None}, '{"b":[1,2],"é":null}'),
        ("json", {"s": "\ud800é"}, '{"s":"\\ud800\\u00e9"}'),  # escaped, as on the wire
        ("text", "hi", "hi"),
        ("text", 5, "5"),
        ("bytes", bytearray(b"\x00"), b"\x00"),
    ],
)
def test_encode_payload(kind: Any, payload: Any, wire: str | bytes) -> None:
    assert encode_payload(kind, payload) == wire


def test_conversation_url() -> None:
    conversation = Conversation(path="/ws", query=(("a", "1 2"), ("b", "é")))
    assert conversation.url == "/ws?a=1+2&b=%C3%A9"
    assert Conversation(path="/ws").url == "/ws"


def test_first_message_auth_is_drawn_from_its_schema_and_carries_the_token() -> None:
    from hypothesis import given, settings

    from ws_routes.compile.credentials import credential_for
    from ws_routes.compile.route import compile_route
    from ws_routes.engine.conversation import conversations
    from ws_routes.spec.model import AuthSpec, MessageSpec, RouteSpec, Schema

    auth = AuthSpec(
        first_message=Schema(
            value={
                "type": "object",
                "properties": {"type": {"const": "hello"}},
                "required": ["type"],
            }
        ),
        token="T0K",
    )
    route = compile_route(
        RouteSpec(path="/ws", auth=auth, messages=(MessageSpec(name="m", kind="text"),))
    )
    seen: list[object] = []

    @settings(max_examples=10, database=None)
    @given(conversations(route, credential=credential_for(auth, None)))
    def check(conversation: object) -> None:
        first = conversation.steps[0]  # type: ignore[attr-defined]
        seen.append(first.payload)
        assert (first.message, first.kind) == ("auth", "json")
        assert first.payload["type"] == "hello"
        assert first.payload["token"] == "T0K"

    check()
    assert seen


# -- negative steps --------------------------------------------------------------------------------


def test_negative_conversations_mix_mutants_with_valid_messages() -> None:
    route = compiled()
    seen: list[tuple[int, int]] = []

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        mutants = [s for s in conversation.steps if s.mutation is not None]
        seen.append((len(mutants), len(conversation.steps)))
        for step in mutants:
            assert step.message == "say"

    check()
    negative = [n for n, _ in seen if n]
    assert negative, "some conversations send mutants"
    assert len(negative) < len(seen), "some conversations stay valid"


def test_no_mutants_when_invalid_testing_is_off() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False))

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert all(s.mutation is None for s in conversation.steps)

    check()


# -- routes that follow a protocol ---------------------------------------------------------------


def test_a_protocol_route_draws_its_steps_while_running() -> None:
    hello = MessageSpec(name="hello", kind="text", goto="in")
    route = compiled(messages=(hello, SAY), states=("new", "in"), opening=("hello",))

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert conversation.steps == ()
        assert conversation.source is not None
        assert conversation.max_steps == route.spec.settings.max_messages
        assert conversation.recorded().steps == ()  # nothing drawn until it runs
        assert conversation.recorded().source is None

    check()


def test_other_routes_draw_their_steps_up_front() -> None:
    @FIXED
    @given(conversations(compiled()))
    def check(conversation: Conversation) -> None:
        assert conversation.source is None
        assert conversation.recorded() is conversation
        assert conversation.max_steps == len(conversation.steps)

    check()


def test_a_unique_message_sometimes_reuses_an_active_id_on_purpose() -> None:
    call = MessageSpec(
        name="call",
        kind="json",
        schema=Schema(
            value={"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
        ),
        correlation="/id",
        unique=True,
        reply=("result",),
    )
    route = compiled(messages=(call,))
    duplicates: list[Step] = []

    @settings(FIXED, max_examples=200)
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        duplicates.extend(s for s in conversation.steps if s.mutation == DUPLICATE_ID)

    check()
    assert duplicates
    for step in duplicates:  # a valid message of a unique type: only its id will clash
        assert step.message == "call"
        assert not step.invalid
        assert isinstance(step.payload, dict)
        assert "id" in step.payload


def test_routes_with_clients_draw_other_clients_and_their_steps() -> None:
    spec = load_spec(Path(rooms.__file__).with_suffix(".yaml")).routes[0]
    route = compile_route(spec)
    seen: list[Conversation] = []

    @settings(max_examples=60, database=None, derandomize=True)
    @given(conversations(route))
    def draw(conversation: Conversation) -> None:
        seen.append(conversation)

    draw()
    assert {len(c.clients) for c in seen} == {0, 1, 2}  # up to clients.max
    # Every step's client is one the conversation opens; some leave, some of the others speak.
    assert all(s.client <= len(c.clients) for c in seen for s in c.steps)
    assert any(s.leave for c in seen for s in c.steps)
    assert any(s.client and s.leave is None for c in seen for s in c.steps)
    assert any(o.path != c.path for c in seen for o in c.clients)  # another room
    assert any(o.path == c.path for c in seen for o in c.clients)  # the same room


def test_routes_without_clients_draw_one_client_steps() -> None:
    route = compile_route(RouteSpec(path="/ws", messages=(MessageSpec(name="m", kind="text"),)))

    @settings(max_examples=30, database=None, derandomize=True)
    @given(conversations(route))
    def draw(conversation: Conversation) -> None:
        assert not conversation.clients
        assert all(s.client == 0 and s.leave is None for s in conversation.steps)

    draw()
