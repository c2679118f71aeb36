"""ExampleRunner: a route's conversations one at a time, as the item's searches run them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis.database import InMemoryExampleDatabase

from tests.engine.runner_app import APP, compiled
from ws_routes.driver.transport import Accepted
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.example import ExampleRunner
from ws_routes.engine.findings import ConversationFailed, bug_of, failure_type


def say(*texts: str) -> Conversation:
    return Conversation(path="/ws/short", steps=tuple(Step("say", "text", t) for t in texts))


def test_a_passing_conversation_gives_its_transcript_and_keeps_the_app_running() -> None:
    runner = ExampleRunner(APP, compiled("/ws/short"))
    try:
        first = runner.check(say("a", "b"))
        loop = runner._app[0] if runner._app else None
        second = runner.check(say("c"))
        assert isinstance(first.handshake, Accepted)
        assert [f.data for f in first.received] == ["a", "b"]
        assert [f.data for f in second.received] == ["c"]
        assert runner._app is not None
        assert runner._app[0] is loop  # one app for every example
        assert runner.stats.sequences == 2
    finally:
        runner.close()
    assert runner._app is None


def test_a_finding_is_raised_as_the_items_exception_type_for_that_bug() -> None:
    runner = ExampleRunner(APP, compiled("/ws/short"))
    try:
        with pytest.raises(ConversationFailed) as caught:
            runner.check(say("ok", "too long"))
    finally:
        runner.close()
    failed = caught.value
    assert failed.failure.check == "no_server_error"
    assert "ValueError" in failed.failure.message
    assert type(failed) is failure_type(
        failed.failure.check, bug_of(failed.failure, failed.transcript)
    )
    assert [step.payload for step in failed.conversation.steps] == ["ok", "too long"]


def test_a_closed_runner_starts_the_app_again() -> None:
    runner = ExampleRunner(APP, compiled("/ws/short"))
    runner.check(say("a"))
    runner.close()
    try:
        assert [f.data for f in runner.check(say("b")).received] == ["b"]
    finally:
        runner.close()


def test_its_hypothesis_test_shrinks_to_the_minimal_failure_and_keys_the_route() -> None:
    runner = ExampleRunner(APP, compiled("/ws/short"))
    database = InMemoryExampleDatabase()
    test = runner.hypothesis_test(runner.check, parent=settings(database=database, max_examples=60))
    try:
        with pytest.raises(ConversationFailed) as caught:
            test()
    finally:
        runner.close()
    steps = caught.value.conversation.steps
    assert [len(s.payload) for s in steps] == [3]  # shrunk: one message, the shortest that fails
    assert database.data  # saved for the next run, under the route's key
    inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
    assert inner._hypothesis_internal_add_digest == b"ws_routes:/ws/short"
    chosen = test._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert chosen.database is database  # the profile's own: HypoFuzz fuzzes only those
    assert HealthCheck.nested_given not in chosen.suppress_health_check


def test_its_strategy_draws_the_items_conversations() -> None:
    runner = ExampleRunner(APP, compiled("/ws/short"))
    drawn = find(runner.strategy(), lambda c: len(c.steps) >= 2)
    assert drawn.path == "/ws/short"
    assert all(step.message == "say" for step in drawn.steps)
