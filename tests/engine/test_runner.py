"""The route runner: per-route database keys, shrinking, stats, seeds, hangs and refusals."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import ExampleDatabase, InMemoryExampleDatabase
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile.credentials import credential_for
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import Accepted, AppError
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.runner import (
    ConversationFailed,
    RouteDatabase,
    RouteResult,
    RouteRunner,
    _bug,
    running_app,
)
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    RouteSpec,
    Settings,
    default_route,
)

QUICK = Settings(connection_timeout=0.5, message_timeout=0.2, max_messages=4)


async def short_only(ws: WebSocket) -> None:
    """Echoes text, but crashes on any message of three characters or more."""
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            if len(text) >= 3:
                raise ValueError(f"too long: {text!r}")
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def refuse(ws: WebSocket) -> None:
    await ws.close(code=4001)


async def never_accepts(ws: WebSocket) -> None:
    await asyncio.Event().wait()


async def always_graphql_ws(ws: WebSocket) -> None:
    """Selects its subprotocol whatever the client offered."""
    await ws.accept(subprotocol="graphql-ws")
    await echo_accepted(ws)


async def guarded(ws: WebSocket) -> None:
    """Refuses foreign origins (HTTP 403) and missing tokens (4001 after accepting)."""
    if ws.headers.get("origin") not in (None, "https://app.example"):
        await ws.close()
        return
    await ws.accept()
    if ws.query_params.get("token") != "t0ken":
        await ws.close(code=4001)
        return
    await echo_accepted(ws)


async def per_item(ws: WebSocket) -> None:
    """Crashes on item 0, the simplest id there is, before accepting."""
    share = 100 // ws.path_params["id"]
    await ws.accept()
    await ws.send_text(str(share))
    await echo_accepted(ws)


COLD = {"started": False}


async def cold_start(ws: WebSocket) -> None:
    """Crashes on the first connection of the process only."""
    first, COLD["started"] = not COLD["started"], True
    await ws.accept()
    if first:
        raise RuntimeError("cache not warmed up")
    await echo_accepted(ws)


async def echo_accepted(ws: WebSocket) -> None:
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def two_bugs(ws: WebSocket) -> None:
    """Two different crashes: an empty message, and a long one."""
    await ws.accept()
    while True:
        text = await ws.receive_text()
        if len(text) >= 3:  # the longest this test's messages get
            raise KeyError(text)
        await ws.send_text(text[0])  # IndexError on ""


APP = Starlette(
    routes=[
        WebSocketRoute("/ws/two", two_bugs),
        WebSocketRoute("/ws/short", short_only),
        WebSocketRoute("/ws/echo", echo),
        WebSocketRoute("/ws/refuse", refuse),
        WebSocketRoute("/ws/hang", never_accepts),
        WebSocketRoute("/ws/greedy", always_graphql_ws),
        WebSocketRoute("/ws/guarded/{id:int}", guarded),
        WebSocketRoute("/ws/items/{id:int}", per_item),
        WebSocketRoute("/ws/cold", cold_start),
    ]
)


# Negative cases are the conversation tests' business; these test running, shrinking and probes.
POSITIVE = InvalidSpec(enabled=False)


def compiled(path: str, **fields: Any) -> CompiledRoute:
    messages = (MessageSpec(name="say", kind="text", max_size=12),)
    return compile_route(
        RouteSpec(
            **{"path": path, "messages": messages, "settings": QUICK, "invalid": POSITIVE, **fields}
        )
    )


def run(route: CompiledRoute, **kw: Any) -> RouteResult:
    kw.setdefault("seed", 1)
    kw.setdefault("max_examples", 40)
    return RouteRunner(APP, route, **kw).run()


@contextmanager
def profile_database(db: ExampleDatabase | None) -> Iterator[None]:
    """Run with the current Hypothesis profile, but with ``db`` as its example database."""
    # By the settings object, not the profile's name: get_current_profile_name() needs
    # Hypothesis 6.139, newer than the minimum this suite runs on.
    previous = settings.default
    settings.register_profile("ws-routes-test-db", parent=previous, database=db)
    settings.load_profile("ws-routes-test-db")
    try:
        yield
    finally:
        settings.register_profile("ws-routes-test-restored", parent=previous)
        settings.load_profile("ws-routes-test-restored")


@pytest.fixture
def example_db() -> Iterator[InMemoryExampleDatabase]:
    """An in-memory example database for this test only."""
    db = InMemoryExampleDatabase()
    with profile_database(db):
        yield db


@pytest.fixture
def no_example_db() -> Iterator[None]:
    """No example database: nothing saved by earlier runs is replayed."""
    with profile_database(None):
        yield


# -- RouteDatabase ---------------------------------------------------------------------------------


def test_route_database_prefixes_keys_and_isolates_routes() -> None:
    inner = InMemoryExampleDatabase()
    a, b = RouteDatabase(inner, "/ws/a"), RouteDatabase(inner, "/ws/b")
    a.save(b"key", b"value")
    assert list(a.fetch(b"key")) == [b"value"]
    assert list(b.fetch(b"key")) == []
    assert list(inner.fetch(b"key")) == []
    (stored,) = inner.data
    assert stored.endswith(b"key")
    assert len(stored) == 16 + 3
    assert RouteDatabase(inner, "/ws/a")._prefix == a._prefix  # stable across runs

    a.move(b"key", b"other", b"value")
    assert (list(a.fetch(b"key")), list(a.fetch(b"other"))) == ([], [b"value"])
    a.delete(b"other", b"value")
    assert list(a.fetch(b"other")) == []


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


def test_undeclared_route_refusing_everything_is_skipped() -> None:
    route = compile_route(default_route("/ws/refuse", QUICK))
    result = run(route, max_examples=10)
    assert result.failure is None
    assert result.skipped is not None
    assert "the app refused all 10 connections" in result.skipped
    assert "--routes-auth" in result.skipped
    assert (result.stats.refused, result.stats.connections) == (10, 0)


def test_declared_auth_route_refusing_everything_is_skipped_with_refusals_counted() -> None:
    route = compiled("/ws/refuse", auth=AuthSpec(query_param="token", reject_close_codes=(4001,)))
    result = run(route, max_examples=10)
    assert result.failure is None
    assert result.skipped is not None
    assert (
        "requires auth and has no credential: set auth.token or pass --routes-auth"
        in result.skipped
    )
    assert (result.stats.refused, result.stats.connections) == (10, 0)


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


def test_distinct_bugs_of_a_route_are_each_shrunk_and_reported() -> None:
    result = run(compiled("/ws/two"), max_examples=200)
    assert result.failure is not None
    found = [result.failure, *result.failure.also]
    summaries = sorted(f.transcript.app_error.summary.split(":")[0] for f in found if f.transcript.app_error)
    assert summaries == ["IndexError", "KeyError"]
    assert result.stats.failures == 2
    for failure in found:
        assert len(failure.conversation.steps) == 1  # each shrunk on its own


def _parse(text: str) -> Any:
    return json.loads(text)  # one app line; the decoder raises from different lines inside


def test_one_app_line_is_one_bug_wherever_the_library_raised() -> None:
    def bug_of(text: str) -> str:
        try:
            _parse(text)
        except ValueError as exc:
            t = Transcript(route="/ws", path="/ws", app_error=AppError(exc, ""))
            failure = Failure(check="no_server_error", error_type="server_error", message="", expected="", actual="")
            return _bug(replace(failure, cause=t.app_error), t)
        raise AssertionError("parsed")

    assert bug_of("") == bug_of("{")  # "Expecting value" and "Expecting property name"
    assert "test_runner.py" in bug_of("")


def test_a_bug_is_keyed_by_the_exception_its_failure_is_about() -> None:
    try:
        raise KeyError("x")
    except KeyError as exc:
        error = AppError(exc, "")
    t = Transcript(route="/ws", path="/ws", app_error=error)
    crash = Failure(check="no_server_error", error_type="server_error", message="", expected="", actual="", cause=error)
    leak = Failure(check="disconnect", error_type="resource_leak", message="", expected="", actual="")
    assert _bug(crash, t).startswith("raised KeyError@")
    # The leak is the leak, whatever else the app raised in the same conversation.
    assert _bug(leak, t) == "disconnect|resource_leak"
    # After a mutant, a failure keeps its bug: the same leak with and without one is one bug.
    negative = replace(leak, check="invalid_input", error_type="negative_case", origin="disconnect|resource_leak")
    assert _bug(negative, t) == _bug(leak, t)


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
