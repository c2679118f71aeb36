"""The route runner: per-route database keys, shrinking, stats, seeds, hangs and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import ExampleDatabase, InMemoryExampleDatabase
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile import CompiledRoute, compile_route
from ws_routes.conversation import Step
from ws_routes.runner import ConversationFailed, RouteDatabase, RouteResult, RouteRunner
from ws_routes.spec import AuthSpec, MessageSpec, RouteSpec, Settings, default_route
from ws_routes.transcript import Failure, Transcript

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


APP = Starlette(
    routes=[
        WebSocketRoute("/ws/short", short_only),
        WebSocketRoute("/ws/echo", echo),
        WebSocketRoute("/ws/refuse", refuse),
        WebSocketRoute("/ws/hang", never_accepts),
    ]
)


def compiled(path: str, **fields: Any) -> CompiledRoute:
    messages = (MessageSpec(name="say", kind="text", max_size=12),)
    return compile_route(
        RouteSpec(**{"path": path, "messages": messages, "settings": QUICK, **fields})
    )


def run(route: CompiledRoute, **kw: Any) -> RouteResult:
    kw.setdefault("seed", 1)
    kw.setdefault("max_examples", 40)
    return RouteRunner(APP, route, **kw).run()


@contextmanager
def profile_database(db: ExampleDatabase | None) -> Iterator[None]:
    """Run with the current Hypothesis profile, but with ``db`` as its example database."""
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "ws-routes-test-db", parent=settings.get_profile(previous), database=db
    )
    settings.load_profile("ws-routes-test-db")
    try:
        yield
    finally:
        settings.load_profile(previous)


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
    assert result.stats.sequences == 1


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
    assert "requires auth and has no credential: set auth.token or pass --routes-auth" in result.skipped
    assert (result.stats.refused, result.stats.connections) == (10, 0)


def test_declared_route_refusing_with_an_undeclared_code_fails_handshake() -> None:
    result = run(compiled("/ws/refuse"), max_examples=10)
    assert result.failure is not None
    assert result.failure.failure.check == "handshake"
