"""Negative cases: failures after a mutant, and invalid.must_reject, on hand-built transcripts."""

from __future__ import annotations

from tests.engine.checks.builders import (
    MUTANT,
    VALID,
    checks,
    client_close,
    negative_conversation,
    received,
    route,
    sent,
    server_close,
    transcript,
)
from ws_routes.compile.route import CompiledRoute
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Step
from ws_routes.spec.model import InvalidSpec, ReplySpec


def test_failures_after_a_mutant_are_negative_cases_naming_it() -> None:
    t = transcript(
        sent(0), sent(1, b"\x00", kind="bytes", mutation=MUTANT.mutation), server_close(1011, index=1)
    )
    failures = evaluate(route(), negative_conversation(VALID, MUTANT), t)
    assert checks(failures) == ["invalid_input"]
    assert failures[0].error_type == "negative_case"
    assert failures[0].message.startswith("negative case, bytes frame to a text message:")


def test_failures_before_any_mutant_keep_their_check() -> None:
    t = transcript(sent(0), server_close(1011, index=0), sent(1, b"\x00", kind="bytes"))
    failures = evaluate(route(), negative_conversation(VALID, MUTANT), t)
    assert checks(failures) == ["no_server_error"]


def test_an_allowed_reaction_to_a_mutant_passes() -> None:
    r = route(close_codes=(4001,), invalid=InvalidSpec(close_codes=(1003,)))
    t = transcript(sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), server_close(1003))
    assert evaluate(r, negative_conversation(MUTANT), t) == []


def must_reject_route() -> CompiledRoute:
    return route(
        replies=(
            ReplySpec(name="ok", kind="text"),
            ReplySpec(name="error", kind="json", error=True),
        ),
        invalid=InvalidSpec(must_reject=True, close_codes=(4400,)),
    )


def test_must_reject_fails_on_silence_and_passes_on_an_error_reply_or_a_close() -> None:
    r = must_reject_route()
    frame = sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation)
    silent = evaluate(r, negative_conversation(MUTANT), transcript(frame, client_close()))
    assert checks(silent) == ["invalid_input"]
    assert "was not rejected" in silent[0].message
    assert "4400" in silent[0].expected
    replied = transcript(frame, received(0, {"e": 1}, name="error"), client_close())
    assert evaluate(r, negative_conversation(MUTANT), replied) == []
    closed = transcript(frame, server_close(4400, index=0))
    assert evaluate(r, negative_conversation(MUTANT), closed) == []


def test_must_reject_ignores_mutants_that_may_be_valid() -> None:
    awkward = Step("say", "text", "a\x00b", mutation="NUL in a string", invalid=False)
    t = transcript(sent(0, "a\x00b", mutation=awkward.mutation), client_close())
    assert evaluate(must_reject_route(), negative_conversation(awkward), t) == []


def test_an_unrejected_mutant_is_named_with_its_frame_and_family() -> None:
    # The frame (and its family) is what keeps each unrejected family a finding of its own.
    r = must_reject_route()
    binary = Step(
        "say", "bytes", b"\x00", mutation=MUTANT.mutation, invalid=True, family="wrong_frame_kind"
    )
    empty = Step("say", "text", "", mutation="empty text frame", invalid=True, family="empty_frame")
    frames = [
        sent(0, b"\x00", kind="bytes", mutation=binary.mutation, family=binary.family),
        sent(1, "", mutation=empty.mutation, family=empty.family),
    ]
    first = evaluate(r, negative_conversation(binary, empty), transcript(*frames, client_close(index=1)))
    assert checks(first) == ["invalid_input"]  # the first unrejected one; the rest follow it
    assert first[0].frame == frames[0]
    assert first[0].frame.family == "wrong_frame_kind"
    assert "(bytes frame to a text message) was not rejected" in first[0].message
    # Once the binary frame is rejected, the empty frame is what the failure is about.
    rejected = transcript(frames[0], received(0, {"e": 1}, name="error"), frames[1], client_close(index=1))
    second = evaluate(r, negative_conversation(binary, empty), rejected)
    assert second[0].frame == frames[1]
    assert second[0].message == "invalid message 1 (empty text frame) was not rejected"


def test_a_failure_names_the_mutant_it_follows_not_an_earlier_one() -> None:
    nul = Step("say", "text", "a\x00b", mutation="NUL inside the string at (root)", family="nul")
    t = transcript(
        sent(0, MUTANT.payload, kind="bytes", mutation=MUTANT.mutation),
        sent(1, nul.payload, mutation=nul.mutation, family="nul"),
        server_close(1011, index=1),
    )
    failures = evaluate(route(), negative_conversation(MUTANT, nul), t)
    assert failures[0].message.startswith("negative case, NUL inside the string at (root):")
    assert failures[0].origin == "no_server_error|server_error"
