"""A saved failure replayed: a conversation judged by the checks, a probe as the probe it was."""

from __future__ import annotations

from tests.engine.runner_app import APP, compiled
from ws_routes.driver.transcript import Transcript
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.runner import running_app
from ws_routes.engine.saved import (
    AfterEarlier,
    Saved,
    conversation_of,
    earlier_of,
    judge_saved,
    play_saved,
    probe_of,
    unpacked,
)

ECHO = compiled("/ws/echo")


def replayed(saved: Saved) -> list[str]:
    transcript = Transcript(route="/ws/echo", path="/ws/echo")
    with running_app(APP, timeout=1) as (loop, transport):
        loop.run(play_saved(transport, ECHO, saved, transcript), timeout=5)
    return [f.check for f in judge_saved(ECHO, saved, transcript)]


def test_a_conversation_is_judged_by_the_checks() -> None:
    assert replayed(Conversation(path="/ws/echo", steps=(Step("say", "text", "hi"),))) == []
    # Starlette's receive_text() raises on a binary frame.
    crash = Conversation(path="/ws/echo", steps=(Step("say", "bytes", b"\x00"),))
    assert replayed(crash) == ["no_server_error"]


def test_a_probe_is_judged_as_the_probe() -> None:
    served = Conversation(path="/ws/echo", steps=(Step("say", "text", "hi"),))
    probe = Probe("auth", "auth: no credential", served, "refuse", "no credential")
    assert conversation_of(probe) is served
    # The same traffic passes as a conversation: serving an unauthenticated client is only a
    # failure where the probe had to be refused.
    assert replayed(served) == []
    assert replayed(probe) == ["auth_enforced"]


def test_a_case_after_earlier_connections_unpacks_to_its_parts() -> None:
    served = Conversation(path="/ws/echo", steps=(Step("say", "text", "hi"),))
    probe = Probe("auth", "auth: no credential", served, "refuse", "no credential")
    first = Conversation(path="/ws/echo")
    wrapped = AfterEarlier(probe, (first,))
    assert unpacked(wrapped) == (served, "auth: no credential", (first,))
    assert (probe_of(wrapped), earlier_of(wrapped)) == (probe, (first,))
    assert unpacked(served) == (served, None, ())
    # Judged as what it wraps: the probe's group decides.
    assert replayed(wrapped) == ["auth_enforced"]
