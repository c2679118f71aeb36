"""reply_schema, undocumented_reply and reply_expected, on hand-built transcripts (no app)."""

from __future__ import annotations

from tests.engine.checks.builders import (
    MUTANT,
    PONG,
    VALID,
    checks,
    negative_conversation,
    received,
    route,
    run,
    sent,
    transcript,
)
from ws_routes.engine.checks import evaluate
from ws_routes.engine.checks.common import IDLE
from ws_routes.spec.model import ReplySpec, Schema, Settings

ERROR = ReplySpec(name="error", kind="json", schema=Schema(value={"required": ["error"]}))


# -- reply_schema / undocumented_reply -------------------------------------------------------------


def test_reply_not_matching_any_schema_fails_reply_schema_with_reasons() -> None:
    t = transcript(sent(0), received(0, {"ok": False}))
    (failure,) = run(t, route(replies=(PONG, ERROR)))
    assert failure.check == "reply_schema"
    assert failure.error_type == "contract_violation"
    assert failure.index == 0
    assert failure.expected == "one of ['pong', 'error'] (closest: 'pong')"
    assert failure.actual.splitlines() == [
        '< json {"ok": false}    [undocumented]',
        "at /ok: true was expected",
    ]


def test_matched_replies_pass() -> None:
    t = transcript(sent(0), received(0, {"ok": True}, name="pong"))
    assert run(t, route(replies=(PONG,))) == []


def test_reply_of_undeclared_kind_is_undocumented() -> None:
    t = transcript(sent(0), received(0, b"\x00", kind="bytes"))
    (failure,) = run(t, route(replies=(PONG,)))
    assert failure.check == "undocumented_reply"
    assert failure.expected == "replies of kind ['json']"
    assert failure.actual == "< bytes b'\\x00'    [undocumented]"


def test_route_without_declared_replies_accepts_any_reply() -> None:
    t = transcript(sent(0), received(0, b"\x00", kind="bytes"), received(0, {"any": 1}))
    assert run(t) == []


def test_reply_checks_switch_off_separately() -> None:
    bad_schema = transcript(sent(0), received(0, {"ok": False}))
    wrong_kind = transcript(sent(0), received(0, "hello", kind="text"))
    no_schema = route(replies=(PONG,), settings=Settings(checks={"reply_schema": False}))
    assert run(bad_schema, no_schema) == []
    assert checks(run(wrong_kind, no_schema)) == ["undocumented_reply"]
    no_undocumented = route(
        replies=(PONG,), settings=Settings(checks={"undocumented_reply": False})
    )
    assert run(wrong_kind, no_undocumented) == []
    assert checks(run(bad_schema, no_undocumented)) == ["reply_schema"]


def test_only_the_first_bad_reply_is_reported() -> None:
    t = transcript(sent(0), received(0, {"ok": 1}), received(0, {"ok": 2}))
    assert checks(run(t, route(replies=(PONG,)))) == ["reply_schema"]


def test_a_reply_with_nan_or_infinity_is_not_json() -> None:
    r = route(replies=(PONG,))
    t = transcript(sent(0), received(0, '{"ok": Infinity}', kind="text"))
    (failure,) = run(t, r)
    assert failure.check == "undocumented_reply"
    assert failure.message == "a reply is not valid JSON, and only JSON replies are declared"
    assert (
        failure.actual.splitlines()[-1] == "Infinity is not JSON (RFC 8259); JSON.parse rejects it"
    )


def test_a_reply_to_invalid_input_may_break_the_reply_schema_unless_it_is_an_error_reply() -> None:
    # A server may tolerate a bad message and answer it; only its error replies stay bound.
    typed_error = ReplySpec(
        name="error",
        kind="json",
        error=True,
        schema=Schema(
            value={"required": ["error", "code"], "properties": {"error": {"type": "string"}}}
        ),
    )
    r = route(replies=(typed_error, PONG), settings=Settings(checks={"disconnect": False}))
    tolerated = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), received(0, {"ok": "echoed"})
    )
    assert evaluate(r, negative_conversation(MUTANT), tolerated) == []
    broken_error = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation),
        received(0, {"error": 5, "code": 1}),
    )
    (failure,) = evaluate(r, negative_conversation(MUTANT), broken_error)
    assert failure.check == "invalid_input"
    assert "closest: 'error'" in failure.expected
    # The same reply to a valid message is a contract violation.
    valid = transcript(sent(0), received(0, {"ok": "echoed"}))
    assert checks(evaluate(r, negative_conversation(VALID), valid)) == ["reply_schema"]


# -- reply_expected --------------------------------------------------------------------------------


def test_missed_reply_fails_reply_expected() -> None:
    r = route(settings=Settings(message_timeout=0.25), replies=(PONG, ERROR))
    t = transcript(sent(0), sent(1, "y"), missed_replies=[(1, ("pong", "error"))])
    (failure,) = run(t, r)
    assert failure.check == "reply_expected"
    assert failure.message == "no pong or error reply to message 1"
    assert failure.expected == "a reply of type 'pong' or 'error' within 0.25 s"
    assert failure.frame is not None
    assert failure.frame.data == "y"


def test_a_reply_decided_missing_by_idleness_names_no_timeout() -> None:
    r = route(settings=Settings(message_timeout=0.25), replies=(PONG,))
    missed = [(0, ("pong",))]
    (waited,) = run(transcript(sent(0), missed_replies=missed), r)
    assert (waited.expected, waited.actual) == (
        "a reply of type 'pong' within 0.25 s",
        "no reply within 0.25 s",
    )
    (decided,) = run(transcript(sent(0), missed_replies=missed, decided_idle=[0]), r)
    assert (decided.expected, decided.actual) == ("a reply of type 'pong'", IDLE)
    assert "went idle" in decided.actual


def test_an_unrecognised_reply_is_not_also_a_missing_reply() -> None:
    r = route(replies=(PONG,))
    t = transcript(sent(0), received(0, {"ok": False}), missed_replies=[(0, ("pong",))])
    assert checks(run(t, r)) == ["reply_schema"]
