"""The loop thread: results, exceptions, hard deadlines, abandoning a blocked loop, closing."""

from __future__ import annotations

import asyncio
import math
import mmap
import threading
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ws_routes.app import vitals
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopBlocked, LoopThread


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


async def fail() -> None:
    raise ValueError("from the loop")


def test_run_returns_results_and_propagates_exceptions_with_traceback() -> None:
    with LoopThread() as loop:
        assert loop.run(add(1, 2), timeout=1) == 3
        with pytest.raises(ValueError, match="from the loop") as info:
            loop.run(fail(), timeout=1)
        assert any(f.name == "fail" for f in traceback.extract_tb(info.value.__traceback__))
        assert loop.usable


def test_an_overrunning_coroutine_is_cancelled_and_the_loop_stays_usable() -> None:
    cancelled = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with LoopThread() as loop:
        with pytest.raises(LoopBlocked) as info:
            loop.run(forever(), timeout=0.05)
        assert info.value.responsive
        assert loop.usable
        assert not loop.blocked
        assert loop.run(add(2, 2), timeout=1) == 4
        assert cancelled == [True]


def test_a_blocked_loop_is_abandoned_within_the_deadline() -> None:
    async def blocks() -> None:
        time.sleep(2)

    loop = LoopThread()
    start = time.perf_counter()
    with pytest.raises(LoopBlocked, match="blocked") as info:
        loop.run(blocks(), timeout=0.1)
    assert time.perf_counter() - start < 1.5
    assert not info.value.responsive
    assert loop.blocked
    assert not loop.usable
    assert info.value.stack is not None
    assert "time.sleep(2)" in info.value.stack
    coro = add(1, 1)
    with pytest.raises(RuntimeError, match="create a new one"):
        loop.run(coro, timeout=1)
    loop.close()


def test_a_busy_loop_is_unwound_so_it_stops_burning_cpu() -> None:
    async def spins() -> None:
        while True:
            pass

    loop = LoopThread()
    with pytest.raises(LoopBlocked):
        loop.run(spins(), timeout=0.1)
    loop._thread.join(2)
    assert not loop._thread.is_alive()
    assert loop.loop.is_closed()


def test_an_app_blocking_the_loop_under_the_driver_raises_loop_blocked() -> None:
    async def sleepy(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        time.sleep(1.0)  # the bug: a synchronous call in a handler

    app = Starlette(routes=[WebSocketRoute("/ws", sleepy)])

    async def conversation() -> Any:
        conn = await AsgiTransport(app).connect("/ws", timeout=1)
        await conn.send_text("hi")
        return await conn.settle(1)

    loop = LoopThread()
    with pytest.raises(LoopBlocked) as info:
        loop.run(conversation(), timeout=0.1)
    assert info.value.stack is not None
    assert "in sleepy" in info.value.stack
    loop._thread.join(2)  # once unblocked, the abandoned thread winds down and closes its loop
    assert not loop._thread.is_alive()
    assert loop.loop.is_closed()


def test_close_cancels_tasks_and_finalizes_async_generators() -> None:
    finalized: list[str] = []

    async def ticker() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
                await asyncio.sleep(10)
        finally:
            finalized.append("generator")

    async def background() -> None:
        try:
            async for _ in ticker():
                pass
        finally:
            finalized.append("task")

    async def start() -> None:
        asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(0.01)

    loop = LoopThread()
    loop.run(start(), timeout=1)
    assert loop.close(timeout=2) is True
    assert sorted(finalized) == ["generator", "task"]
    assert loop.loop.is_closed()
    assert not loop.usable


def test_run_from_a_coroutine_on_the_loop_is_refused() -> None:
    with LoopThread() as loop:

        async def reenter() -> None:
            loop.run(add(1, 1), timeout=1)

        with pytest.raises(RuntimeError, match="own loop thread"):
            loop.run(reenter(), timeout=1)


def test_call_runs_on_the_loop_thread_and_run_inside_it_does_not_hop() -> None:
    with LoopThread() as loop:

        def job(base: int) -> tuple[int, str, str]:
            here = threading.current_thread().name
            total = base + loop.run(add(1, 2), timeout=1)

            async def where() -> str:
                return threading.current_thread().name

            return total, here, loop.run(where(), timeout=1)

        total, caller, coroutine = loop.call(job, 10)
        assert total == 13
        assert caller == coroutine == "ws-routes-loop"
        assert loop.call(loop.call, job, 1)[0] == 4  # nested: runs in place, no deadlock
        assert loop.usable


def test_inside_call_an_overrun_raises_where_it_happened_and_the_loop_stays_usable() -> None:
    with LoopThread() as loop:

        def job() -> str:
            try:
                loop.run(asyncio.Event().wait(), timeout=0.05)
            except LoopBlocked as exc:
                return "responsive" if exc.responsive else "blocked"
            return "finished"

        assert loop.call(job) == "responsive"
        assert loop.run(add(2, 2), timeout=1) == 4


def test_inside_call_a_blocked_loop_is_reported_to_the_caller_and_abandoned() -> None:
    async def blocks() -> None:
        time.sleep(1.5)

    def job() -> None:
        loop.run(add(1, 1), timeout=1)
        loop.run(blocks(), timeout=0.1)

    loop = LoopThread()
    started = time.perf_counter()
    with pytest.raises(LoopBlocked) as info:
        loop.call(job)
    assert time.perf_counter() - started < 1.2  # the watchdog did not wait for the sleep
    assert not info.value.responsive
    assert info.value.stack is not None
    assert "time.sleep(1.5)" in info.value.stack
    assert loop.blocked
    with pytest.raises(RuntimeError, match="create a new one"):
        loop.call(job)
    loop._thread.join(3)  # the sleep ends, the injected exception unwinds the job
    assert not loop._thread.is_alive()
    assert loop.loop.is_closed()


def test_exceptions_from_call_keep_their_traceback() -> None:
    def job() -> None:
        raise KeyError("from the job")

    with LoopThread() as loop:
        with pytest.raises(KeyError, match="from the job") as info:
            loop.call(job)
        assert any(f.name == "job" for f in traceback.extract_tb(info.value.__traceback__))
        assert loop.usable


def test_a_loop_silent_past_the_watched_limit_is_blocked_long_before_the_hard_deadline() -> None:
    async def blocks_while_waiting(loop: LoopThread) -> None:
        loop.watch(0.2, "waiting for a reply")
        time.sleep(3)  # the app's bug, under the 30 s hard deadline

    loop = LoopThread()
    with pytest.raises(LoopBlocked, match="while waiting for a reply") as info:
        loop.run(blocks_while_waiting(loop), timeout=30)
    assert (info.value.timeout, info.value.during, info.value.responsive) == (
        0.2,
        "waiting for a reply",
        False,
    )
    assert info.value.stalled is not None
    assert info.value.stalled > 0.2
    assert loop.blocked
    loop.close()
    loop.thread.join(10)  # unwinds once the sleep ends: here, not during a later test


def test_a_wait_without_its_own_limit_is_held_to_the_runs_stall() -> None:
    async def blocks(loop: LoopThread) -> None:
        loop.watch(None, "handling the connection")
        time.sleep(3)

    loop = LoopThread()
    with pytest.raises(LoopBlocked) as info:
        loop.run(blocks(loop), timeout=30, stall=0.2)
    assert (info.value.timeout, info.value.during) == (0.2, "handling the connection")
    loop.close()
    loop.thread.join(10)


def test_our_own_code_outside_waits_is_held_only_to_the_hard_deadline() -> None:
    async def busy_in_our_code() -> str:
        time.sleep(1.5)  # e.g. validating a huge reply: no wait on the app is in progress
        return "done"

    with LoopThread() as loop:
        assert loop.run(busy_in_our_code(), timeout=30, stall=0.01) == "done"
        assert loop.usable


def test_a_loop_that_waits_is_not_blocked_however_long_it_waits() -> None:
    async def waits(loop: LoopThread) -> str:
        loop.watch(0.05, "waiting for replies")
        await asyncio.sleep(1.5)  # idle, not blocked: the heartbeat keeps running
        loop.watch(None, "handling the connection")
        await asyncio.sleep(1.5)
        return "done"

    with LoopThread() as loop:
        assert loop.run(waits(loop), timeout=10, stall=0.05) == "done"
        assert loop.usable


def test_keyboard_interrupt_in_an_app_task_stays_in_the_task() -> None:
    async def interrupts() -> None:
        raise KeyboardInterrupt

    async def starts_it() -> BaseException | None:
        task = asyncio.get_running_loop().create_task(interrupts())
        await asyncio.sleep(0.05)
        return task.exception()

    with LoopThread() as loop:
        assert isinstance(loop.run(starts_it(), timeout=5), KeyboardInterrupt)
        assert loop.usable
        assert loop.run(add(1, 2), timeout=1) == 3


def test_time_spent_in_our_code_before_a_wait_is_not_held_against_the_app() -> None:
    async def ours_then_a_wait(loop: LoopThread) -> str:
        time.sleep(1.5)  # our own code (checks, validation) between two waits
        loop.watch(0.05, "waiting for replies")
        await asyncio.sleep(0.3)
        loop.watch(None, "")
        return "done"

    with LoopThread() as loop:
        assert loop.run(ours_then_a_wait(loop), timeout=30) == "done"


def test_the_loop_thread_writes_its_waits_and_heartbeat_for_the_watcher() -> None:
    shared = mmap.mmap(-1, vitals.SIZE)
    signs = vitals.Vitals(shared)
    vitals.install(signs)
    seen: list[vitals.Snapshot] = []
    try:
        with LoopThread() as loop:

            async def waits() -> None:
                loop.watch(0.25, "waiting for a reply")
                seen.append(vitals.read(shared))
                await asyncio.sleep(0.25)  # the heartbeat (every 0.1 s) moves the beat on
                seen.append(vitals.read(shared))
                loop.watch(None, "")

            loop.run(waits(), timeout=5)
            seen.append(vitals.read(shared))
    finally:
        vitals.install(None)
    assert seen[0].limit == 0.25
    assert seen[0].during == "waiting for a reply"
    assert seen[1].beat > seen[0].beat
    assert seen[2].overdue_at() == math.inf  # the run ended: nothing of the app's runs
    assert vitals.current() is None
