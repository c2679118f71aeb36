"""One in-process ASGI WebSocket connection as the client sees it: its waits on the app.

:class:`AsgiConnection` implements :class:`ws_routes.driver.transport.Connection` on top of the
connection's state machine (:mod:`ws_routes.driver.asgi_state_machine`): it sends the client's
frames, and waits for the handshake, for replies, for the app to go quiet or to stop, and for
the tasks the app left behind.

Quiet (``settle``): the app pauses when its task is done, or one of its tasks waits in our
``receive()`` with nothing left in the inbox; and then up to ``QUIET_ITERATIONS`` more loop
iterations produce no frame and leave it paused (iterations stop early when CPython's ready queue
is empty: nothing can run before I/O or a timer). A pause paces the conversation; whether it is
*idle*, proof that no frame can come before the client acts, is :mod:`ws_routes.driver.idle`'s
verdict (no timer, thread or I/O pending that could still answer). ``wait_event`` waits through
pauses until a frame comes, the app is idle, or the timeout passes. Nothing polls: the client
sleeps on one future that the app side resolves when it sends, finishes, or blocks in receive,
or that the verdict's next timer, unknown awaitable or executor job resolves.

Blocked loops: the connection takes a ``watch`` callback (``LoopThread.watch``) and tells it the
timeout of each wait it starts (the handshake, replies, the app stopping) and when it ends, so a
watchdog outside the loop can tell a loop the app blocked for longer than that timeout from a
loop that merely waits.

Background tasks: tasks not done that the app created on this connection, directly or through
tasks it created, found by :mod:`ws_routes.driver.tasks`. ``finish_tasks`` judges them once the app
has returned: which still hold the connection (leaked) and which died with an exception nobody
retrieved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ws_routes.driver.asgi_state_machine import AsgiStateMachine
from ws_routes.driver.idle import Verdict, not_the_apps, verdict
from ws_routes.driver.tasks import describe, running_jobs
from ws_routes.driver.transport import AppError, Event, Silence

__all__ = ["QUIET_ITERATIONS", "AsgiConnection"]

QUIET_ITERATIONS = 4
# After cancelling an app that ignored a close, wait this long for the cancellation to land.
_CANCEL_GRACE = 0.2
# After the app returned, how long its remaining tasks get to end on their own before the
# ones still holding the connection count as leaked.
_LEAK_GRACE = 0.05


class AsgiConnection(AsgiStateMachine):
    """One in-process connection; implements :class:`ws_routes.driver.transport.Connection`.

    Attributes:
        handshake, app_error, server_close, protocol_errors, app_stopped: see ``Connection``.
        handshake_deadlock: The app called ``receive()`` twice before accepting.
        scope: The ASGI scope the app was called with.
    """

    @property
    def background_tasks(self) -> int:
        return len(self._background())

    @property
    def leaked_tasks(self) -> Sequence[str]:
        return [describe(t) for t in self._owner.leaked(self.scope)] if self._task.done() else []

    async def finish_tasks(
        self, timeout: float = _LEAK_GRACE
    ) -> tuple[list[str], list[tuple[AppError, bool]]]:
        """Once the app has returned: (leaked tasks, unhandled task errors with "client gone").

        Tasks still pending get ``_LEAK_GRACE`` to end on their own; those still holding the
        connection afterwards are leaked and get cancelled, so they cannot disturb later
        connections. The others (work the handler handed off, a broadcaster shared by every
        connection) are left alone, but get up to ``timeout`` (the conversation's
        ``message_timeout``) to settle: to end, or to be provably dormant (waiting on what only
        the loop can release, no timer, thread or I/O due before then). So a task crashing on a
        timer 50 ms after the close is seen, not lost, and a broadcaster waiting on its queue
        costs nothing.
        """
        if not self._task.done():
            return [], []
        pending = self._owner.pending()
        if pending:
            self._watch(None, "waiting for the app's tasks to end")
            try:
                await asyncio.wait(pending, timeout=_LEAK_GRACE)
            finally:
                self._watch(None, "")
        leaked = self._owner.leaked(self.scope)
        names = [describe(t) for t in leaked]
        for task in leaked:
            task.cancel()
        if leaked:
            await asyncio.wait(leaked, timeout=_CANCEL_GRACE)
        if timeout > _LEAK_GRACE and self._owner.pending():
            self._watch(None, "waiting for the app's tasks to settle")
            try:
                await self._tasks_settle(self._loop.time() + timeout - _LEAK_GRACE)
            finally:
                self._watch(None, "")
        if pending:
            # A task that just ended has its done callbacks (the owner's note of its exception)
            # scheduled, not run: one iteration lets them run before the errors are read.
            await asyncio.sleep(0)
        return names, self._owner.unhandled()

    async def _tasks_settle(self, deadline: float) -> None:
        """Wait until the app's pending tasks end or are dormant (see ``finish_tasks``)."""
        loop = self._loop
        while pending := self._owner.pending():
            now = loop.time()
            found = verdict(
                loop, pending, running_jobs(loop), inputs=self._inputs, deadline=deadline
            )
            if found.idle or now >= deadline:
                return
            wake = deadline if found.wake_at is None else min(deadline, found.wake_at)
            if found.runnable or wake <= now:
                await asyncio.sleep(0)  # it runs (or its timer fires) now: look again after
            else:
                # A timer's or a future's turn, or one of the tasks ending: whichever comes first.
                await asyncio.wait(
                    [*pending, *found.futures], timeout=wake - now, return_when="FIRST_COMPLETED"
                )

    async def send_text(self, data: str) -> None:
        self._deliver({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        self._deliver({"type": "websocket.receive", "bytes": data})

    async def receive(self, timeout: float) -> Event | None:
        events = self._events
        if not events and not self._finished():
            deadline = self._loop.time() + timeout
            # ``timeout`` may be a short poll: the silence allowed is the watcher's default
            # (message_timeout), as a reply may still come.
            self._watch(None, "waiting for a reply")
            try:
                await asyncio.sleep(0)  # the app usually answers within one iteration: no timer
                while not events and not self._finished() and await self._wait_change(deadline):
                    pass
            finally:
                self._watch(None, "")
        return events.popleft() if events else None

    async def wait_event(self, timeout: float) -> Event | Silence:
        events = self._events
        deadline = self._loop.time() + timeout
        self._wake_on_quiet = True
        self._watch(None, "waiting for a reply")  # see receive()
        waited = False
        try:
            while not events:
                if self._finished() or self._not_reading():
                    return Silence.IDLE
                if self._loop.time() >= deadline:
                    return Silence.TIMEOUT
                found = self._verdict(deadline)
                if found.idle:
                    # Only timers due after the deadline left (a keepalive): idle, unless the
                    # app kept timers running until now (a ticker), which is a timeout.
                    return Silence.TIMEOUT if found.later and waited else Silence.IDLE
                waited = waited or not found.runnable  # on a timer, thread, future or I/O
                wake = deadline if found.wake_at is None else min(deadline, found.wake_at)
                if found.runnable or wake <= self._loop.time():
                    await asyncio.sleep(0)  # it runs (or its timer fires) now: look again after
                else:
                    await self._wait_change(wake, found.futures)
        finally:
            self._wake_on_quiet = False
            self._watch(None, "")
        return events.popleft()

    async def settle(self, timeout: float) -> tuple[list[Event], bool]:
        deadline = self._loop.time() + timeout
        events, out = self._events, list[Event]()
        spun = quiet = False
        self._wake_on_quiet = True
        self._watch(timeout, "waiting for replies")
        try:
            while True:
                out += events
                events.clear()
                if self._quiet():
                    if await self._stays_quiet():
                        # Paused; idle only if no timer, thread or I/O can answer in time.
                        quiet = self._task.done() or self._verdict(deadline).idle
                        break
                elif self._not_reading() and await self._stays_idle():
                    # A push-only handler never reads what we send, so nothing it sends is an
                    # answer to it: waiting out the timeout would only slow every step.
                    quiet = True
                    break
                elif not spun:  # the app usually answers within one iteration: no timer
                    spun = True
                    await asyncio.sleep(0)
                elif not await self._wait_change(deadline):
                    break
        finally:
            self._wake_on_quiet = False
            self._watch(None, "")
        out += events
        events.clear()
        return out, quiet

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float) -> bool:
        self._client_close(code, reason)
        return await self._finish(timeout)

    async def abort(self, *, timeout: float) -> bool:
        self._client_disconnect(1006, "")
        return await self._finish(timeout)

    # -- waiting on the app --------------------------------------------------------------------

    async def _stays_idle(self) -> bool:
        """Nothing is runnable: the app waits on a timer or I/O, not on our message."""
        ready = getattr(self._loop, "_ready", None)
        for _ in range(QUIET_ITERATIONS):
            await asyncio.sleep(0)
            if self._events or not self._not_reading():
                return False
            if ready is not None and not ready:
                return True
        return ready is None

    async def _stays_quiet(self) -> bool:
        # CPython's ready queue is private (and absent on uvloop: then we always iterate).
        ready = getattr(self._loop, "_ready", None)
        for _ in range(QUIET_ITERATIONS):
            if ready is not None and not ready:
                return True
            await asyncio.sleep(0)
            if self._events or not self._quiet():
                return False
        return True

    def _verdict(self, deadline: float) -> Verdict:
        tasks = [self._task, *self._owner.pending()]
        jobs = running_jobs(self._loop)
        return verdict(self._loop, tasks, jobs, inputs=self._inputs, deadline=deadline)

    async def _wait_change(
        self, deadline: float, futures: Sequence[asyncio.Future[Any]] = ()
    ) -> bool:
        """Sleep until the app side reports a change or one of ``futures`` completes (True), or
        ``deadline`` passes (False)."""
        loop = self._loop
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        waiter: asyncio.Future[bool] = loop.create_future()
        self._client_waiter = waiter
        timer = loop.call_at(deadline, _expire, waiter)
        wake = self._woken
        for future in futures:
            future.add_done_callback(wake)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._client_waiter = None
            for future in futures:
                future.remove_done_callback(wake)

    def _woken(self, _future: asyncio.Future[Any]) -> None:
        self._wake()

    async def _wait_handshake(self, timeout: float) -> None:
        deadline = self._loop.time() + timeout
        # Until the app answers: connection_timeout; once it has, see _resolve.
        self._watch(timeout, "waiting for the handshake")
        try:
            await asyncio.sleep(0)
            while not self._handshake_done and await self._wait_change(deadline):
                pass
        finally:
            self._watch(None, "")
        self._handshake_done = True  # None if nothing came: a later accept changes nothing

    async def _finish(self, timeout: float) -> bool:
        task = self._task
        deadline = self._loop.time() + timeout
        self._watch(timeout, "waiting for the app to stop")  # the grace covers _CANCEL_GRACE
        try:
            if not task.done():
                await asyncio.sleep(0)  # most apps end within an iteration of the disconnect
            while not task.done() and await self._wait_change(deadline):
                pass
            if task.done():
                return True
            self.app_stopped, self._cancelled = False, True
            task.cancel()
            await asyncio.wait([task], timeout=_CANCEL_GRACE)
            return False
        finally:
            self._watch(None, "")

    def _background(self) -> list[asyncio.Task[Any]]:
        return self._owner.pending()


@not_the_apps
def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
