"""engine.steps: steps drawn while the conversation runs, from the protocol state reached.

The conversations here are driven by a fake server (:func:`drive`): it answers ``init`` with
``ack`` as the run would record it, so the state moves exactly as run_conversation moves it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Frame
from ws_routes.engine.conversation import Conversation, Step, conversations
from ws_routes.engine.protocol import ProtocolState
from ws_routes.engine.steps import _Follow, _stopping
from ws_routes.spec.model import (
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
    WrongState,
)

FIXED = settings(
    max_examples=150, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def typed(name: str, **properties: Any) -> Schema:
    return Schema(
        value={
            "type": "object",
            "properties": {"type": {"const": name}, **properties},
            "required": ["type", *properties],
            "additionalProperties": False,
        }
    )


INIT = MessageSpec(
    name="init",
    kind="json",
    schema=typed("init"),
    reply=("ack",),
    when=("connecting",),
    wrong_state=WrongState(close_codes=(4429,)),
)
SUBSCRIBE = MessageSpec(
    name="subscribe",
    kind="json",
    schema=typed("subscribe", session={"type": "string"}),
    when=("ready",),
    use={"/session": "session"},
    wrong_state=WrongState(close_codes=(4401,)),
)
PING = MessageSpec(name="ping", kind="json", schema=typed("ping"))
ACK = ReplySpec(name="ack", kind="json", goto="ready", capture={"session": "/session"})


def compiled(**fields: Any) -> CompiledRoute:
    spec: dict[str, Any] = {
        "path": "/graphql",
        "states": ("connecting", "ready"),
        "opening": ("init",),
        "messages": (INIT, SUBSCRIBE, PING),
        "replies": (ACK,),
        "settings": Settings(max_messages=6),
        **fields,
    }
    return compile_route(RouteSpec(**spec))


def at(route: CompiledRoute, state: str | None) -> ProtocolState:
    found = ProtocolState(route.spec)
    found.state = state
    return found


Server = Callable[[Step, ProtocolState], list[Frame]]


def acking(step: Step, state: ProtocolState) -> list[Frame]:
    if step.message == "init" and step.mutation is None:
        return [Frame(direction="recv", name="ack", data={"type": "ack", "session": "s-1"})]
    return []


def drive(
    conversation: Conversation,
    route: CompiledRoute,
    server: Server = acking,
    running: frozenset[str] = frozenset(),
) -> list[tuple[str | None, Step]]:
    """(state when sent, step) for each step the conversation draws, as run_conversation runs it
    (with the operations of the message types ``running`` taken to run throughout)."""
    source = conversation.source
    assert source is not None
    assert conversation.steps == ()
    state = ProtocolState(route.spec)
    frames: list[Frame] = []
    sent = []
    while not source.finished:
        state.observe(frames)
        step = source.next(state, running)
        if step is None:
            break
        sent.append((state.state, step))
        state.sent(step.message, valid=step.mutation is None)
        frames += server(step, state)
    assert [s for _, s in sent] == source.sent
    assert conversation.recorded().steps == tuple(source.sent)
    return sent


def test_conversations_start_with_the_opening_then_follow_when() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False))
    seen: Counter[str] = Counter()

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        sent = drive(conversation, route)
        assert sent[0] == ("connecting", Step("init", "json", {"type": "init"}))
        for state, step in sent:
            assert step.mutation is None
            assert at(route, state).allows(route.spec.message(step.message))
            seen[step.message] += 1
        assert len(sent) <= 6

    check()
    assert seen["subscribe"]
    assert seen["ping"]
    assert seen["init"] >= 150  # the opening, every time


def test_values_are_filled_in_once_captured_and_not_drawn_before() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False))

    def silent(step: Step, state: ProtocolState) -> list[Frame]:
        return []  # never acks: subscribe is never allowed, and nothing is captured

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        subscribes = [s for _, s in drive(conversation, route) if s.message == "subscribe"]
        assert all(s.payload["session"] == "s-1" for s in subscribes)

    @FIXED
    @given(conversations(route))
    def check_silent(conversation: Conversation) -> None:
        sent = drive(conversation, route, silent)
        assert {s.message for _, s in sent} <= {"init", "ping"}

    check()
    check_silent()


def test_negative_conversations_send_messages_in_the_wrong_state_and_skip_the_opening() -> None:
    route = compiled()
    mutations: Counter[str | None] = Counter()

    # 300: a gated conversation is 1 in 16, and a derandomized run's examples are not independent
    # (150 of one seed once held none).
    @settings(FIXED, max_examples=300)
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        sent = drive(conversation, route)
        for index, (state, step) in enumerate(sent):
            mutations[step.mutation] += 1
            spec = route.spec.message(step.message)
            allowed = at(route, state).allows(spec)
            if step.mutation in ("wrong_state", "skipped_opening"):
                assert not allowed
                assert step.invalid
                assert step.mutation == "wrong_state" or sent[index][0] == "connecting"
            elif step.mutation is None:
                assert allowed

    check()
    assert mutations["wrong_state"]
    assert mutations["skipped_opening"]
    assert mutations[None]


def test_a_message_whose_reply_moves_the_state_is_never_in_a_burst() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False), opening=())
    bursts: Counter[str] = Counter()

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        for _, step in drive(conversation, route):
            if not step.wait:
                bursts[step.message] += 1

    check()
    assert bursts["ping"]
    assert not bursts["init"]


def test_without_an_opening_or_a_match_the_conversation_ends() -> None:
    # Nothing is allowed in the first state: valid conversations send nothing at all.
    route = compiled(invalid=InvalidSpec(enabled=False), opening=(), messages=(SUBSCRIBE,))

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert drive(conversation, route) == []
        assert conversation.recorded().steps == ()

    check()


def test_the_auth_message_comes_first_beyond_the_limit() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False), settings=Settings(max_messages=1))

    @FIXED
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        assert conversation.source is not None
        conversation.source.prepend([Step("auth", "json", {"token": "t"})])
        sent = [s.message for _, s in drive(conversation, route)]
        assert sent == ["auth", "init"]
        assert conversation.max_steps == 2

    check()


def test_conversations_go_deep_and_may_still_end_after_the_opening() -> None:
    # Without a drawn depth, most conversations ended one or two messages after the opening.
    route = compiled(invalid=InvalidSpec(enabled=False), settings=Settings(max_messages=10))
    lengths: list[int] = []

    @settings(FIXED, max_examples=60)
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        lengths.append(len(drive(conversation, route)))

    check()
    assert sum(n >= 6 for n in lengths) >= len(lengths) // 4, sorted(lengths)
    assert min(lengths) == 1  # the opening alone: a depth of 0, the shrink target, is no floor


STOP = MessageSpec(
    name="stop", kind="json", schema=typed("stop"), when=("ready",), ends="subscribe"
)


def stop_share(route: CompiledRoute, options: tuple[int, ...], stoppers: tuple[int, ...]) -> float:
    """How often a step drawn from ``options`` while ``stoppers`` could stop something is `stop`."""
    picked: Counter[str] = Counter()

    @FIXED
    @given(_Follow(route, 6, negative=False).step(options, (), False, False, False, stoppers))
    def check(drawn: tuple[bool, Step | None]) -> None:
        step = drawn[1]
        assert step is not None
        picked[step.message] += 1

    check()
    return picked["stop"] / sum(picked.values())


def test_a_message_that_ends_a_running_operation_is_drawn_more_often() -> None:
    specs = [SUBSCRIBE, PING, STOP]
    assert _stopping((0, 1, 1, 2), specs, frozenset()) == ()  # nothing runs
    assert _stopping((0, 1, 1, 2), specs, frozenset({"ping"})) == ()  # nothing stops a ping
    assert _stopping((0, 1), specs, frozenset({"subscribe"})) == ()  # stop not allowed here
    assert _stopping((2, 0, 2, 1, 2), specs, frozenset({"subscribe"})) == (2,)

    route = compiled(invalid=InvalidSpec(enabled=False), messages=(INIT, SUBSCRIBE, PING, STOP))
    options = (2,) * 8 + (3,)  # eight pings' worth, one stop
    share = {stoppers: stop_share(route, options, stoppers) for stoppers in ((), (3,))}
    assert share[()] < 0.2, share  # measured: 0.11
    assert share[(3,)] > 0.3, share  # measured: 0.36
