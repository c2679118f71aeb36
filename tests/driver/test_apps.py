"""The running app: lifespan phases watched at connection_timeout, os._exit trapped meanwhile."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette

from ws_routes.driver.apps import blocked_message, running_app
from ws_routes.driver.lifespan import LifespanError
from ws_routes.driver.loop import LoopBlocked
from ws_routes.spec.model import Settings


def test_a_lifespan_startup_blocking_the_loop_is_a_lifespan_error_at_its_timeout() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        time.sleep(3)  # the bug: a synchronous call in startup, under the old timeout + 5
        yield

    app = Starlette(lifespan=lifespan)
    blocked = r"blocked the event loop for .* during lifespan startup, longer than"
    with pytest.raises(LifespanError, match=blocked), running_app(app, timeout=0.2):
        pass
    join_abandoned_loops()


def join_abandoned_loops() -> None:
    """Let abandoned loop threads finish unwinding here, not during a later test.

    On 3.11 an app's traceback formatting in another thread (Starlette formats the lifespan's
    exception) can break a concurrent ast.parse() of the main thread.
    """
    for thread in threading.enumerate():
        if thread.name == "ws-routes-loop":
            thread.join(10)


def test_os_exit_is_trapped_while_the_app_runs_and_restored_after() -> None:
    real = os._exit
    with running_app(Starlette(), timeout=1.0) as (loop, _):
        assert os._exit is not real
        assert loop.usable
    assert os._exit is real


def test_blocked_message_names_the_wait_and_the_setting() -> None:
    settings = Settings(connection_timeout=3.0, message_timeout=2.0)
    exc = LoopBlocked(
        timeout=2.0, responsive=False, stack=None, stalled=3.04, during="waiting for replies"
    )
    assert blocked_message(exc, settings).startswith(
        "the app blocked the event loop for 3.0 s while waiting for replies, longer than the "
        "2.0 s (message_timeout) that wait allows"
    )
