"""Find the exception behind a 1011/4500 close that the framework caught and never re-raised.

Litestar (and custom error middleware) turn a handler's exception into a close code, so the
driver sees no exception and the report would have no traceback. For the one minimal failing
conversation only, the runner replays it with a trace function on the loop thread that records
every exception raised in the app's own code; the last one is the likely cause.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Awaitable
from types import FrameType, TracebackType
from typing import Any, TypeVar

from ws_routes.app.faults import is_app_code
from ws_routes.driver.transport import AppError

__all__ = ["trace_exceptions"]

T = TypeVar("T")

# Exceptions that carry control flow, not failures.
_IGNORED = (
    "CancelledError",
    "WebSocketDisconnect",
    "StopIteration",
    "StopAsyncIteration",
    "GeneratorExit",
    "ClientDisconnected",
)


async def trace_exceptions(awaitable: Awaitable[T]) -> tuple[T, AppError | None]:
    """Run ``awaitable`` with exception tracing on this thread; return its result and the last
    exception raised in app code, with its traceback (None if there was none)."""
    found: list[tuple[BaseException, TracebackType | None]] = []

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "exception":
            exc = arg[1]
            if type(exc).__name__ not in _IGNORED and is_app_code(frame.f_code.co_filename):
                found.append((exc, arg[2]))
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only app frames get the (slow) local tracer; library frames run untraced.
        return local if is_app_code(frame.f_code.co_filename) else None

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
