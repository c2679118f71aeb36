"""An event loop in a daemon thread, with hard deadlines a blocked loop cannot escape.

A sync test must never hang, even when the app blocks the event loop synchronously
(``time.sleep``, a busy loop, a blocking socket call). Timeouts inside the loop cannot fire then,
so the calling thread enforces the deadline: :meth:`LoopThread.run` waits on a
``concurrent.futures.Future`` and raises :class:`LoopBlocked` when time is up.

When that happens the loop is probed: if it still runs callbacks, the coroutine is cancelled and
the thread stays usable; otherwise the thread is abandoned (``usable`` becomes False, the caller
makes a new ``LoopThread`` for the next item). An abandoned loop is told to stop, and on CPython
an exception is injected into the thread so that a pure-Python busy loop unwinds instead of
burning a core for the rest of the session; a blocking C call (``time.sleep``) ends first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import sys
import threading
import traceback
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from ws_routes.errors import WsRoutesError

__all__ = ["LoopBlocked", "LoopThread"]

T = TypeVar("T")
# How long a loop that missed a deadline gets to show it still runs callbacks.
_PROBE_GRACE = 0.1
# At shutdown, how long remaining tasks get to finish after being cancelled.
_CANCEL_GRACE = 1.0


class LoopBlocked(WsRoutesError):
    """A coroutine run on a :class:`LoopThread` did not finish before its hard deadline.

    Attributes:
        timeout: The deadline, in seconds.
        responsive: True when the loop still ran callbacks (the coroutine was cancelled and the
            thread stays usable); False when the loop was blocked and the thread was abandoned.
        stack: Where the loop thread was when the deadline passed (the blocking call is at the
            bottom), or None when it could not be read.
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
    """An asyncio event loop running forever in a daemon thread.

    Use one per test item: ``run`` coroutines on it with a hard deadline, ``close`` it at the
    end. Also a context manager.

    Args:
        name: The thread's name, shown in thread dumps.
    """

    def __init__(self, *, name: str = "ws-routes-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._usable = True
        self._closed = False
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

        Exceptions from ``coro`` propagate with their traceback.

        Raises:
            LoopBlocked: ``coro`` did not finish in time (see :class:`LoopBlocked`).
            RuntimeError: The thread is closed or was abandoned, or this is called from the
                loop thread itself (which would deadlock).
        """
        if not self.usable or threading.current_thread() is self._thread:
            coro.close()  # never awaited: close it so Python does not warn
            raise RuntimeError(
                "this LoopThread is closed or was abandoned; create a new one"
                if not self.usable
                else "LoopThread.run() called from its own loop thread"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done() and not future.cancelled():
                return future.result()  # finished in the instant between the wait and here
        stack = self._stack()
        future.cancel()  # cancels the task from within the loop, if it still runs callbacks
        probe = threading.Event()
        self.loop.call_soon_threadsafe(probe.set)
        responsive = probe.wait(_PROBE_GRACE)
        if not responsive:
            self._abandon()
        raise LoopBlocked(timeout=timeout, responsive=responsive, stack=stack)

    def close(self, timeout: float = 2.0) -> bool:
        """Stop the loop: cancel remaining tasks, finalize async generators, close it.

        Returns:
            True when the thread finished within ``timeout`` (always False for an abandoned
            thread that is still blocked).
        """
        if not self._closed:
            self._closed = True
            if self._thread.is_alive() and not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.loop.stop)
        if self._usable:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
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
        ident = self._thread.ident
        if ident is not None and self._thread.is_alive() and sys.implementation.name == "cpython":
            # The only way to interrupt pure-Python code in another thread; harmless if the
            # thread is stuck in C, the exception is raised when it returns to Python.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(_Abandoned)
            )


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
