"""An event loop in a daemon thread, with hard deadlines a blocked loop cannot escape.

A sync test must never hang, even when the app blocks the event loop synchronously
(``time.sleep``, a busy loop, a blocking socket call). Timeouts inside the loop cannot fire then,
so the calling thread enforces the deadline: it waits for the loop thread with a watchdog and
raises :class:`LoopBlocked` when a deadline has passed and the loop has not come back.

Work reaches the loop thread two ways. :meth:`LoopThread.run` hands one coroutine over. For a
long job with many short coroutines (a route's conversations), :meth:`LoopThread.call` runs a
whole function on the loop thread, and ``run`` called inside it runs its coroutine right there,
with no thread hop: on a busy machine every hop waits for a core twice, and a route runs
thousands of conversations. A deadline that passes while the loop is responsive cancels the
coroutine and the thread stays usable; a loop that does not come back is abandoned (``usable``
becomes False, the caller makes a new ``LoopThread`` for the next item).

A hard deadline covers a whole coroutine, so it is long. A blocked loop is found sooner: while a
coroutine runs, a heartbeat timer notes every ``_BEAT`` seconds that the loop still runs, and the
watchdog compares how long it has not with the limit that applies now: the timeout of the wait
the driver is in (:meth:`LoopThread.watch`, called from the loop thread), or the ``stall`` the
coroutine was started with for a wait that names none. Past that limit plus ``_STALL_GRACE`` the
loop counts as blocked, long before the hard deadline. Outside the driver's waits only our own
code runs (the app runs only while we await it), so no silence is held against the app there.
An abandoned loop is told to stop, and on CPython an exception is injected into the thread so
that a pure-Python busy loop unwinds instead of burning a core for the rest of the session; a
blocking C call (``time.sleep``) ends first.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

from ws_routes.app.faults import DriverInterrupt
from ws_routes.driver.idle import not_the_apps
from ws_routes.errors import WsRoutesError

__all__ = ["LoopBlocked", "LoopThread"]

T = TypeVar("T")
# How long an overrunning coroutine gets to unwind once cancelled.
_CANCEL_GRACE_RUN = 0.1
# How long past a deadline the loop has to come back before it counts as blocked: more than the
# above, so that a loop busy cancelling is not taken for a blocked one.
_PROBE_GRACE = 0.4
# How often the watchdog looks while the loop thread runs our own code (no deadline then).
_WATCH_IDLE = 0.1
# At shutdown, how long remaining tasks get to finish after being cancelled.
_CANCEL_GRACE = 1.0
# How often the heartbeat notes that the loop runs, while a coroutine runs on it.
_BEAT = 0.1
# How far past the applicable limit a silent loop counts as blocked: covers the heartbeat's
# period and a loop thread that a busy machine did not schedule for a moment.
_STALL_GRACE = 1.0


class LoopBlocked(WsRoutesError):
    """A coroutine run on a :class:`LoopThread` did not finish before its hard deadline.

    Attributes:
        timeout: The limit that was passed, in seconds: the hard deadline, or for a stalled
            loop the limit of the wait it stalled in.
        responsive: True when the loop still ran callbacks (the coroutine was cancelled and the
            thread stays usable); False when the loop was blocked and the thread was abandoned.
        stack: For a blocked loop, where its thread was when the deadline passed (the blocking
            call is at the bottom); None when it could not be read, and for a responsive one.
        stalled: For a blocked loop, how long it had not run when it was abandoned (seconds).
        during: What the driver was waiting for when the loop stalled (``watch``'s label), or
            None (no wait declared one, or the hard deadline passed).
    """

    def __init__(
        self,
        *,
        timeout: float,
        responsive: bool,
        stack: str | None,
        stalled: float | None = None,
        during: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.responsive = responsive
        self.stack = stack
        self.stalled = stalled
        self.during = during
        if responsive:
            message = f"the coroutine did not finish within {timeout}s and was cancelled"
        else:
            how_long = f"{stalled:.1f}s" if stalled is not None else f"more than {timeout}s"
            while_ = f" while {during}" if during else ""
            message = (
                f"the event loop was blocked for {how_long}{while_}, longer than the {timeout}s "
                "allowed (a synchronous call such as time.sleep() or a busy loop in the app?); "
                "its thread was abandoned"
            )
        super().__init__(message)


class _Abandoned(DriverInterrupt):
    """Injected into an abandoned loop thread; a BaseException so ``except Exception`` misses it."""


class LoopThread:
    """An asyncio event loop owned by a daemon thread that runs the jobs it is given.

    Use one per test item: ``run`` coroutines on it (or ``call`` a function that does) with a
    hard deadline, ``close`` it at the end. Also a context manager.

    Args:
        name: The thread's name, shown in thread dumps.
    """

    def __init__(self, *, name: str = "ws-routes-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._usable = True
        self._closed = False
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        # The coroutine running on the loop thread now: (its deadline on the monotonic clock,
        # its timeout), or None. The watchdog reads it; only the loop thread writes it.
        self._deadline: tuple[float, float] | None = None
        # While it runs: when the heartbeat last ran (monotonic), how long the loop may stay
        # silent by default (run's ``stall``), and the limit of the wait in progress (watch).
        self._beat = 0.0
        self._stall: float | None = None
        self._limit: tuple[float | None, str] | None = None
        self._heartbeat_handle: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    @property
    def usable(self) -> bool:
        """False once closed, or after a deadline found the loop blocked."""
        return self._usable and not self._closed

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop (and so the app) runs on."""
        return self._thread

    @property
    def blocked(self) -> bool:
        """True once a deadline found the loop blocked and the thread was abandoned."""
        return not self._usable

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(
        self, coro: Coroutine[Any, Any, T], timeout: float, *, stall: float | None = None
    ) -> T:
        """Run ``coro`` on the loop and return its result, waiting at most ``timeout`` seconds.

        Exceptions from ``coro`` propagate with their traceback. Inside :meth:`call` (on the
        loop thread), the coroutine runs in place.

        Args:
            coro: The coroutine.
            timeout: The hard deadline of the whole coroutine.
            stall: How long the loop may go without running during a :meth:`watch` that
                names no limit; past it (plus a grace) the loop is blocked.

        Raises:
            LoopBlocked: ``coro`` did not finish in time (see :class:`LoopBlocked`).
            RuntimeError: The thread is closed or was abandoned, or this is called from a
                coroutine running on the loop (which would deadlock).
        """
        here = threading.current_thread() is self._thread
        if not self.usable or (here and self.loop.is_running()):
            coro.close()  # never awaited: close it so Python does not warn
            raise RuntimeError(
                "this LoopThread is closed or was abandoned; create a new one"
                if not self.usable
                else "LoopThread.run() called from a coroutine on its own loop thread"
            )
        if here:
            return self._run_here(coro, timeout, stall)
        result: T = self.call(self._run_here, coro, timeout, stall)
        return result

    def watch(self, limit: float | None, during: str) -> None:
        """From the loop thread: a wait on the app starts, or ends (``during`` empty).

        While it lasts, the loop must not stay silent for longer than ``limit`` seconds (None:
        ``run``'s ``stall``); ``during`` says what is waited for, for the report ("waiting for
        a reply"). Outside waits the loop's silence is our own code and is not watched.
        """
        if during:
            # Called on the loop thread, so the loop runs now: silence counts from here, not
            # from a heartbeat that our own code between waits kept from running.
            self._beat = time.monotonic()
            self._limit = (limit, during)
        else:
            self._limit = None

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the loop thread and return its result; ``run`` inside it runs
        coroutines without leaving the thread.

        Only the coroutines ``fn`` runs have deadlines; the rest of ``fn`` (Hypothesis
        generating and shrinking, checks) is ours and has none.

        Raises:
            LoopBlocked: A coroutine's deadline passed and the loop did not come back; the
                thread was abandoned, and whatever ``fn`` was doing is lost with it.
            RuntimeError: The thread is closed or was abandoned.
        """
        if not self.usable:
            raise RuntimeError("this LoopThread is closed or was abandoned; create a new one")
        if threading.current_thread() is self._thread:
            return fn(*args)  # already here (a call inside a call): queueing it would deadlock
        job = _Job(fn, args)
        self._jobs.put(job)
        try:
            while True:
                if job.done.wait(self._watch_interval()):
                    return job.result()
                blocked = self._overdue()
                if blocked is not None:
                    self._abandon()
                    raise blocked
        except BaseException as exc:
            if not isinstance(exc, LoopBlocked) and not job.done.is_set():
                # Interrupted (Ctrl-C) while the job runs: it cannot be stopped cleanly.
                self._abandon()
                # The interruption leaves garbage whose finalizers format tracebacks; collected
                # later, inside the ast.parse() of pytest's interrupted summary, they make 3.11
                # raise "AST constructor recursion depth mismatch" (ast.parse is not
                # re-entrant there) instead of printing the summary. Collect it now.
                gc.collect()
            raise

    def _silence_limit(self) -> tuple[float, str] | None:
        """How long the loop may stay silent now, and what the driver waits for meanwhile."""
        limit = self._limit
        if limit is None:
            return None  # no wait on the app in progress: our own code is running
        seconds = limit[0] if limit[0] is not None else self._stall
        return None if seconds is None else (seconds, limit[1])

    def _watch_interval(self) -> float:
        deadline = self._deadline
        if deadline is None:
            return _WATCH_IDLE
        wake = deadline[0] + _PROBE_GRACE
        limit = self._silence_limit()
        if limit is not None:
            wake = min(wake, self._beat + limit[0] + _STALL_GRACE)
        return min(_WATCH_IDLE * 5, max(0.001, wake - time.monotonic()))

    def _overdue(self) -> LoopBlocked | None:
        """A blocked loop: the running coroutine overran its hard deadline by the grace, or the
        loop has not run for longer than the limit of the current wait plus the grace."""
        deadline = self._deadline
        if deadline is None:
            return None
        now = time.monotonic()
        silent = now - self._beat
        limit = self._silence_limit()
        if limit is not None and silent > limit[0] + _STALL_GRACE:
            return LoopBlocked(
                timeout=limit[0],
                responsive=False,
                stack=self._stack(),
                stalled=round(silent, 1),
                during=limit[1] or None,
            )
        if now > deadline[0] + _PROBE_GRACE:
            return LoopBlocked(
                timeout=deadline[1], responsive=False, stack=self._stack(), stalled=round(silent, 1)
            )
        return None

    def _run_here(self, coro: Coroutine[Any, Any, T], timeout: float, stall: float | None) -> T:
        loop = self.loop
        self._beat = time.monotonic()
        self._stall, self._limit = stall, None
        self._deadline = (self._beat + timeout, timeout)
        self._heartbeat_handle = loop.call_later(_BEAT, self._heartbeat)
        task = loop.create_task(_within(coro, timeout))
        try:
            while True:
                try:
                    return loop.run_until_complete(task)
                except (KeyboardInterrupt, SystemExit):
                    if task.done():
                        raise
                    # A task or callback of the app raised it, and asyncio lets these two out
                    # of the loop after storing them in the task (where the driver reads them):
                    # the app's finding, not a reason to stop. Real Ctrl-C goes to the main
                    # thread, never here.
                    continue
        finally:
            self._deadline = None
            self._stall = self._limit = None
            if self._heartbeat_handle is not None:
                self._heartbeat_handle.cancel()
                self._heartbeat_handle = None

    @not_the_apps  # the app's idleness is judged without it (see ws_routes.driver.idle)
    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        self._heartbeat_handle = self.loop.call_later(_BEAT, self._heartbeat)

    def close(self, timeout: float = 2.0) -> bool:
        """Stop the loop: cancel remaining tasks, finalize async generators, close it.

        Returns:
            True when the thread finished within ``timeout`` (always False for an abandoned
            thread that is still blocked).
        """
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        if self._usable:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            while self._usable:
                job = self._jobs.get()
                if job is None:
                    break
                job.execute()
        except BaseException:
            pass  # _Abandoned (see LoopThread._abandon): the loop is being dropped anyway
        finally:
            try:
                _drain(loop)
            except BaseException:
                pass  # an injected exception may land here too; closing is what matters
            finally:
                loop.close()

    def _stack(self) -> str | None:
        frame = sys._current_frames().get(self._thread.ident or -1)
        return "".join(traceback.format_stack(frame)) if frame is not None else None

    def _abandon(self) -> None:
        self._usable = False
        # Tasks the unwinding kills are never awaited; asyncio would log them when collected,
        # maybe in the middle of another thread's ast.parse(), and 3.11's traceback formatting
        # calls ast.parse() re-entrantly, which corrupts its recursion counter (SystemError).
        self.loop.set_exception_handler(_ignore)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._jobs.put(None)
        ident = self._thread.ident
        if ident is not None and self._thread.is_alive() and sys.implementation.name == "cpython":
            # The only way to interrupt pure-Python code in another thread; harmless if the
            # thread is stuck in C, the exception is raised when it returns to Python.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(_Abandoned)
            )


class _Job(Generic[T]):
    """A function for the loop thread, and its outcome."""

    __slots__ = ("args", "done", "error", "fn", "value")

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def execute(self) -> None:
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # handed to the caller, with its traceback
            self.error = exc
        finally:
            self.done.set()
        if isinstance(self.error, _Abandoned):
            raise self.error

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set: fn returned


async def _within(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Await ``coro``; past ``timeout`` seconds cancel it (bounded) and raise LoopBlocked."""
    task = asyncio.ensure_future(coro)
    # Our own timer rather than asyncio.wait's: the driver must not take it for the app's.
    expired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timer = asyncio.get_running_loop().call_later(timeout, _expire, expired)
    try:
        await asyncio.wait((task, expired), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if not task.done():
        task.cancel()
        # A coroutine that swallows the cancellation stays behind on the loop; we do not wait
        # for it past a short grace.
        await asyncio.wait((task,), timeout=_CANCEL_GRACE_RUN)
        raise LoopBlocked(timeout=timeout, responsive=True, stack=None)
    return task.result()


@not_the_apps
def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _ignore(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Exception handler of an abandoned loop: what happens there is no longer reported."""


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on ``loop`` and let it finish, boundedly (the loop is stopped)."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=_CANCEL_GRACE))
        for task in tasks:  # retrieve exceptions so asyncio does not log them at GC
            if task.done() and not task.cancelled():
                task.exception()
    loop.run_until_complete(
        asyncio.wait([loop.create_task(loop.shutdown_asyncgens())], timeout=_CANCEL_GRACE)
    )
