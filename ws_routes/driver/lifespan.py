"""The ASGI lifespan protocol, run once per test item around the app's connections.

https://asgi.readthedocs.io/en/latest/specs/lifespan.html. The app runs as a task on the current
loop; ``startup`` waits for ``lifespan.startup.complete`` and ``shutdown`` for
``lifespan.shutdown.complete``, each with a timeout.

Apps without lifespan support are skipped silently, as the spec asks servers to: the app raising
before it calls ``receive()`` (``assert scope["type"] == "http"``) or returning without sending
anything. An app that received ``lifespan.startup`` and then raised speaks the protocol and
failed, so that is a :class:`LifespanError` with the traceback (uvicorn's ``lifespan="on"``).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

from ws_routes.app.faults import is_app_fault
from ws_routes.errors import WsRoutesError

__all__ = ["Lifespan", "LifespanError"]

Message = MutableMapping[str, Any]
# After the app reported startup.failed, how long to wait for its exception (for the traceback).
_TRACEBACK_GRACE = 0.5


class LifespanError(WsRoutesError):
    """The app's lifespan startup or shutdown failed or timed out.

    Attributes:
        phase: ``"startup"`` or ``"shutdown"``.
        traceback: The app's formatted traceback, when it raised.
    """

    def __init__(self, phase: str, message: str, *, traceback: str | None = None) -> None:
        self.phase = phase
        self.message = message
        self.traceback = traceback
        super().__init__(f"lifespan {phase} failed: {message}")


class Lifespan:
    """Runs an app's lifespan: ``async with Lifespan(app) as lifespan: ... lifespan.state``.

    Args:
        app: The ASGI application.
        startup_timeout: Seconds to wait for ``lifespan.startup.complete``.
        shutdown_timeout: Seconds to wait for ``lifespan.shutdown.complete``.

    Attributes:
        state: The ``scope["state"]`` dict the app fills during startup; connections get a
            shallow copy of it.
        supported: None before ``startup``; then whether the app speaks the protocol.
    """

    def __init__(
        self, app: Any, *, startup_timeout: float = 10.0, shutdown_timeout: float = 10.0
    ) -> None:
        self.app: Callable[..., Awaitable[None]] = app
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self.state: dict[str, Any] = {}
        self.supported: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self._received = 0  # how many receive() calls the app made
        self._startup: asyncio.Future[str | None] | None = None  # None ok, str: failure message
        self._shutdown: asyncio.Future[str | None] | None = None
        self._shutdown_requested: asyncio.Event | None = None
        self._error: BaseException | None = None

    async def __aenter__(self) -> Lifespan:
        await self.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def startup(self, *, timeout: float | None = None) -> None:
        """Send ``lifespan.startup`` and wait for the outcome.

        Args:
            timeout: Overrides ``startup_timeout``.

        Raises:
            LifespanError: The app reported ``lifespan.startup.failed``, raised after receiving
                the startup event, or did not answer within ``startup_timeout``.
        """
        loop = asyncio.get_running_loop()
        self._startup, self._shutdown = loop.create_future(), loop.create_future()
        self._shutdown_requested = asyncio.Event()
        scope: Message = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        task = self._task = loop.create_task(self._run(scope))
        timeout = self.startup_timeout if timeout is None else timeout
        await _first(self._startup, task, timeout=timeout)
        if self._startup.done():
            self.supported = True
            failure = self._startup.result()
            if failure is None:
                return
            await asyncio.wait([task], timeout=_TRACEBACK_GRACE)
            await self._cancel()  # nothing to shut down after a failed startup
            raise LifespanError(
                "startup", failure or "lifespan.startup.failed", traceback=self._tb()
            )
        if task.done():
            self._task = None
            if self._error is not None and self._received:
                self.supported = True
                raise LifespanError("startup", _summary(self._error), traceback=self._tb())
            self.supported = False  # raised before receive(), or returned: not supported
            return
        await self._cancel()
        raise LifespanError(
            "startup",
            f"the app did not send 'lifespan.startup.complete' within {timeout}s",
        )

    async def shutdown(self, *, timeout: float | None = None) -> None:
        """Send ``lifespan.shutdown`` and wait for the app to finish shutting down.

        A no-op when startup never ran, failed, or the app does not support lifespan.

        Args:
            timeout: Overrides ``shutdown_timeout``.

        Raises:
            LifespanError: ``lifespan.shutdown.failed``, an exception, the lifespan task having
                died after startup, or no answer within ``shutdown_timeout``.
        """
        task, done, requested = self._task, self._shutdown, self._shutdown_requested
        if task is None or done is None or requested is None:
            return
        self._task = None
        if task.done():
            if self._error is not None:
                message = f"the lifespan task died after startup: {_summary(self._error)}"
                raise LifespanError("shutdown", message, traceback=self._tb())
            return  # it returned right after startup: odd, but nothing is left to shut down
        requested.set()
        timeout = self.shutdown_timeout if timeout is None else timeout
        await _first(done, task, timeout=timeout)
        if done.done():
            failure = done.result()
            # The app should return now; do not let a straggler outlive the item.
            await asyncio.wait([task], timeout=_TRACEBACK_GRACE)
            if not task.done():
                await self._cancel(task)
            if failure is not None:
                raise LifespanError(
                    "shutdown", failure or "lifespan.shutdown.failed", traceback=self._tb()
                )
            return
        if task.done():
            if self._error is not None:
                raise LifespanError("shutdown", _summary(self._error), traceback=self._tb())
            return  # returned without shutdown.complete: tolerated, as servers do
        await self._cancel(task)
        raise LifespanError(
            "shutdown",
            f"the app did not send 'lifespan.shutdown.complete' within {timeout}s",
        )

    async def _run(self, scope: Message) -> None:
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            # SystemExit or KeyboardInterrupt in a startup handler fails the route's lifespan;
            # it must not end the test session (see faults.py).
            if not is_app_fault(exc):
                raise
            self._error = exc

    async def _receive(self) -> Message:
        self._received += 1
        if self._received == 1:
            return {"type": "lifespan.startup"}
        assert self._shutdown_requested is not None
        await self._shutdown_requested.wait()
        if self._received == 2:
            return {"type": "lifespan.shutdown"}
        await asyncio.Future()  # nothing more will ever come, as with a real server
        raise AssertionError("unreachable")

    async def _send(self, message: Message) -> None:
        mtype = message.get("type")
        target = self._startup if str(mtype).startswith("lifespan.startup.") else self._shutdown
        if mtype in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
            outcome = None
        elif mtype in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
            outcome = str(message.get("message", ""))
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {mtype!r}")
        if target is None or target.done():
            raise RuntimeError(f"unexpected ASGI lifespan message {mtype!r} (sent twice?)")
        target.set_result(outcome)

    async def _cancel(self, task: asyncio.Task[None] | None = None) -> None:
        task = task or self._task
        self._task = None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=_TRACEBACK_GRACE)

    def _tb(self) -> str | None:
        if self._error is None:
            return None
        return "".join(traceback.format_exception(self._error))


async def _first(*futures: asyncio.Future[Any], timeout: float) -> None:
    await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)


def _summary(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
