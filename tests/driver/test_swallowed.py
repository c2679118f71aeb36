from __future__ import annotations

import asyncio
import contextlib

from ws_routes.driver.swallowed import trace_exceptions


async def swallows() -> int:
    with contextlib.suppress(ValueError):  # what a framework's error middleware does
        int("not a number")
    return 3


async def clean() -> int:
    await asyncio.sleep(0)
    return 4


async def disconnects() -> int:
    class WebSocketDisconnect(Exception):
        pass

    try:
        raise WebSocketDisconnect
    except WebSocketDisconnect:
        return 5


def test_finds_an_exception_the_code_caught() -> None:
    result, found = asyncio.run(trace_exceptions(swallows()))
    assert result == 3
    assert found is not None
    assert isinstance(found.exception, ValueError)
    assert "in swallows" in found.traceback
    assert "ValueError: invalid literal for int()" in found.traceback


def test_nothing_raised_is_none() -> None:
    assert asyncio.run(trace_exceptions(clean())) == (4, None)


def test_control_flow_exceptions_are_ignored() -> None:
    assert asyncio.run(trace_exceptions(disconnects())) == (5, None)


def test_previous_trace_function_is_restored() -> None:
    import sys

    before = sys.gettrace()
    asyncio.run(trace_exceptions(clean()))
    assert sys.gettrace() is before
