"""The route runner: running, stats, hangs, probes and counters, and internal errors."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.engine.runner_app import APP, COLD, QUICK, compiled, run
from ws_routes.compile.credentials import credential_for
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import Accepted
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.findings import bug_of
from ws_routes.engine.leaks import FreshOutcome
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.runner import RouteRunner, running_app
from ws_routes.engine.saved import AfterEarlier
from ws_routes.report.replay import play_in_app
from ws_routes.spec.model import AuthSpec, MessageSpec, Schema

# -- running ---------------------------------------------------------------------------------------


def test_passing_route_counts_every_conversation() -> None:
    seen: list[tuple[Transcript, list[Failure]]] = []
    result = run(compiled("/ws/echo"), on_conversation=lambda t, f: seen.append((t, f)))
    assert (result.failure, result.skipped, result.error) == (None, None, None)
    stats = result.stats
    assert stats.route == "/ws/echo"
    assert stats.sequences == stats.connections == len(seen) == 40
    assert stats.messages == sum(t.messages_sent for t, _ in seen) > 0
    assert (stats.refused, stats.failures) == (0, 0)
    assert all(failures == [] for _, failures in seen)


def test_hang_ends_the_route_at_once() -> None:
    result = run(compiled("/ws/hang"))
    assert result.failure is not None
    assert result.failure.failure.check == "no_hang"
    # The baseline probe hangs: the route ends there, unshrunk, without paying for the hang
    # again in a conversation.
    assert result.failure.probe == "subprotocols: none offered"
    assert (result.stats.handshake_cells, result.stats.sequences) == (1, 0)


async def sleeps_on_the_third(ws: WebSocket) -> None:
    """Blocks the event loop (a synchronous sleep) on the third message."""
    await ws.accept()
    count = 0
    try:
        while True:
            await ws.send_text(await ws.receive_text())
            count += 1
            if count == 3:
                time.sleep(2)
    except WebSocketDisconnect:
        pass


def test_an_app_blocking_the_loop_ends_the_route_with_what_it_was_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The conversations run on the loop thread; a blocked loop takes that thread with it, and
    # the caller reports from what the runner last started there.
    monkeypatch.setattr(RouteRunner, "_hard_deadline", lambda self, conversation: 0.3)
    app = Starlette(routes=[WebSocketRoute("/ws/sleepy", sleeps_on_the_third)])
    started = time.perf_counter()
    result = RouteRunner(app, compiled("/ws/sleepy"), seed=1, max_examples=40, probes=False).run()
    assert time.perf_counter() - started < 1.9  # did not wait for the sleep to end
    assert result.failure is not None
    assert result.failure.failure.check == "no_hang"
    assert "blocked the event loop" in result.failure.failure.message
    sent = [f.data for f in result.failure.transcript.sent]
    assert len(sent) >= 3  # the app blocked on the third message
    assert sent == [s.payload for s in result.failure.conversation.steps[: len(sent)]]


def test_declared_route_refusing_with_an_undeclared_code_fails_handshake() -> None:
    result = run(compiled("/ws/refuse"), max_examples=10)
    assert result.failure is not None
    assert result.failure.failure.check == "handshake"


# -- probes, warnings and counters -----------------------------------------------------------------


def test_a_failing_probe_is_reported_unshrunk_and_the_conversations_go_on() -> None:
    seen: list[str] = []
    route = compiled("/ws/greedy", subprotocols=("graphql-ws",))
    result = run(route, on_probe=lambda probe, _t, _f: seen.append(probe.name))
    failed = result.failure
    assert failed is not None
    assert type(failed).__name__ == "SubprotocolNegotiationFailed"
    assert failed.probe == "subprotocols: none offered"
    assert failed.conversation.subprotocols == ()
    assert failed.transcript.handshake == Accepted(subprotocol="graphql-ws")
    assert seen[:2] == ["subprotocols: ['graphql-ws']", "subprotocols: none offered"]
    # A probe's finding no longer ends the route: the conversations look for other bugs.
    assert (result.stats.sequences, result.stats.handshake_cells, result.stats.failures) == (
        40,
        3,
        1,
    )
    # Conversations offer the declared subprotocol, so only the probe finds this.
    assert run(route, probes=False).failure is None


def test_a_failing_baseline_leaves_the_report_to_the_conversations() -> None:
    # The baseline connects as conversations do: what breaks it is no probe's doing, so the
    # conversations find it and shrink it, and no probe is named.
    result = run(compiled("/ws/items/{id:int}"))
    assert result.failure is not None
    assert result.failure.probe is None
    assert "ZeroDivisionError" in result.failure.failure.message
    assert result.failure.conversation.path == "/ws/items/0"
    # The path probes reach the same bug; the conversations' shrunk copy is the one reported.
    assert result.stats.path_probes > 0
    assert result.stats.failures == 1
    assert result.stats.sequences > 0


def test_a_baseline_failure_the_conversations_miss_is_still_reported() -> None:
    COLD["started"] = False
    result = run(compiled("/ws/cold"), max_examples=5)
    assert result.failure is not None
    assert result.failure.probe == "subprotocols: none offered"
    assert result.failure.failure.message == "the app raised RuntimeError: cache not warmed up"
    assert result.stats.sequences == 5


def test_probes_are_counted_per_kind_and_pass_on_a_careful_route() -> None:
    auth = AuthSpec(query_param="token", token="t0ken", reject_close_codes=(4001,))
    route = compiled(
        "/ws/guarded/{id:int}", auth=auth, settings=QUICK.merged(origin="https://evil.example")
    )
    probes: list[tuple[str, list[Failure]]] = []
    result = run(
        route,
        credential=credential_for(auth, None),
        max_examples=5,
        on_probe=lambda probe, _t, failures: probes.append((probe.name, failures)),
    )
    assert (result.failure, result.skipped, result.error) == (None, None, None)
    assert [name for name, _ in probes] == [
        "subprotocols: none offered",
        "subprotocols: unknown 'ws-routes-unknown'",
        "path: id=0",
        "path: id=123456789012345678901234567890",
        "auth: no credential",
        "auth: empty credential",
        "auth: malformed credential",
        "origin: https://evil.example",
    ]
    assert all(failures == [] for _, failures in probes)
    stats = result.stats
    assert (stats.handshake_cells, stats.path_probes, stats.auth_probes, stats.origin_probes) == (
        2,
        2,
        3,
        1,
    )
    assert stats.sequences == stats.connections == 5  # probes are not conversations
    assert result.warnings == []  # every refusal reaches a real client: 403, or 4001 after accept


def test_a_close_before_accept_warns_once_per_route() -> None:
    route = compiled("/ws/refuse", auth=AuthSpec(query_param="token", reject_close_codes=(4001,)))
    for probes in (True, False):  # seen by probes, and by conversations alone
        result = run(route, max_examples=10, probes=probes)
        assert result.skipped is not None
        assert len(result.warnings) == 1
        assert result.warnings[0].startswith(
            "/ws/refuse: the app closes the connection with code 4001 before accepting it"
        )


def test_negative_frames_and_aborted_connections_are_counted() -> None:
    runner = RouteRunner(APP, compiled("/ws/echo"), seed=1)
    with running_app(APP, timeout=1.0) as (loop, transport):
        mutant = Step("say", "json", {"not": "text"}, mutation="kind: json instead of text")
        runner._run_one(
            loop,
            transport,
            Conversation(path="/ws/echo", steps=(Step("say", "text", "a"), mutant, mutant)),
        )
        runner._run_one(
            loop,
            transport,
            Conversation(path="/ws/echo", steps=(Step("say", "text", "a"),), close_code=None),
        )
    stats = runner.stats
    assert (stats.sequences, stats.negative, stats.aborts) == (2, 2, 1)


def test_a_handler_blocking_each_connection_under_the_hard_deadline_is_a_no_hang() -> None:
    async def sleeps(ws: WebSocket) -> None:
        await ws.accept()
        time.sleep(3)  # longer than message_timeout, far under the hard deadline
        await ws.close()

    app = Starlette(routes=[WebSocketRoute("/ws/slow", sleeps)])
    result = RouteRunner(app, compiled("/ws/slow"), seed=1, max_examples=5).run()
    assert result.failure is not None
    assert result.failure.failure.check == "no_hang"
    assert "blocked the event loop for " in result.failure.failure.message
    assert "(message_timeout)" in result.failure.failure.message
    assert result.failure.transcript.elapsed_ms > 0  # measured, though the driver never returned
    for thread in threading.enumerate():  # let the abandoned loop unwind now, not in a later test
        if thread.name == "ws-routes-loop":
            thread.join(10)


# -- internal errors -------------------------------------------------------------------------------


def test_an_internal_error_is_reported_with_our_traceback_and_keeps_earlier_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ws_routes.engine.runner as runner_module

    real = runner_module.evaluate

    def buggy(route: CompiledRoute, conversation: Conversation, t: Transcript) -> list[Failure]:
        if any(len(step.payload) >= 2 for step in conversation.steps):
            raise ZeroDivisionError("a bug in a check")
        return real(route, conversation, t)

    # Probes judge with checks.evaluate itself: the probe's finding comes first, then the
    # conversations meet the bug.
    monkeypatch.setattr(runner_module, "evaluate", buggy)
    result = run(compiled("/ws/greedy", subprotocols=("graphql-ws",)))
    assert result.failure is not None
    assert type(result.failure).__name__ == "SubprotocolNegotiationFailed"
    internal = result.internal
    assert internal is not None
    assert result.failure.internal is internal
    assert "ZeroDivisionError: a bug in a check" in internal.traceback
    assert "in buggy" in internal.traceback
    assert str(internal) == "internal error in ws_routes: ZeroDivisionError: a bug in a check"
    # Hypothesis shrank the conversation that sets the bug off.
    assert internal.conversation is not None
    assert [s.payload for s in internal.conversation.steps] == ["00"]
    assert internal.transcript is not None
    assert internal.transcript.messages_sent == 1


def test_an_internal_error_without_findings_ends_only_its_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ws_routes.engine.runner as runner_module

    def broken(*_args: Any) -> list[Failure]:
        raise RuntimeError("checks are broken")

    monkeypatch.setattr(runner_module, "evaluate", broken)
    result = run(compiled("/ws/echo"), probes=False)
    assert result.failure is None
    assert result.internal is not None
    assert "RuntimeError: checks are broken" in result.internal.traceback
    monkeypatch.undo()
    assert run(compiled("/ws/echo"), probes=False).internal is None  # the next route is fine


# -- conversations that follow a protocol --------------------------------------------------------


def test_a_protocol_route_reports_the_conversation_it_drew_while_running() -> None:
    hello = MessageSpec(name="hello", kind="text", schema=Schema(value={"const": "hi"}), goto="in")
    say = MessageSpec(name="say", kind="text", max_size=12, when=("in",))
    route = compiled("/ws/short", messages=(hello, say), states=("new", "in"), opening=("hello",))
    result = run(route, max_examples=200)  # the oldest Hypothesis needs more than 40 here
    assert result.failure is not None
    failed = result.failure
    assert failed.conversation.source is None
    # Shrunk as fixed conversations are: the opening, then the one message that crashes, three
    # characters long ("000" with current Hypothesis; the oldest supported stops at other ones).
    opening, crash = failed.conversation.steps
    assert opening == Step("hello", "text", "hi")
    assert (crash.message, crash.kind, len(crash.payload)) == ("say", "text", 3)
    assert [f.data for f in failed.transcript.sent] == ["hi", crash.payload]


# -- the time limit and progress ---------------------------------------------------------------


def test_a_time_limit_stops_the_search_long_before_its_examples() -> None:
    started = time.perf_counter()
    result = run(compiled("/ws/echo"), max_examples=10**6, max_time=2.0, probes=False)
    assert time.perf_counter() - started < 30  # far below a million conversations' time
    assert (result.failure, result.skipped, result.error) == (None, None, None)
    assert result.stats.time_limited
    assert 0 < result.stats.sequences < 10**6


def test_a_time_limit_still_shrinks_what_was_found() -> None:
    # /ws/short crashes on three characters or more: found within the first conversations (a
    # limit of seconds, not a fraction: on a loaded machine the first few take that long), shrunk
    # even when that runs past the limit, and the next search stops at the limit.
    result = run(compiled("/ws/short"), max_examples=10**6, max_time=3.0, probes=False)
    assert result.failure is not None
    assert result.failure.failure.check == "no_server_error"
    steps = result.failure.conversation.steps
    assert [len(step.payload) for step in steps] == [3]
    assert result.stats.time_limited  # no further search started after it


def test_a_route_within_its_time_limit_is_not_marked() -> None:
    result = run(compiled("/ws/echo"), max_examples=5, max_time=60.0, probes=False)
    assert not result.stats.time_limited


def test_progress_is_reported_after_every_conversation_and_probe() -> None:
    from ws_routes.engine.stats import Progress

    seen: list[Progress] = []
    result = run(compiled("/ws/echo"), max_examples=20, on_progress=seen.append)
    probes = [p for p in seen if p.conversations == 0]
    assert probes
    assert [p.probes for p in probes] == list(range(1, len(probes) + 1))
    assert len(seen) - len(probes) == result.stats.sequences == 20
    assert seen[-1].conversations == 20
    assert {p.budget for p in seen} == {20}
    assert all(p.findings == 0 and not p.shrinking for p in seen)
    assert all(later.elapsed_s >= earlier.elapsed_s for earlier, later in itertools.pairwise(seen))


def test_progress_counts_the_bugs_found_and_the_shrinking() -> None:
    from ws_routes.engine.stats import Progress

    seen: list[Progress] = []
    result = run(compiled("/ws/two"), on_progress=seen.append, probes=False)
    assert result.failure is not None
    assert seen[-1].findings == 1 + len(result.failure.also)
    assert any(p.shrinking for p in seen)
# -- saved failures (crash files) ------------------------------------------------------------------


def test_saved_failures_replay_first_apart_from_the_counts_and_the_searches() -> None:
    route = compiled("/ws/short")
    crash = Conversation(path="/ws/short", steps=(Step("say", "text", "000"),))
    fixed = Conversation(path="/ws/short", steps=(Step("say", "text", "ok"),))

    def sent(**kw: Any) -> tuple[list[list[str]], Any]:
        seen: list[list[str]] = []
        # Write-only database, as a seeded pytest run has: the seed alone draws.
        result = run(
            route,
            on_conversation=lambda t, _f: seen.append(t.render()),
            reuse_database=False,
            **kw,
        )
        return seen, result

    alone, before = sent()
    replays: list[tuple[int, list[str]]] = []
    with_saved, result = sent(
        replays=[crash, fixed], on_replay=lambda i, t, f: replays.append((i, [x.check for x in f]))
    )
    assert replays == [(0, ["no_server_error"]), (1, [])]
    assert result.replayed[1] is None
    assert result.replayed[0] is not None
    assert result.replayed[0].replayed == "a crash file"
    # The searches ran as without the replays (they do not skip what a replay found), so they
    # found the bug themselves, and their copy is the one reported.
    assert with_saved == alone
    assert result.stats.sequences == before.stats.sequences
    assert (result.stats.replayed, before.stats.replayed) == (2, 0)
    assert result.failure is not None
    assert result.failure.replayed is None
    assert type(result.failure) is type(result.replayed[0])


def test_a_saved_failure_the_searches_do_not_find_is_reported_from_its_replay() -> None:
    # Valid-only conversations never send bytes; Starlette's receive_text() raises on them.
    binary = Conversation(path="/ws/echo", steps=(Step("say", "bytes", b"\x01"),))
    result = run(compiled("/ws/echo"), max_examples=5, replays=[binary])
    assert result.failure is not None
    assert result.failure.replayed == "a crash file"
    assert result.failure.conversation == binary
    assert result.stats.failures == 1


def _registry_app() -> Starlette:
    """Crashes on a message while a socket whose client left is still registered."""
    sockets: list[WebSocket] = []

    async def room(ws: WebSocket) -> None:
        await ws.accept()
        sockets.append(ws)
        try:
            while True:
                text = await ws.receive_text()
                if any(s.client_state.name != "CONNECTED" for s in sockets if s is not ws):
                    raise RuntimeError("a socket that left")
                await ws.send_text(text)
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/ws/room", room)])


class _NewApp:
    """A fresh app: a new instance of the app (its state is its own) for every replay."""

    def __init__(self, route: CompiledRoute, new: Any = _registry_app) -> None:
        self.route, self.new = route, new
        self.replays = 0
        self.closed = False

    def replay(
        self,
        earlier: Sequence[Conversation],
        final: Conversation | Probe,
        *,
        timeout: float,
        render: bool = False,
    ) -> FreshOutcome:
        self.replays += 1
        saved = AfterEarlier(final, tuple(earlier)) if earlier else final
        transcript, failures, _ = play_in_app(self.new(), self.route, saved)
        if not failures:
            return FreshOutcome()
        return FreshOutcome(bug=bug_of(failures[0], transcript), check=failures[0].check)

    def close(self) -> None:
        self.closed = True


def test_a_finding_that_needs_earlier_connections_gets_the_fewest_of_them() -> None:
    route = compiled("/ws/room")
    fresh = _NewApp(route)
    # Without probes, the conversations find it: among many more earlier connections.
    runner = RouteRunner(
        _registry_app(), route, seed=1, max_examples=20, fresh=fresh, probes=False
    )
    failure = runner.run().failure
    assert failure is not None
    assert failure.failure.check == "no_server_error"
    assert failure.leak is not None
    assert failure.leak.outcome == "found"
    assert len(failure.earlier) == 1  # one socket left behind is all it takes
    assert failure.leak.searched > 1
    assert failure.leak.minimal
    assert fresh.closed
    # The case with its earlier connection fails in a new app; alone, it passes.
    assert fresh.replay(failure.earlier, failure.conversation, timeout=5).bug is not None
    assert fresh.replay((), failure.conversation, timeout=5).bug is None


def test_a_finding_that_fails_alone_in_a_new_app_is_left_as_it_was() -> None:
    route = compiled("/ws/short")
    fresh = _NewApp(route, new=lambda: APP)  # its bug needs no state: any app has it
    failure = run(route, fresh=fresh).failure
    assert failure is not None
    assert (failure.leak, failure.earlier) == (None, ())
    assert fresh.replays == 1


def test_a_saved_case_runs_its_earlier_connections_first() -> None:
    route = compiled("/ws/room")
    final = Conversation(path="/ws/room", steps=(Step("say", "text", "hi"),))
    runner = RouteRunner(
        _registry_app(),
        route,
        seed=1,
        max_examples=1,
        probes=False,
        replays=[AfterEarlier(final, (Conversation(path="/ws/room"),)), final],
    )
    result = runner.run()
    with_earlier, alone = result.replayed
    assert with_earlier is not None  # it fails after the connection it needs
    assert with_earlier.earlier == (Conversation(path="/ws/room"),)
    assert with_earlier.replayed == "a crash file"
    # The same case alone, next in the same app: the stale socket is still registered there.
    assert alone is not None
    fresh = RouteRunner(
        _registry_app(), route, seed=1, max_examples=1, probes=False, replays=[final]
    ).run()
    assert fresh.replayed == [None]  # first in a new app, alone, it passes
