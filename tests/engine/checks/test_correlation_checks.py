"""correlation, no_reply, echo and stream (engine/checks/correlation.py) on hand-built transcripts.

The module's own name is taken by the acceptance test (tests/acceptance/test_correlation.py):
test file basenames are unique across tests/.
"""

from __future__ import annotations

from typing import Any

from tests.engine.checks.builders import PATH, transcript
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.spec.model import (
    MessageSpec,
    ReplyCase,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
    StreamSpec,
)


def _has(*keys: str) -> Schema:
    return Schema(value={"type": "object", "required": list(keys)})


MESSAGES = (
    MessageSpec(name="call", kind="json", correlation="/id", reply=("result", "error")),
    MessageSpec(
        name="echo", kind="json", correlation="/id", reply=("echoed",), echo={"/text": "/text"}
    ),
    MessageSpec(name="notify", kind="json", no_reply=True),
    MessageSpec(
        name="sub",
        kind="json",
        correlation="/id",
        stream=StreamSpec(items=("next",), end=("done",)),
    ),
    MessageSpec(name="stop", kind="json", correlation="/id", ends="sub", no_reply=True),
    MessageSpec(name="plain", kind="json", reply=("ack",), echo={"/n": "/n"}),
)
REPLIES = (
    ReplySpec(name="result", kind="json", schema=_has("id", "result"), correlation="/id"),
    ReplySpec(name="echoed", kind="json", schema=_has("id", "text"), correlation="/id"),
    ReplySpec(name="next", kind="json", schema=_has("id", "next"), correlation="/id"),
    ReplySpec(name="done", kind="json", schema=_has("id", "done"), correlation="/id"),
    ReplySpec(name="error", kind="json", schema=_has("error"), correlation="/id", error=True),
    ReplySpec(name="ack", kind="json", schema=_has("ack")),
    ReplySpec(name="tick", kind="json", schema=_has("tick")),
)


def rpc(**settings: Any) -> CompiledRoute:
    return compile_route(
        RouteSpec(path=PATH, messages=MESSAGES, replies=REPLIES, settings=Settings(**settings))
    )


def out(index: int, name: str, data: Any, mutation: str | None = None) -> Frame:
    return Frame(
        direction="send", kind="json", data=data, name=name, index=index, mutation=mutation
    )


def back(index: int, name: str | None, data: Any) -> Frame:
    return Frame(direction="recv", kind="json", data=data, name=name, index=index)


def judge(t: Transcript, *waits: bool, route: CompiledRoute | None = None) -> list[Failure]:
    """Evaluate ``t``; ``waits`` says which sent messages waited (default: all did)."""
    sends = t.sent
    steps = tuple(
        Step(f.name or "", "json", f.data, waits[i] if i < len(waits) else True, f.mutation)
        for i, f in enumerate(sends)
    )
    return evaluate(route or rpc(), Conversation(path=PATH, steps=steps), t)


def only(failures: list[Failure]) -> Failure:
    assert len(failures) == 1, [f.message for f in failures]
    return failures[0]


# -- correlation -----------------------------------------------------------------------------------


def test_replies_in_any_order_answer_their_requests() -> None:
    t = transcript(
        out(0, "call", {"id": 1}),
        out(1, "call", {"id": 2}),
        back(1, "result", {"id": 2, "result": "b"}),
        back(1, "result", {"id": 1, "result": "a"}),
    )
    assert judge(t, False, True) == []


def test_a_reply_with_an_id_nobody_waits_for_names_both_sides() -> None:
    t = transcript(
        out(0, "call", {"id": 1}),
        out(1, "call", {"id": 2}),
        back(1, "result", {"id": 2, "result": "b"}),
        back(1, "result", {"id": 7, "result": "a"}),
    )
    failure = judge(t, False, True)[0]
    assert failure.check == "correlation"
    assert failure.message == (
        "reply #1 `result` has id 7, but no request with that id is waiting (pending: 1)"
    )
    assert failure.actual == '< json {"id": 7, "result": "a"}    [result]'


def test_a_second_reply_to_one_request_fails_and_shows_both() -> None:
    t = transcript(
        out(0, "call", {"id": 1}),
        out(1, "call", {"id": 2}),
        back(1, "result", {"id": 2, "result": "b"}),
        back(1, "result", {"id": 2, "result": "a"}),
        missed_replies=[(0, ("result", "error"))],
    )
    failures = judge(t, False, True)
    assert [f.check for f in failures] == ["correlation", "reply_expected"]
    first, missing = failures
    assert first.message == (
        "reply #1 `result` has id 2, but message #1 `call` (id 2) already got its reply, "
        "reply #0 `result` (pending: 1)"
    )
    assert first.actual.splitlines() == [
        '#0: < json {"id": 2, "result": "b"}    [result]',
        '#1: < json {"id": 2, "result": "a"}    [result]',
    ]
    assert first.frame is not None
    assert first.frame.data == {"id": 2}
    assert missing.message == "no result or error reply with id 1 to message 0"


def test_a_reply_of_a_type_the_request_does_not_expect() -> None:
    t = transcript(
        out(0, "echo", {"id": 1, "text": "a"}), back(0, "result", {"id": 1, "result": 1})
    )
    failure = only(judge(t))
    assert failure.message == (
        "reply #0 `result` has id 1, the id of message #0 `echo` (id 1), which expects `echoed`"
    )


def test_an_unknown_id_after_a_mutant_is_tolerated() -> None:
    # JSON-RPC answers a request it cannot parse with "id": null.
    t = transcript(
        out(0, "call", "{", mutation="text that is not JSON"),
        back(0, "error", {"id": None, "error": "parse error"}),
    )
    assert judge(t) == []


def test_the_checks_switch_off_one_by_one() -> None:
    t = transcript(out(0, "call", {"id": 1}), back(0, "result", {"id": 9, "result": 1}))
    assert judge(t, route=rpc(checks={"correlation": False})) == []
    assert [f.check for f in judge(t, route=rpc(checks={"echo": False}))] == ["correlation"]


# -- no_reply --------------------------------------------------------------------------------------


def test_an_answered_no_reply_message_fails_no_reply() -> None:
    t = transcript(
        out(0, "notify", {"log": "x"}), back(0, "error", {"id": None, "error": "unsupported"})
    )
    failure = only(judge(t))
    assert failure.check == "no_reply"
    assert (
        failure.message == "message #0 `notify` must get no reply, but reply #0 `error` answered it"
    )
    assert failure.frame is not None
    assert failure.frame.name == "notify"


def test_a_case_may_say_no_reply_for_the_messages_it_matches() -> None:
    # JSON-RPC's batch: answered by one array when it holds a request, never when it holds
    # notifications only.
    only_notifications = Schema(value={"items": {"not": {"required": ["id"]}}})
    batch = MessageSpec(
        name="batch",
        kind="json",
        reply=("ack",),
        cases=(ReplyCase(match=only_notifications, no_reply=True),),
    )
    route = compile_route(RouteSpec(path=PATH, messages=(batch,), replies=REPLIES))
    answered = back(0, "ack", {"ack": []})
    failure = only(judge(transcript(out(0, "batch", [{"m": "log"}]), answered), route=route))
    assert failure.check == "no_reply"
    assert failure.message == "message #0 `batch` must get no reply, but reply #0 `ack` answered it"
    assert judge(transcript(out(0, "batch", [{"m": "log", "id": 1}]), answered), route=route) == []
    assert judge(transcript(out(0, "batch", [{"m": "log"}])), route=route) == []
    # A frame no reply declares: "must get no reply" comes first, not "matches no reply".
    junk = transcript(out(0, "batch", [{"m": "log"}]), back(0, None, []))
    assert [f.check for f in judge(junk, route=route)] == ["no_reply", "reply_schema"]


def test_replies_in_a_no_reply_burst_that_answer_the_others_are_fine() -> None:
    t = transcript(
        out(0, "notify", {"log": "x"}),
        out(1, "call", {"id": 1}),
        out(2, "plain", {"n": 1}),
        back(2, "ack", {"ack": True, "n": 1}),
        back(2, "result", {"id": 1, "result": 0}),
        back(2, "tick", {"tick": 1}),  # a push nobody asked for: not an answer
    )
    assert judge(t, False, False, True) == []


def test_a_frame_after_the_no_reply_burst_is_not_its_answer() -> None:
    t = transcript(
        out(0, "notify", {}),
        out(1, "plain", {"n": 1}),
        back(1, "ack", {"ack": True, "n": 1}),
        back(1, "ack", {"ack": True, "n": 1}),
    )
    assert judge(t) == []


# -- echo ------------------------------------------------------------------------------------------


def test_echo_compares_the_reply_with_its_own_request() -> None:
    t = transcript(
        out(0, "echo", {"id": 1, "text": "a"}),
        out(1, "echo", {"id": 2, "text": "b"}),
        back(1, "echoed", {"id": 2, "text": "b"}),
        back(1, "echoed", {"id": 1, "text": "b"}),
    )
    failure = only(judge(t, False, True))
    assert failure.check == "echo"
    assert failure.message == (
        'reply #1 `echoed` has /text = "b", but message #0 `echo` sent /text = "a"'
    )


def test_echo_of_uncorrelated_messages_goes_in_order_and_spares_error_replies() -> None:
    ok = transcript(out(0, "plain", {"n": 1}), back(0, "ack", {"ack": 1, "n": 1.0}))
    assert judge(ok) == []
    wrong = transcript(out(0, "plain", {"n": 1}), back(0, "ack", {"ack": 1}))
    assert only(judge(wrong)).message == (
        "reply #0 `ack` has /n = nothing, but message #0 `plain` sent /n = 1"
    )
    error = transcript(
        out(0, "echo", {"id": 1, "text": "a"}), back(0, "error", {"id": 1, "error": 1})
    )
    assert [f.check for f in judge(error)] == ["correlation"]  # not echoed, but not echo's


# -- stream ----------------------------------------------------------------------------------------


def test_a_stream_is_items_then_one_end() -> None:
    t = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "next", {"id": "s", "next": 1}),
        back(0, "next", {"id": "s", "next": 2}),
        back(0, "done", {"id": "s", "done": True}),
    )
    assert judge(t) == []


def test_an_item_after_the_end_fails_stream_and_a_second_end_correlation() -> None:
    item = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "done", {"id": "s", "done": True}),
        back(0, "next", {"id": "s", "next": 3}),
    )
    failure = only(judge(item))
    assert failure.check == "stream"
    assert failure.message == (
        'reply #1 `next` has id "s", but the stream of message #0 `sub` (id "s") ended with '
        "reply #0 `done`"
    )
    twice = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "done", {"id": "s", "done": True}),
        back(0, "done", {"id": "s", "done": True}),
    )
    assert only(judge(twice)).check == "correlation"


def test_items_in_flight_when_the_client_ends_a_stream_are_allowed_later_ones_fail() -> None:
    in_flight = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "next", {"id": "s", "next": 1}),
        out(1, "stop", {"id": "s"}),
        back(1, "next", {"id": "s", "next": 2}),
    )
    assert judge(in_flight) == []
    later = transcript(
        out(0, "sub", {"id": "s"}),
        out(1, "stop", {"id": "s"}),
        back(1, "next", {"id": "s", "next": 1}),
        out(2, "call", {"id": 1}),
        back(2, "result", {"id": 1, "result": 0}),
        back(2, "next", {"id": "s", "next": 2}),
    )
    failure = only(judge(later))
    assert failure.check == "stream"
    assert failure.message == (
        'reply #2 `next` has id "s", but message #1 `stop` ended the stream of message #0 `sub` '
        '(id "s") and the server had time to see it'
    )


def test_an_id_reused_after_its_stream_ended_starts_a_new_one() -> None:
    t = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "done", {"id": "s", "done": True}),
        out(1, "sub", {"id": "s"}),
        back(1, "next", {"id": "s", "next": 1}),
    )
    assert judge(t) == []


def test_a_stream_that_never_ended_is_reply_expected() -> None:
    t = transcript(
        out(0, "sub", {"id": "s"}),
        back(0, "next", {"id": "s", "next": 1}),
        missed_replies=[(0, ("done",))],
    )
    failure = only(judge(t))
    assert failure.check == "reply_expected"
    assert failure.message == "the stream of message 0 with id 's' never ended (no done)"
