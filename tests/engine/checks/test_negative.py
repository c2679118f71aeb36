"""Negative cases: failures after a mutant, and invalid.must_reject, on hand-built transcripts."""

from __future__ import annotations

from typing import Any

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
from ws_routes.driver.transcript import Frame
from ws_routes.engine.checks import evaluate
from ws_routes.engine.checks.common import IDLE_AFTER
from ws_routes.engine.conversation import Step
from ws_routes.spec.model import InvalidSpec, MessageSpec, ReplySpec, WrongState


def test_failures_after_a_mutant_are_negative_cases_naming_it() -> None:
    t = transcript(
        sent(0),
        sent(1, b"\x00", kind="bytes", mutation=MUTANT.mutation),
        server_close(1011, index=1),
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


def test_must_reject_names_the_timeout_only_when_it_was_waited_out() -> None:
    r = must_reject_route()
    frame = sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation)
    (waited,) = evaluate(r, negative_conversation(MUTANT), transcript(frame, client_close()))
    assert waited.expected.endswith(f"within {r.spec.settings.message_timeout} s")
    assert IDLE_AFTER not in waited.actual
    decided = transcript(frame, client_close(), decided_idle=[0])
    (idle,) = evaluate(r, negative_conversation(MUTANT), decided)
    assert "within" not in idle.expected
    assert idle.actual.endswith(f"; {IDLE_AFTER}")


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
# -- messages sent in the wrong state ---------------------------------------------------------------


def state_route(**fields: Any) -> CompiledRoute:
    say = MessageSpec(
        name="say",
        kind="text",
        when=("ready",),
        wrong_state=WrongState(close_codes=(4401,), replies=("denied",)),
    )
    defaults: dict[str, Any] = {
        "messages": (say,),
        "replies": (ReplySpec(name="denied", kind="json"),),
        "states": ("new", "ready"),
        "close_codes": (4400,),
    }
    return route(**{**defaults, **fields})


WRONG = Step("say", "text", "hi", mutation="wrong_state", invalid=True)
SKIPPED = Step("say", "text", "hi", mutation="skipped_opening", invalid=True)


def test_a_wrong_state_message_refused_as_declared_passes() -> None:
    r = state_route()
    closed = transcript(sent(0, mutation="wrong_state"), server_close(4401, index=0))
    assert evaluate(r, negative_conversation(WRONG), closed) == []  # 4401 is not in close_codes
    answered = transcript(
        sent(0, mutation="skipped_opening"), received(0, {"e": 1}, name="denied"), client_close()
    )
    assert evaluate(r, negative_conversation(SKIPPED), answered) == []


def test_a_wrong_state_message_must_get_a_declared_reaction() -> None:
    r = state_route()
    silent = evaluate(
        r, negative_conversation(WRONG), transcript(sent(0, mutation="wrong_state"), client_close())
    )
    assert checks(silent) == ["invalid_input"]
    assert silent[0].message == (
        "message 0 (say), sent in a state its 'when' excludes (wrong_state), was not refused"
    )
    assert silent[0].expected == "a reply (denied) or close with one of [4401] within 10.0 s"
    other = transcript(sent(0, mutation="wrong_state"), server_close(4400, index=0))
    assert checks(evaluate(r, negative_conversation(WRONG), other)) == ["invalid_input"]


def test_a_crash_after_a_wrong_state_message_is_still_a_crash() -> None:
    t = transcript(sent(0, mutation="wrong_state"), server_close(1011, index=0))
    failure = evaluate(state_route(), negative_conversation(WRONG), t)[0]  # the most severe
    assert (failure.check, failure.origin) == ("invalid_input", "no_server_error|server_error")
    assert failure.message.startswith("negative case, wrong_state: ")


def test_in_a_burst_the_reaction_may_answer_an_earlier_message() -> None:
    mutant = Step("say", "bytes", b"\x00", wait=False, mutation="bytes frame", invalid=True)
    t = transcript(
        sent(0, b"\x00", kind="bytes", mutation="bytes frame"),
        sent(1, mutation="wrong_state"),
        server_close(4400, index=1),
    )
    r = state_route(invalid=InvalidSpec(close_codes=(4400,)))
    assert evaluate(r, negative_conversation(mutant, WRONG), t) == []


def test_without_declared_reactions_only_must_reject_asks_for_one() -> None:
    r = state_route(messages=(MessageSpec(name="say", kind="text", when=("ready",)),))
    silent = transcript(sent(0, mutation="wrong_state"), client_close())
    assert evaluate(r, negative_conversation(WRONG), silent) == []
    strict = state_route(
        messages=(MessageSpec(name="say", kind="text", when=("ready",)),),
        invalid=InvalidSpec(must_reject=True, close_codes=(4400,)),
    )
    assert checks(evaluate(strict, negative_conversation(WRONG), silent)) == ["invalid_input"]


def test_a_mutant_may_be_refused_with_its_message_wrong_state_codes() -> None:
    # A server that checks the state before the content refuses a mutant as out of state.
    t = transcript(sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), server_close(4401))
    assert evaluate(state_route(), negative_conversation(MUTANT), t) == []


def test_a_burst_the_client_aborted_after_is_not_asked_for_a_reaction() -> None:
    burst = Step("say", "text", "hi", wait=False, mutation="wrong_state", invalid=True)
    t = transcript(sent(0, mutation="wrong_state"), Frame(direction="abort", index=0))
    conversation = negative_conversation(burst, close_code=None)
    assert evaluate(state_route(), conversation, t) == []


def test_must_reject_does_not_judge_a_burst_the_client_aborted_after() -> None:
    # The user trial's false alarm: the mutant ended a burst and the client dropped the
    # connection 0.2-0.6 ms later, never collecting; silence there is not a refusal to reject.
    r = must_reject_route()
    last = Step("say", "bytes", b"\x00", wait=False, mutation=MUTANT.mutation, invalid=True)
    before = Step("say", "text", "hi", wait=False)
    frames = [sent(0), sent(1, b"\x00", kind="bytes", mutation=MUTANT.mutation)]
    aborted = transcript(*frames, Frame(direction="abort", index=1))
    assert evaluate(r, negative_conversation(before, last, close_code=None), aborted) == []
    # In the middle of an aborted burst too: nothing of the burst was collected.
    middle = Step("say", "bytes", b"\x00", wait=False, mutation=MUTANT.mutation, invalid=True)
    frames = [sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), sent(1)]
    t = transcript(*frames, Frame(direction="abort", index=1))
    assert evaluate(r, negative_conversation(middle, before, close_code=None), t) == []


def test_must_reject_still_judges_what_was_collected_before_an_abort() -> None:
    r = must_reject_route()
    frame = sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation)
    # Collected after the mutant itself (wait), then aborted: a real "not rejected".
    t = transcript(frame, Frame(direction="abort", index=0))
    (failure,) = evaluate(r, negative_conversation(MUTANT, close_code=None), t)
    assert failure.message == "invalid message 0 (bytes frame to a text message) was not rejected"
    # A burst collected after its last message, then more sent and aborted after a burst.
    burst = Step("say", "bytes", b"\x00", wait=False, mutation=MUTANT.mutation, invalid=True)
    tail = Step("say", "text", "hi", wait=False)
    frames = [frame, sent(1), sent(2)]
    t = transcript(*frames, Frame(direction="abort", index=2))
    conversation = negative_conversation(burst, VALID, tail, close_code=None)
    assert checks(evaluate(r, conversation, t)) == ["invalid_input"]
    # A burst ending the conversation, closed (not aborted): the player collected it.
    closed = transcript(frame, client_close(index=0))
    assert checks(evaluate(r, negative_conversation(burst), closed)) == ["invalid_input"]
