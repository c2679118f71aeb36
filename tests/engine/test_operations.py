"""engine.operations: the ledger of active operations the player and the checks share."""

from __future__ import annotations

from typing import Any

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.compile.ties import DUPLICATE_ID, MISSING
from ws_routes.driver.transcript import Frame
from ws_routes.engine.operations import Ledger
from ws_routes.spec.model import (
    MessageSpec,
    ReplyCase,
    ReplySpec,
    RouteSpec,
    Schema,
    StreamSpec,
)

RESULT = Schema(
    value={"type": "object", "required": ["id"], "properties": {"r": {"type": "string"}}}
)
ID = Schema(
    value={
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer", "minimum": 0, "maximum": 9}},
    }
)


def route() -> CompiledRoute:
    return compile_route(
        RouteSpec(
            path="/ws",
            messages=(
                MessageSpec(
                    name="call",
                    kind="json",
                    schema=ID,
                    correlation="/id",
                    unique=True,
                    reply=("a", "b"),
                ),
                MessageSpec(
                    name="sub",
                    kind="json",
                    correlation="/id",
                    unique=True,
                    stream=StreamSpec(items=("a",), end=("end",)),
                ),
                MessageSpec(name="stop", kind="json", correlation="/id", ends="sub", no_reply=True),
                MessageSpec(name="plain", kind="json", reply=("ack",)),
            ),
            replies=(
                ReplySpec(name="a", kind="json", schema=RESULT, correlation="/id"),
                ReplySpec(name="b", kind="json", schema=RESULT, correlation="/id"),
                ReplySpec(
                    name="end",
                    kind="json",
                    correlation="/id",
                    schema=Schema(value={"required": ["end"]}),
                ),
                ReplySpec(name="ack", kind="json", schema=Schema(value={"required": ["ack"]})),
            ),
        )
    )


def recv(name: str | None, data: Any) -> Frame:
    return Frame(direction="recv", kind="json", data=data, name=name, index=0)


def test_a_request_starts_an_operation_and_its_reply_ends_it() -> None:
    ledger = Ledger(route())
    assert ledger.sent(0, "call", {"id": 1}, None) == ()  # followed by the ledger itself
    assert ledger.sent(1, "plain", {}, None) == ("ack",)  # uncorrelated: the player's list
    assert ledger.waiting()
    assert ledger.awaited() == {"a", "b"}
    assert ledger.is_active(1)
    assert ledger.is_active(1.0)
    assert not ledger.is_active(True)
    match = ledger.received(recv("a", {"id": 1, "r": "x"}))
    assert (match.verdict, match.name, match.number) == ("answer", "a", 0)
    assert not ledger.waiting()
    assert not ledger.is_active(1)
    assert ledger.received(recv("a", {"id": 1})).verdict == "extra"
    assert ledger.received(recv("a", {"id": 5})).verdict == "orphan"
    assert ledger.received(recv("ack", {"ack": 1})).verdict == "uncorrelated"


def test_a_reply_that_fits_two_types_is_named_as_its_request_expected_it() -> None:
    r = route()
    r2 = compile_route(
        RouteSpec(
            path="/ws",
            messages=(MessageSpec(name="call", kind="json", correlation="/id", reply=("b",)),),
            replies=r.spec.replies,
        )
    )
    ledger = Ledger(r2)
    ledger.sent(0, "call", {"id": 1}, None)
    match = ledger.received(recv("a", {"id": 1, "r": "x"}))  # classified as the first type, a
    assert (match.verdict, match.name) == ("answer", "b")


def test_streams_end_once_and_the_client_can_end_them() -> None:
    ledger = Ledger(route())
    ledger.sent(0, "sub", {"id": 1}, None)
    ledger.sent(1, "sub", {"id": 2}, None)
    assert ledger.received(recv("a", {"id": 1})).verdict == "item"
    assert ledger.received(recv("end", {"id": 1, "end": True})).verdict == "end"
    assert ledger.received(recv("a", {"id": 1})).verdict == "late"
    assert ledger.missed(final=False) == []  # a stream is only given up on at the very end
    ledger.sent(2, "stop", {"id": 2}, None)
    assert not ledger.is_active(2)
    # Stopping a running stream: the next frame (or idleness) is waited for, once.
    assert ledger.waiting()
    assert ledger.stopping
    assert ledger.received(recv("a", {"id": 2})).verdict == "cancelled"
    assert not ledger.waiting()
    ledger.sent(3, "sub", {"id": 3}, None)
    assert ledger.missed(final=True) == [(3, ("end",))]
    assert ledger.missed(final=True) == []  # each once


def test_unanswered_requests_are_missed_once_and_stay_active() -> None:
    ledger = Ledger(route())
    ledger.sent(0, "call", {"id": 1}, None)
    ledger.sent(1, "call", {"id": 9}, "wrong type at /x")  # a mutant: never missed, not awaited
    assert ledger.missed(final=False) == [(0, ("a", "b"))]
    assert ledger.missed(final=False) == []
    assert not ledger.waiting()  # given up on
    assert ledger.is_active(1)  # but a late reply still answers it, and its id stays taken
    assert ledger.received(recv("b", {"id": 9, "r": "y"})).verdict == "answer"
    assert ledger.received(recv("a", {"id": 1})).verdict == "answer"


def test_a_unique_id_in_use_is_replaced_by_a_free_one_that_fits_the_schema() -> None:
    ledger = Ledger(route())
    ledger.sent(0, "call", {"id": 9}, None)
    payload = {"id": 9, "x": 1}
    assert ledger.prepare("call", payload, None) == {"id": 8, "x": 1}  # 10 is over the maximum
    free = {"id": 3}
    assert ledger.prepare("call", free, None) is free  # untouched (the same object)
    assert ledger.prepare("plain", {"id": 9}, None) == {"id": 9}  # not unique
    for i in range(10):
        ledger.sent(i, "call", {"id": i}, None)
    assert ledger.prepare("call", {"id": 9}, None) is MISSING  # every id 0-9 is active


def test_a_duplicate_id_step_reuses_the_newest_active_id() -> None:
    ledger = Ledger(route())
    assert ledger.prepare("call", {"id": 4}, DUPLICATE_ID) == {"id": 4}  # nothing active yet
    ledger.sent(0, "call", {"id": 1}, None)
    ledger.sent(1, "sub", {"id": 2}, None)
    assert ledger.prepare("call", {"id": 4}, DUPLICATE_ID) == {"id": 2}
    assert ledger.prepare("call", {"id": 1}, DUPLICATE_ID) == {"id": 1}  # already a duplicate
    ledger.sent(2, "call", {"id": 2}, DUPLICATE_ID)
    # The valid request's answer is matched first; the duplicate takes whatever comes.
    assert ledger.received(recv("end", {"id": 2, "end": 1})).operation is ledger.operations[1]
    assert ledger.received(recv(None, {"id": 2, "oops": 1})).operation is ledger.operations[2]


def test_a_started_stream_holds_only_the_last_collect() -> None:
    ledger = Ledger(route())
    ledger.sent(0, "sub", {"id": 1}, None)
    assert ledger.waiting(final=False)  # not started: its first item is waited for
    assert ledger.received(recv("a", {"id": 1})).verdict == "item"
    assert not ledger.waiting(final=False)  # running: the conversation goes on
    assert ledger.waiting(final=True)  # at the end, its end is due


def test_an_aimed_ends_message_takes_the_id_of_a_running_operation() -> None:
    ledger = Ledger(route())
    ledger.sent(0, "sub", {"id": 4}, None)
    ledger.sent(1, "sub", {"id": 5}, None)
    assert ledger.prepare("stop", {"id": 8}, None, aim=True) == {"id": 5}  # the newest
    assert ledger.prepare("stop", {"id": 8}, None) == {"id": 8}  # not aimed: as drawn
    assert ledger.prepare("stop", {"id": 8}, "wrong type at /id", aim=True) == {"id": 8}
    ledger.sent(2, "stop", {"id": 5}, None)
    ledger.sent(3, "stop", {"id": 4}, None)
    assert ledger.prepare("stop", {"id": 8}, None, aim=True) == {"id": 8}  # none running


def test_running_names_the_message_types_with_a_valid_operation_still_active() -> None:
    ledger = Ledger(route())
    assert ledger.running() == frozenset()
    ledger.sent(0, "sub", {"id": 1}, None)
    ledger.sent(1, "call", {"id": 2}, "wrong type at /x")  # a mutant runs nothing valid
    assert ledger.running() == {"sub"}
    ledger.sent(2, "call", {"id": 3}, None)
    assert ledger.running() == {"sub", "call"}
    ledger.received(recv("a", {"id": 3, "r": "x"}))  # answered: the call is over
    assert ledger.running() == {"sub"}
    ledger.sent(3, "sub", {"id": 4}, None)
    ledger.received(recv("end", {"id": 4, "end": True}))
    # Ended by the server: still running as far as the next draw goes (when the end comes is
    # timing, and a draw must not depend on it); the client's stop ends it.
    ledger.sent(4, "stop", {"id": 1}, None)
    assert ledger.running() == {"sub"}
    ledger.sent(5, "stop", {"id": 4}, None)
    assert ledger.running() == frozenset()


def test_an_id_reused_then_stopped_takes_the_frames_in_flight_for_its_second_operation() -> None:
    # A false alarm once, on a correct graphql-ws server: the second stream's frames sent before
    # the server saw the stop were blamed on the first stream, which had ended ("already got
    # its end").
    ledger = Ledger(route())
    ledger.sent(0, "sub", {"id": 1}, None)
    ledger.received(recv("a", {"id": 1}))
    assert ledger.received(recv("end", {"id": 1, "end": True})).verdict == "end"
    ledger.sent(1, "sub", {"id": 1}, None)  # free again: reused
    ledger.sent(2, "stop", {"id": 1}, None)  # in the same burst
    second = ledger.operations[1]
    for frame in (recv("a", {"id": 1}), recv("end", {"id": 1, "end": True})):
        match = ledger.received(frame)
        assert (match.verdict, match.operation) == ("cancelled", second)


def test_a_request_whose_case_says_no_reply_starts_no_operation() -> None:
    quiet = Schema(value={"required": ["quiet"]})
    call = MessageSpec(
        name="call",
        kind="json",
        correlation="/id",
        reply=("a",),
        cases=(ReplyCase(match=quiet, no_reply=True),),
    )
    ledger = Ledger(compile_route(RouteSpec(path="/ws", messages=(call,), replies=route().spec.replies)))
    assert ledger.sent(0, "call", {"id": 1, "quiet": True}, None) == ()
    assert ledger.operations == []
    assert not ledger.waiting()
    ledger.sent(1, "call", {"id": 2}, None)
    assert [op.value for op in ledger.operations] == [2]


def test_a_payload_owed_no_reply_starts_no_operation_and_is_never_missed() -> None:
    # A message with cases and no `reply` of its own: a payload that matches no case may go
    # unanswered, so it is not followed (it was once reported missing an empty list of replies).
    asked = Schema(value={"required": ["ask"]})
    call = MessageSpec(
        name="call",
        kind="json",
        correlation="/id",
        cases=(ReplyCase(match=asked, reply=("a",)),),
    )
    ledger = Ledger(compile_route(RouteSpec(path="/ws", messages=(call,), replies=route().spec.replies)))
    ledger.sent(0, "call", {"id": 1}, None)
    assert ledger.operations == []
    assert ledger.missed(final=True) == []
    ledger.sent(1, "call", {"id": 2, "ask": True}, None)
    assert [(op.value, op.expects) for op in ledger.operations] == [(2, ("a",))]
    assert ledger.missed(final=True) == [(1, ("a",))]
    plain = Ledger(route())
    plain.sent(0, "stop", {"id": 3}, None)  # correlated, no_reply: owed nothing
    assert plain.operations == []
