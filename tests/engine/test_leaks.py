"""State leaks: the connection history, delta debugging over earlier connections, and the
verification of each finding in a fresh app (here a scripted one)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine import leaks
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.findings import ConversationFailed, bug_of, failure_type
from ws_routes.engine.leaks import (
    FreshOutcome,
    History,
    budget_for,
    ddmin,
    verify_fresh,
)
from ws_routes.engine.probe_base import Probe
from ws_routes.spec.model import Settings


def test_ddmin_finds_a_one_minimal_subsequence_in_order() -> None:
    asked: list[list[int]] = []

    def fails(items: Sequence[int]) -> bool:
        asked.append(list(items))
        return 3 in items and 7 in items  # both needed, in any position

    assert ddmin(range(10), fails) == [3, 7]
    assert all(a == sorted(a) for a in asked)  # order is kept in every candidate
    assert ddmin(range(10), lambda items: 5 in items) == [5]
    assert ddmin([4], lambda items: True) == [4]  # one item: nothing to take away


def test_ddmin_stops_when_told_it_cannot_tell_any_more() -> None:
    calls = 0

    def fails(items: Sequence[int]) -> bool | None:
        nonlocal calls
        calls += 1
        return None if calls > 2 else 9 in items

    found = ddmin(range(16), fails)
    assert 9 in found
    assert len(found) < 16  # the reductions made before it ran out stand
    assert calls == 3


def conversation(n: int) -> Conversation:
    return Conversation(path="/ws", steps=(Step("say", "text", str(n)),))


def test_history_keeps_the_last_connections_before_a_transcript() -> None:
    history = History.starting("/ws")
    transcripts = [Transcript(route="/ws", path="/ws") for _ in range(5)]
    for n, t in enumerate(transcripts):
        history.start(t, conversation(n), None)
    before, forgotten = history.before(transcripts[3])
    assert [c.steps[0].payload for c in before] == ["0", "1", "2"]
    assert forgotten == 0
    assert history.current[0] is transcripts[4]

    capped = History(history.current, cap=2)
    for n, t in enumerate(transcripts):
        capped.start(t, conversation(n), None)
    before, forgotten = capped.before(transcripts[4])
    assert [c.steps[0].payload for c in before] == ["3"]
    assert forgotten == 3  # sent, but no longer remembered


class Scripted:
    """A fresh app whose case fails when the earlier connections include all of ``needs``
    (their payloads); ``cost`` seconds per replay."""

    def __init__(self, bug: str, needs: set[str], cost: float = 0.0, error: str = "") -> None:
        self.bug, self.needs, self.cost, self.error = bug, needs, cost, error
        self.replays: list[tuple[tuple[str, ...], bool]] = []
        self.closed = False

    def replay(
        self,
        earlier: Sequence[Conversation],
        final: Conversation | Probe,
        *,
        timeout: float,
        render: bool = False,
    ) -> FreshOutcome:
        sent = tuple(str(s.payload) for c in earlier for s in c.steps)
        self.replays.append((sent, render))
        time.sleep(self.cost)
        if self.error:
            return FreshOutcome(error=self.error)
        lines = tuple((f"! connect {c.path}",) for c in earlier) if render else ()
        if self.needs <= set(sent):
            return FreshOutcome(bug=self.bug, check="no_server_error", earlier=lines)
        return FreshOutcome(earlier=lines)

    def close(self) -> None:
        self.closed = True


def finding(history: History, count: int) -> ConversationFailed:
    """A failure of the ``count``-th connection, after ``count`` earlier ones."""
    for n in range(count):
        history.start(Transcript(route="/ws", path="/ws"), conversation(n), None)
    transcript = Transcript(route="/ws", path="/ws")
    final = Conversation(path="/ws", steps=(Step("say", "text", "boom"),))
    history.start(transcript, final, None)
    failure = Failure(
        check="no_server_error", error_type="server_error", message="m", expected="", actual=""
    )
    return failure_type("no_server_error")(failure, transcript, final)


def test_an_ordinary_bug_is_left_as_it_was_after_one_fresh_replay() -> None:
    history = History.starting("/ws")
    failed = finding(history, 20)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs=set())
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert fresh.replays == [((), False)]
    assert (failed.leak, failed.earlier) == (None, ())
    assert fresh.closed


def test_a_leak_gets_the_fewest_earlier_connections_that_make_it_fail() -> None:
    history = History.starting("/ws")
    failed = finding(history, 40)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs={"12", "30"})
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert failed.leak is not None
    assert failed.leak.outcome == "found"
    # The two it needs, in order; their own steps are needed too (their payloads are).
    assert [c.steps[0].payload for c in failed.earlier] == ["12", "30"]
    assert failed.leak.earlier == failed.earlier
    assert failed.leak.searched == 40
    assert failed.leak.transcripts == (("! connect /ws",), ("! connect /ws",))
    assert fresh.replays[-1][1] is True  # the last replay rendered what they saw
    assert failed.leak.replays == len(fresh.replays)
    assert failed.leak.minimal


def test_earlier_connections_lose_the_steps_they_do_not_need() -> None:
    history = History.starting("/ws")
    failed = finding(history, 6)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs=set())

    # It needs one earlier connection, whatever that one sends.
    def replay(
        earlier: Sequence[Conversation], final: Conversation | Probe, **kw: object
    ) -> FreshOutcome:
        return FreshOutcome(bug=fresh.bug if earlier else None)

    fresh.replay = replay  # type: ignore[method-assign]
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert failed.leak is not None
    assert [c.steps for c in failed.earlier] == [()]  # one connection, nothing sent on it


def test_no_prefix_that_reproduces_is_said_plainly() -> None:
    history = History.starting("/ws")
    failed = finding(history, 5)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs={"not sent"})
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert failed.leak is not None
    assert (failed.leak.outcome, failed.earlier) == ("none", ())
    assert len(fresh.replays) == 2  # alone, then after everything: neither fails


def test_the_budget_bounds_the_search_and_is_said_to_have_run_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert budget_for(Settings(connection_timeout=0.1, message_timeout=0.1)) == 10.0  # floor
    assert budget_for(Settings()) == 60.0  # the ceiling
    monkeypatch.setattr(leaks, "budget_for", lambda settings: 0.5)
    history = History.starting("/ws")
    failed = finding(history, 64)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs={"5", "50"}, cost=0.02)
    started = time.perf_counter()
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert time.perf_counter() - started < 0.5 + 0.3
    assert failed.leak is not None
    # Whatever it reduced before the budget ran out still fails, and says it is not minimal.
    assert (failed.leak.outcome, failed.leak.minimal) == ("found", False)
    assert {"5", "50"} <= {str(c.steps[0].payload) for c in failed.earlier}
    assert len(failed.earlier) < 64

    slow = History.starting("/ws")
    failed = finding(slow, 8)
    fresh = Scripted(bug_of(failed.failure, failed.transcript), needs={"1"}, cost=0.6)
    verify_fresh(fresh, [failed], slow, Settings(), {})  # out of time after the first replay
    assert failed.leak is not None
    assert (failed.leak.outcome, failed.earlier) == ("budget", ())


def test_a_fresh_app_that_cannot_run_is_said_so() -> None:
    history = History.starting("/ws")
    failed = finding(history, 3)
    fresh = Scripted("", needs=set(), error="the fresh app could not be imported: boom")
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert failed.leak is not None
    assert (failed.leak.outcome, failed.leak.detail) == (
        "error",
        "the fresh app could not be imported: boom",
    )


def test_hangs_and_cases_with_known_earlier_connections_are_not_replayed() -> None:
    history = History.starting("/ws")
    hang = finding(history, 1)
    hang.failure = Failure(
        check="no_hang", error_type="timeout", message="m", expected="", actual=""
    )
    known = finding(history, 1)
    known.earlier = (conversation(0),)
    fresh = Scripted("", needs=set())
    verify_fresh(fresh, [hang, known], history, Settings(), {})
    assert fresh.replays == []


def test_a_fresh_app_that_raises_leaves_the_finding_with_the_reason() -> None:
    history = History.starting("/ws")
    failed = finding(history, 2)
    fresh = Scripted("", needs=set())

    def broken(*args: object, **kwargs: object) -> FreshOutcome:
        raise TypeError("cannot pickle '_thread.lock' object")

    fresh.replay = broken  # type: ignore[method-assign]
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert failed.leak is not None
    assert failed.leak.outcome == "error"
    assert "TypeError: cannot pickle" in failed.leak.detail
    assert fresh.closed


def test_a_case_failing_fresh_as_another_bug_is_asked_about_once_more() -> None:
    history = History.starting("/ws")
    failed = finding(history, 3)
    bug = bug_of(failed.failure, failed.transcript)
    answers = [FreshOutcome(bug="another bug"), FreshOutcome(bug=bug)]
    fresh = Scripted(bug, needs=set())
    fresh.replay = lambda *a, **kw: answers.pop(0)  # type: ignore[method-assign]
    verify_fresh(fresh, [failed], history, Settings(), {})
    assert (failed.leak, answers) == (None, [])  # the second answer: it reproduces alone
