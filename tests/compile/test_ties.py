"""compile.ties: ids at JSON pointers, JSON-equal id keys, expected replies and fresh ids."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.compile.route import compile_route
from ws_routes.compile.ties import MISSING, compile_ties, id_key, pointer_get, pointer_set
from ws_routes.spec.model import MessageSpec, ReplyCase, ReplySpec, RouteSpec, Schema, StreamSpec

ID_SCHEMA = Schema(
    value={
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer", "minimum": 0, "maximum": 3}},
    }
)


def _route(*messages: MessageSpec, replies: tuple[ReplySpec, ...] = ()) -> RouteSpec:
    return RouteSpec(path="/ws", messages=messages, replies=replies)


@pytest.mark.parametrize(
    ("pointer", "found"),
    [
        ("", {"a": [1, {"b/c": 2, "~": 3}]}),
        ("/a/0", 1),
        ("/a/1/b~1c", 2),
        ("/a/1/~0", 3),
        ("/a/2", MISSING),
        ("/a/x", MISSING),
        ("/nope", MISSING),
        ("/a/0/deeper", MISSING),
    ],
)
def test_pointer_get(pointer: str, found: Any) -> None:
    assert pointer_get({"a": [1, {"b/c": 2, "~": 3}]}, pointer) == found


def test_pointer_set_copies_the_path_and_shares_the_rest() -> None:
    value = {"id": 1, "params": [{"x": 1}], "other": {"big": True}}
    rewritten = pointer_set(value, "/params/0/x", 2)
    assert rewritten == {"id": 1, "params": [{"x": 2}], "other": {"big": True}}
    assert value["params"] == [{"x": 1}]  # the original is untouched
    assert rewritten["other"] is value["other"]
    assert pointer_set(value, "", 5) == 5


def test_id_keys_follow_json_equality() -> None:
    assert id_key(1) == id_key(1.0)
    assert id_key(1) != id_key(True)
    assert id_key(0) != id_key(False) != id_key(None)
    assert id_key("1") != id_key(1)
    assert id_key({"a": [1, "x"]}) == id_key({"a": [1.0, "x"]})


def test_a_route_without_the_keys_compiles_to_unused_ties() -> None:
    route = _route(MessageSpec(name="say", kind="text", reply=("echo",)))
    assert compile_ties(route).used is False


def test_cases_choose_the_expected_replies_first_match_wins() -> None:
    empty = Schema(value={"properties": {"text": {"const": ""}}, "required": ["text"]})
    long = Schema(value={"properties": {"text": {"minLength": 5}}})
    echo = MessageSpec(
        name="echo",
        kind="json",
        reply=("echoed",),
        cases=(ReplyCase(match=empty, reply=("error",)), ReplyCase(match=long, reply=("cut",))),
    )
    ties = compile_ties(_route(echo))
    assert ties.used
    assert ties.expected("echo", {"text": ""}) == ("error",)
    assert ties.expected("echo", {"text": "abcdef"}) == ("cut",)
    assert ties.expected("echo", {"text": "ab"}) == ("echoed",)
    assert ties.expected("unknown", {}) == ()


def test_a_no_reply_case_expects_nothing_and_makes_its_messages_silent() -> None:
    quiet = Schema(value={"required": ["quiet"]})
    call = MessageSpec(
        name="call",
        kind="json",
        correlation="/id",
        reply=("result",),
        cases=(ReplyCase(match=quiet, no_reply=True),),
    )
    ties = compile_ties(_route(call)).messages["call"]
    assert (ties.expected({"id": 1, "quiet": 1}), ties.silent({"id": 1, "quiet": 1})) == ((), True)
    assert (ties.expected({"id": 1}), ties.silent({"id": 1})) == (("result",), False)
    notify = compile_ties(_route(MessageSpec(name="n", kind="json", no_reply=True)))
    assert notify.messages["n"].silent({})


def test_answers_are_what_messages_expect_and_the_error_replies() -> None:
    sub = MessageSpec(
        name="sub",
        kind="json",
        correlation="/id",
        stream=StreamSpec(items=("next",), end=("complete",)),
    )
    call = MessageSpec(name="call", kind="json", correlation="/id", reply=("result",))
    replies = (
        ReplySpec(name="next", kind="json", correlation="/id"),
        ReplySpec(name="complete", kind="json", correlation="/id"),
        ReplySpec(name="result", kind="json", correlation="/id"),
        ReplySpec(name="oops", kind="json", error=True),
        ReplySpec(name="tick", kind="json"),
    )
    ties = compile_ties(_route(sub, call, replies=replies))
    assert ties.answers == {"next", "complete", "result", "oops"}  # not the unasked-for tick
    assert ties.reply_value("result", {"id": 7}) == 7
    assert ties.reply_value("tick", {"id": 7}) is MISSING
    assert ties.reply_value(None, {"id": 7}) is MISSING


def test_a_fresh_id_avoids_the_taken_ones_and_keeps_the_schema() -> None:
    call = MessageSpec(
        name="call", kind="json", schema=ID_SCHEMA, correlation="/id", unique=True, reply=("r",)
    )
    ties = compile_ties(_route(call)).messages["call"]
    taken = {3, 2}
    fresh = ties.fresh({"id": 3, "x": "kept"}, lambda v: v in taken)
    assert fresh == {"id": 1, "x": "kept"}  # 4 is over the maximum, 2 is taken
    assert ties.fresh({"id": 3}, lambda v: v in {0, 1, 2, 3}) is MISSING  # nothing left


@pytest.mark.parametrize(
    ("schema", "current", "fresh"),
    [
        ({"type": "string", "maxLength": 2}, "ab", "a0"),
        ({"type": "string", "pattern": "^[a-z]+$"}, "ab", "aa"),
        ({"type": "string", "format": "uuid"}, "x", "0"),
        ({"type": ["integer", "string"]}, None, 1),
    ],
)
def test_fresh_ids_of_other_types(schema: dict[str, Any], current: Any, fresh: Any) -> None:
    whole = Schema(value={"type": "object", "properties": {"id": schema}})
    call = MessageSpec(name="call", kind="json", schema=whole, correlation="/id", reply=("r",))
    ties = compile_ties(_route(call)).messages["call"]
    assert ties.fresh({"id": current}, lambda v: v == current) == {"id": fresh}


def test_classify_prefers_the_expected_reply_types() -> None:
    # Two reply types that both fit any string result: the expected one names the frame.
    result = Schema(value={"type": "object", "properties": {"result": {"type": "string"}}})
    route = compile_route(
        _route(
            MessageSpec(name="m", kind="json"),
            replies=(
                ReplySpec(name="a", kind="json", schema=result),
                ReplySpec(name="b", kind="json", schema=result),
            ),
        )
    )
    frame = '{"result": "x"}'
    assert route.classify("text", frame)[0] == "a"
    assert route.classify("text", frame, {"b"})[0] == "b"
    assert route.classify("text", frame, {"nothing"})[0] == "a"
    assert route.satisfies("a", "json", {"result": "x"}, ("b",))
    assert not route.satisfies("a", "json", {"result": 1}, ("b",))
    assert not route.satisfies("a", "text", "x", ("b",))  # kinds must agree
