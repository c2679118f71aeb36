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
from ws_routes.engine.checks.common import IDLE_AFTER
from ws_routes.engine.conversation import Step
from ws_routes.spec.model import InvalidSpec, ReplySpec


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
