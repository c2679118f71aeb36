"""The ASGI lifespan protocol: startup, state, shutdown, unsupported apps, failures, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.lifespan import Lifespan, LifespanError
from ws_routes.driver.transport import TextFrame

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_startup_state_reaches_websockets_and_shutdown_runs() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    async def greet(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(ws.state.greeting)
        await ws.close()

    app = Starlette(routes=[WebSocketRoute("/ws", greet)], lifespan=lifespan)

    async def main() -> None:
        async with Lifespan(app) as life:
            assert life.supported is True
            assert life.state == {"greeting": "hello"}
            conn = await AsgiTransport(app, state=life.state).connect("/ws", timeout=1)
            events_, _ = await conn.settle(1)
            assert events_[0] == TextFrame("hello")
            assert events == ["startup"]
        assert events == ["startup", "shutdown"]

    run(main())


async def raises_on_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "websocket"


async def returns_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    return


@pytest.mark.parametrize("app", [raises_on_lifespan, returns_at_once])
def test_apps_without_lifespan_support_are_skipped(app: Any) -> None:
    async def main() -> None:
        life = Lifespan(app)
        await life.startup(timeout=1)
        assert life.supported is False
        await life.shutdown(timeout=1)  # a no-op

    run(main())


def test_startup_exception_is_an_error_with_the_traceback() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise ConnectionError("database down")
        yield

    app = Starlette(lifespan=lifespan)

    async def main() -> None:
        with pytest.raises(LifespanError, match="database down") as info:
            await Lifespan(app).startup()
        assert info.value.phase == "startup"
        assert info.value.traceback is not None
        assert "in lifespan" in info.value.traceback

    run(main())


@pytest.mark.parametrize("raised", [SystemExit(4), KeyboardInterrupt()], ids=lambda e: type(e).__name__)
def test_startup_raising_system_exit_is_a_lifespan_error_not_the_end(raised: BaseException) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise raised

    async def main() -> None:
        with pytest.raises(LifespanError, match=type(raised).__name__) as info:
            await Lifespan(app).startup(timeout=1)
        assert info.value.phase == "startup"

    run(main())


def test_startup_failed_message_and_raising_after_receive() -> None:
    async def reports(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no config"})

    async def raises(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("half started")

    async def main() -> None:
        life = Lifespan(reports)
        with pytest.raises(LifespanError, match="startup failed: no config"):
            await life.startup()
        await life.shutdown()  # nothing to shut down: a no-op, not a second error
        life = Lifespan(raises)
        with pytest.raises(LifespanError, match="RuntimeError: half started") as info:
            await life.startup()
        assert info.value.traceback is not None
        await life.shutdown()

    run(main())


def test_startup_timeout() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.Event().wait()

    async def main() -> None:
        start = time.perf_counter()
        with pytest.raises(LifespanError, match=r"within 0\.05s"):
            await Lifespan(silent, startup_timeout=0.05).startup()
        assert time.perf_counter() - start < 2

    run(main())


def test_shutdown_failure_and_timeout() -> None:
    def app_ending_with(end: Callable[[Send], Awaitable[None]]) -> Any:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await end(send)

        return app

    async def fails(send: Send) -> None:
        await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})

    async def hangs(send: Send) -> None:
        await asyncio.Event().wait()

    async def raises(send: Send) -> None:
        raise OSError("disk")

    async def main() -> None:
        for end, pattern in [(fails, "flush failed"), (hangs, "within 0.05s"), (raises, "disk")]:
            life = Lifespan(app_ending_with(end), shutdown_timeout=0.05)
            await life.startup()
            with pytest.raises(LifespanError, match=pattern) as info:
                await life.shutdown()
            assert info.value.phase == "shutdown"

    run(main())


def test_lifespan_task_dying_after_startup_is_reported_at_shutdown() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        raise ValueError("background crash")

    async def main() -> None:
        life = Lifespan(app)
        await life.startup()
        await asyncio.sleep(0)
        with pytest.raises(LifespanError, match="died after startup: ValueError"):
            await life.shutdown()

    run(main())
