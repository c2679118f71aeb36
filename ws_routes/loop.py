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
becomes False, the caller makes a new ``LoopThread`` for the next item). An abandoned loop is
told to stop, and on CPython an exception is injected into the thread so that a pure-Python busy
loop unwinds instead of burning a core for the rest of the session; a blocking C call
(``time.sleep``) ends first.
"""

from __future__ import annotations

import asyncio
import ctypes
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

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


class LoopBlocked(WsRoutesError):
    """A coroutine run on a :class:`LoopThread` did not finish before its hard deadline.

    Attributes:
        timeout: The deadline, in seconds.
        responsive: True when the loop still ran callbacks (the coroutine was cancelled and the
            thread stays usable); False when the loop was blocked and the thread was abandoned.
        stack: For a blocked loop, where its thread was when the deadline passed (the blocking
            call is at the bottom); None when it could not be read, and for a responsive one.
    """

    def __init__(self, *, timeout: float, responsive: bool, stack: str | None) -> None:
        self.timeout = timeout
        self.responsive = responsive
        self.stack = stack
        if responsive:
            message = f"the coroutine did not finish within {timeout}s and was cancelled"
        else:
            message = (
                f"the event loop was blocked for more than {timeout}s (a synchronous call such "
                "as time.sleep() or a busy loop in the app?); its thread was abandoned"
            )
        super().__init__(message)


class _Abandoned(BaseException):
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
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    @property
    def usable(self) -> bool:
        """False once closed, or after a deadline found the loop blocked."""
        return self._usable and not self._closed

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

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and return its result, waiting at most ``timeout`` seconds.

        Exceptions from ``coro`` propagate with their traceback. Inside :meth:`call` (on the
        loop thread), the coroutine runs in place.

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
            return self._run_here(coro, timeout)
        result: T = self.call(self._run_here, coro, timeout)
        return result

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
                    stack = self._stack()
                    self._abandon()
                    raise LoopBlocked(timeout=blocked, responsive=False, stack=stack)
        except BaseException as exc:
            if not isinstance(exc, LoopBlocked) and not job.done.is_set():
                # Interrupted (Ctrl-C) while the job runs: it cannot be stopped cleanly.
                self._abandon()
            raise

    def _watch_interval(self) -> float:
        deadline = self._deadline
        if deadline is None:
            return _WATCH_IDLE
        return max(0.001, deadline[0] + _PROBE_GRACE - time.monotonic())

    def _overdue(self) -> float | None:
        """The timeout of the coroutine that overran its deadline by the grace, if one did."""
        deadline = self._deadline
        if deadline is not None and time.monotonic() > deadline[0] + _PROBE_GRACE:
            return deadline[1]
        return None

    def _run_here(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        self._deadline = (time.monotonic() + timeout, timeout)
        try:
            return self.loop.run_until_complete(_within(coro, timeout))
        finally:
            self._deadline = None

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
    done, _ = await asyncio.wait((task,), timeout=timeout)
    if not done:
        task.cancel()
        # A coroutine that swallows the cancellation stays behind on the loop; we do not wait
        # for it past a short grace.
        await asyncio.wait((task,), timeout=_CANCEL_GRACE_RUN)
        raise LoopBlocked(timeout=timeout, responsive=True, stack=None)
    return task.result()


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
