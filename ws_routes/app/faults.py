"""What the app may throw at the driver, and which of it is the app's to answer for.

An app's handler or task can raise any ``BaseException``: ``KeyboardInterrupt``, ``SystemExit``,
``GeneratorExit``, a class of its own. Each is a finding of the route it ran on, never a reason
to end the session, so the driver catches them all where app code returns to it, except two:
asyncio's ``CancelledError`` (our own cancellation of a task) and :class:`DriverInterrupt`
(our own exceptions unwinding through app code, such as the one injected into an abandoned loop
thread). Real Ctrl-C cannot be among them: CPython delivers signals to the main thread, and app
code runs on a loop thread.

``os._exit`` ends the process without unwinding anything, so no handler can catch it. While a
route runs, :func:`trap_os_exit` replaces it with a function that, on the loop thread of this
process only, raises :class:`OsExitCalled` instead: the route reports "the app called
os._exit(3)" and the session goes on. Anywhere else (pytest's threads, a forked child) the real
``os._exit`` runs. A module that bound the function itself (``from os import _exit``) before the
trap was set is not covered.

Importing the app and calling its factory run on the main thread (a module may install signal
handlers or need the main thread's event loop at import), under :func:`main_thread_deadline`: a
``SIGALRM`` timer raises :class:`DeadlineExceeded` in the blocked code (``time.sleep`` and
pure-Python loops both end; a C call holding the GIL does not), and a ``KeyboardInterrupt`` is
told apart from a real Ctrl-C by a SIGINT handler that notes the real one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn

from ws_routes.errors import AppLoadError

__all__ = [
    "DeadlineExceeded",
    "DriverInterrupt",
    "guarded_app_code",
    "OsExitCalled",
    "is_app_fault",
    "main_thread_deadline",
    "trap_os_exit",
]


class DriverInterrupt(BaseException):
    """Base of ws_routes' own exceptions that unwind through app code; never the app's fault."""


class OsExitCalled(BaseException):
    """Raised in the app in place of ``os._exit(code)`` (see :func:`trap_os_exit`).

    Attributes:
        code: The exit status the app asked for.
    """

    def __init__(self, code: object) -> None:
        self.code = code
        super().__init__(code)

    def __str__(self) -> str:
        return (
            f"os._exit({self.code!r}) was called, which on a server ends the whole process and "
            "drops every connection"
        )


def is_app_fault(exc: BaseException) -> bool:
    """Whether ``exc``, escaping app code, is the app's: anything but our own unwinding."""
    return not isinstance(exc, asyncio.CancelledError | DriverInterrupt)


@contextmanager
def trap_os_exit(thread: threading.Thread) -> Iterator[None]:
    """While the block runs, ``os._exit`` called on ``thread`` raises :class:`OsExitCalled`.

    The previous ``os._exit`` is restored afterwards, unless something else replaced it in the
    meantime (then that replacement stays).
    """
    real = os._exit
    pid = os.getpid()

    def _exit(status: int) -> NoReturn:
        if threading.current_thread() is thread and os.getpid() == pid:
            raise OsExitCalled(status)
        real(status)  # another thread, or a child forked by the app: what it asked for

    os._exit = _exit
    try:
        yield
    finally:
        if os._exit is _exit:
            os._exit = real


# More than three years: past this a deadline is no deadline (and setitimer overflows).
_LONGEST_TIMER = 1e8


class DeadlineExceeded(DriverInterrupt):
    """Raised in app code that was still running when :func:`main_thread_deadline` expired."""


@dataclass(slots=True)
class Guard:
    """What :func:`main_thread_deadline` saw.

    Attributes:
        armed: Whether the deadline could be set (main thread, a platform with ``SIGALRM``).
        sigint: Whether a real SIGINT arrived (a ``KeyboardInterrupt`` then is Ctrl-C, not
            the app's).
    """

    armed: bool = False
    sigint: bool = False


@contextmanager
def main_thread_deadline(timeout: float | None) -> Iterator[Guard]:
    """Raise :class:`DeadlineExceeded` in the block if it runs longer than ``timeout`` seconds,
    and note a real SIGINT meanwhile (``Guard.sigint``).

    The deadline is set only on the main thread of a platform with ``SIGALRM``, for a finite
    ``timeout`` (elsewhere, or with None, the block runs without one: ``Guard.armed`` False).
    The previous SIGALRM and SIGINT handlers, and a timer that was already running, are
    restored afterwards.
    """
    guard = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield guard  # signals only reach the main thread: a KeyboardInterrupt here is no Ctrl-C
        return
    previous_int = signal.getsignal(signal.SIGINT)
    watch_sigint = previous_int is signal.default_int_handler

    def on_sigint(signum: int, frame: FrameType | None) -> Any:
        guard.sigint = True
        return signal.default_int_handler(signum, frame)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise DeadlineExceeded(timeout)

    # setitimer refuses inf, nan and huge values; past _LONGEST_TIMER a deadline is none anyway.
    arm = hasattr(signal, "setitimer") and timeout is not None and 0 < timeout < _LONGEST_TIMER
    if watch_sigint:
        signal.signal(signal.SIGINT, on_sigint)
    previous_alarm: Any = None
    old_delay, old_interval, started = 0.0, 0.0, time.monotonic()
    if arm:
        assert timeout is not None
        previous_alarm = signal.signal(signal.SIGALRM, on_alarm)
        old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, timeout)
        guard.armed = True
    try:
        yield guard
    finally:
        if arm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_alarm)
            if old_delay:  # someone else's timer was running: let it go off when it would have
                left = max(old_delay - (time.monotonic() - started), 0.001)
                signal.setitimer(signal.ITIMER_REAL, left, old_interval)
        if watch_sigint:
            signal.signal(signal.SIGINT, previous_int)


@contextmanager
def guarded_app_code(what: str, timeout: float | None) -> Iterator[None]:
    """App code run at collection (``what``: "importing app module 'app'"): a deadline, and
    ``SystemExit``/``KeyboardInterrupt`` from it as located ``AppLoadError`` errors.

    A real Ctrl-C (SIGINT) still propagates as ``KeyboardInterrupt``.
    """
    with main_thread_deadline(timeout) as guard:
        try:
            yield
        except DeadlineExceeded:
            raise AppLoadError(
                f"{what} did not finish within {timeout} s{_where()}: move slow or blocking work "
                "(network, a database, a busy loop) out of import time, into the app's lifespan "
                "startup"
            ) from None
        except (SystemExit, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt) and guard.sigint:
                raise  # a real Ctrl-C: the session stops
            if isinstance(exc, SystemExit):
                happened = f"called sys.exit({exc.code!r})"
            else:
                happened = "raised KeyboardInterrupt" + (f": {exc}" if str(exc) else "")
            raise AppLoadError(
                f"{what} {happened}{_where()}: an importable app must not exit or interrupt the "
                "process (is a command-line entry point running at import? guard it with "
                "`if __name__ == '__main__':`)"
            ) from None


_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the ws_routes package


def _where() -> str:
    """`` (at app.py:12)``: the innermost frame of the user's code in the exception handled now."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    own = [
        f
        for f in frames
        if "importlib" not in f.filename
        and not f.filename.startswith("<frozen")
        and not os.path.abspath(f.filename).startswith(_OURS + os.sep)
    ]
    return f" (at {own[-1].filename}:{own[-1].lineno})" if own else ""
