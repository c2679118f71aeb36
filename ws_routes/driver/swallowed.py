"""Find the exception behind a 1011/4500 close that the framework caught and never re-raised.

Litestar (and custom error middleware) turn a handler's exception into a close code, so the
driver sees no exception and the report would have no traceback. For the one minimal failing
conversation only, the runner replays it with a trace function on the loop thread that records
every exception raised in the app's own code; the last one is the likely cause.
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from collections.abc import Awaitable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

from ws_routes.driver.transport import AppError

__all__ = ["trace_exceptions"]

T = TypeVar("T")

_PATHS = sysconfig.get_paths()
# The standard library, installed packages and ws_routes itself: everything that is not the app.
_LIBRARY_ROOTS = (
    *{str(Path(_PATHS[k]).resolve()) for k in ("stdlib", "purelib", "platlib")},
    str(Path(__file__).resolve().parents[1]),
)
# Exceptions that carry control flow, not failures.
_IGNORED = (
    "CancelledError",
    "WebSocketDisconnect",
    "StopIteration",
    "StopAsyncIteration",
    "GeneratorExit",
    "ClientDisconnected",
)


def _is_app_code(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return False
    return not resolved.startswith(_LIBRARY_ROOTS)


async def trace_exceptions(awaitable: Awaitable[T]) -> tuple[T, AppError | None]:
    """Run ``awaitable`` with exception tracing on this thread; return its result and the last
    exception raised in app code, with its traceback (None if there was none)."""
    found: list[tuple[BaseException, TracebackType | None]] = []

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "exception":
            exc = arg[1]
            if type(exc).__name__ not in _IGNORED and _is_app_code(frame.f_code.co_filename):
                found.append((exc, arg[2]))
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only app frames get the (slow) local tracer; library frames run untraced.
        return local if _is_app_code(frame.f_code.co_filename) else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        result = await awaitable
    finally:
        sys.settrace(previous)
    if not found:
        return result, None
    exc, tb = found[-1]
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__ or tb))
    return result, AppError(exc, text)
