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
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

__all__ = ["DriverInterrupt", "OsExitCalled", "is_app_fault", "trap_os_exit"]


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
