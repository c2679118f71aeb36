"""One Hypothesis search: shrinking, seeds, the per-route database key, distinct bugs."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.statistics import describe_statistics
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.engine.conftest import profile_database
from tests.engine.runner_app import compiled, run
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.database import RouteDatabase
from ws_routes.engine.findings import ConversationFailed
from ws_routes.engine.runner import RouteResult, RouteRunner
from ws_routes.engine.search import (
    DIVERGED,
    hypothesis_test,
    profile_deadline,
    run_search,
    search_budget,
)


def test_failure_is_shrunk_to_a_minimal_conversation() -> None:
    result = run(compiled("/ws/short"), max_examples=100)
    failed = result.failure
    assert isinstance(failed, ConversationFailed)
    assert type(failed).__name__ == "NoServerErrorFailed"
    assert failed.failure.check == "no_server_error"
    assert failed.conversation.steps == (Step("say", "text", "000"),)
    assert failed.transcript.render() == ['> text "000"    [say]', "x close 1011    [by server]"]
    assert str(failed) == "no_server_error: the app raised ValueError: too long: '000'"
    assert not failed.flaky
    assert result.stats.failures >= 1


@pytest.mark.usefixtures("no_example_db")
def test_same_seed_draws_the_same_conversations() -> None:
    def transcripts_of_a_run() -> list[list[str]]:
        transcripts: list[list[str]] = []
        run(
            compiled("/ws/echo"),
            seed=99,
            max_examples=15,
            on_conversation=lambda t, _f: transcripts.append(t.render()),
        )
        return transcripts

    first, second = transcripts_of_a_run(), transcripts_of_a_run()
    assert len(first) == 15
    assert first == second


def test_seeded_failure_is_saved_under_the_route_key(example_db: InMemoryExampleDatabase) -> None:
    route = compiled("/ws/short")
    first = run(route, max_examples=100)
    assert first.failure is not None
    prefix = RouteDatabase(example_db, "/ws/short")._prefix
    assert any(key.startswith(prefix) for key in example_db.data)

    # The next run replays the saved failure first: one example is enough to fail again.
    replayed = run(route, max_examples=1, seed=2)
    assert replayed.failure is not None
    assert replayed.failure.conversation.steps == (Step("say", "text", "000"),)


def test_distinct_bugs_of_a_route_are_each_shrunk_and_reported() -> None:
    result = run(compiled("/ws/two"), max_examples=200)
    assert result.failure is not None
    found = [result.failure, *result.failure.also]
    summaries = sorted(
        f.transcript.app_error.summary.split(":")[0] for f in found if f.transcript.app_error
    )
    assert summaries == ["IndexError", "KeyError"]
    assert result.stats.failures == 2
    for failure in found:
        assert len(failure.conversation.steps) == 1  # each shrunk on its own


def test_a_later_search_gets_what_the_first_left_and_at_least_a_quarter() -> None:
    assert search_budget(0, 100, 30) == 100  # the first search: the whole budget
    assert search_budget(1, 100, 30) == 70  # what was left after the first failure
    assert search_budget(2, 100, 90) == 25  # little was left: a quarter again
    assert search_budget(1, 100, None) == 100  # only the probes found bugs
    assert search_budget(1, 2, 2) == 1  # never nothing


@pytest.mark.usefixtures("no_example_db")
def test_a_bug_carries_its_reproduction_blob_and_each_search_its_statistics() -> None:
    result = run(compiled("/ws/short"), max_examples=100)
    assert result.failure is not None
    assert result.failure.blob is not None
    assert re.fullmatch(r"@reproduce_failure\('[\d.]+', b'[A-Za-z0-9+/=]+'\)", result.failure.blob)
    # One search found the bug, the next one ignored it: Hypothesis' statistics of both.
    assert len(result.statistics) == 2
    assert "generate-phase" in result.statistics[0]
    assert describe_statistics(result.statistics[0])  # type: ignore[arg-type]


def test_a_write_only_database_leaves_a_seeded_search_as_without_one(
    example_db: InMemoryExampleDatabase,
) -> None:
    route = compiled("/ws/short")
    assert run(route, max_examples=100).failure is not None  # saved in the database

    def sent(**kw: Any) -> tuple[list[list[str]], RouteResult]:
        seen: list[list[str]] = []
        result = run(route, seed=5, on_conversation=lambda t, _f: seen.append(t.render()), **kw)
        return seen, result

    write_only, result = sent(reuse_database=False)
    assert result.failure is not None
    assert result.failure.replayed is None  # the seed drew it
    with profile_database(None):
        without, _ = sent()
    assert write_only == without
    replaying, result = sent()
    assert replaying != without
    assert result.failure is not None
    assert result.failure.replayed == "the example database"


def test_the_profile_deadline_applies_unless_it_is_hypothesis_default() -> None:
    assert profile_deadline(settings(deadline=None)) is None
    assert profile_deadline(settings(deadline=200)) is None
    assert profile_deadline(settings(deadline=50)) == timedelta(milliseconds=50)


async def slow_echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            await asyncio.sleep(0.03)
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


@pytest.mark.usefixtures("no_example_db")
def test_a_conversation_over_the_profiles_deadline_is_reported_as_hypothesis_reports_it() -> None:
    app = Starlette(routes=[WebSocketRoute("/ws/slow", slow_echo)])
    previous = settings.default
    settings.register_profile("ws-routes-test-deadline", parent=previous, deadline=10)
    settings.load_profile("ws-routes-test-deadline")
    try:
        result = RouteRunner(app, compiled("/ws/slow"), seed=1, max_examples=5).run()
    finally:
        settings.register_profile("ws-routes-test-restored", parent=previous)
        settings.load_profile("ws-routes-test-restored")
    assert result.error is not None
    assert result.error.startswith("DeadlineExceeded")


def test_a_search_whose_replays_draw_differently_keeps_the_bugs_it_met_unshrunk() -> None:
    # A drawn conversation's next step depends on the replies so far: when they vary in timing,
    # a replay draws differently and Hypothesis stops the whole run (FlakyStrategyDefinition).
    # The bug met before that must be reported, as met, and the search must say why it stopped.
    calls = itertools.count()

    @st.composite
    def varying(draw: st.DrawFn) -> int:
        # The third run (a replay, while shrinking the first failure) draws another kind of
        # choice where the others draw an integer.
        if next(calls) == 2:
            return int(draw(st.booleans()))
        return draw(st.integers(0, 1000))

    def run_one(value: Any) -> None:
        if value > 0:
            raise ConversationFailed(
                Failure(
                    check="no_server_error",
                    error_type="server_error",
                    message=f"boom {value}",
                    expected="no crash",
                    actual="crash",
                ),
                Transcript(route="/ws", path="/ws"),
                Conversation(path="/ws"),
            )

    test = hypothesis_test(
        run_one,
        varying(),
        parent=settings(database=None),
        seed=1,
        max_examples=200,
        database=None,
        seen=(seen := {}),
    )
    found = run_search(test, seen=seen)
    assert found.diverged == DIVERGED
    assert [bug.failure.message for bug in found.bugs] == [
        next(iter(seen.values())).failure.message
    ]
    assert found.bugs[0].unshrunk
    calls = itertools.count()  # the closure's counter, from the start again
    with pytest.raises(FlakyStrategyDefinition):  # without ``seen``: Hypothesis' own error
        run_search(test)
