"""Whether an app is provably idle: the verdict on tasks and on the loop, judged directly."""

from __future__ import annotations

import asyncio
import socket
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ws_routes.driver.idle import Verdict, not_the_apps, verdict


def judged(
    make: Callable[[asyncio.Future[None]], Awaitable[Any]], *, loop: Any = None, **kw: Any
) -> Verdict:
    """The verdict on one task running ``make(input)``, once it has settled into its wait."""

    async def main() -> Verdict:
        running = asyncio.get_running_loop()
        client: asyncio.Future[None] = running.create_future()  # "our receive()"
        task = asyncio.ensure_future(make(client))
        for _ in range(5):
            await asyncio.sleep(0)
        found = verdict(
            loop or running,
            [task],
            kw.pop("jobs", ()),
            inputs={client},
            deadline=running.time() + kw.pop("within", 10.0),
        )
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return found

    result: Verdict = asyncio.run(main())
    return result


async def on_client(client: asyncio.Future[None]) -> None:
    await client


async def on_queue(_client: asyncio.Future[None]) -> None:
    await asyncio.Queue[None]().get()


def test_waiting_on_the_client_or_on_loop_primitives_is_idle() -> None:
    assert judged(on_client).idle
    assert judged(on_queue).idle
    assert judged(lambda _: asyncio.Event().wait()).idle
    assert judged(lambda _: asyncio.Lock().acquire()).idle


def test_an_async_generator_between_is_seen_through() -> None:
    # ``async for`` awaits the generator's asend object, which hides the queue the generator
    # waits on from the coroutine chain.
    async def frames() -> AsyncIterator[int]:
        while True:
            yield await asyncio.Queue[int]().get()

    async def consume(_client: asyncio.Future[None]) -> None:
        async for _ in frames():
            pass

    assert judged(consume).idle


def test_tasks_awaited_through_gather_wait_and_await_are_judged_too() -> None:
    async def gathered(client: asyncio.Future[None]) -> None:
        await asyncio.gather(on_queue(client), client)

    async def waited(client: asyncio.Future[None]) -> None:
        await asyncio.wait([asyncio.ensure_future(on_queue(client))])

    async def awaited(client: asyncio.Future[None]) -> None:
        await asyncio.ensure_future(on_queue(client))

    for make in (gathered, waited, awaited):
        assert judged(make).idle


def test_an_unknown_future_is_opaque_and_watched() -> None:
    unknown: list[asyncio.Future[None]] = []

    async def opaque(_client: asyncio.Future[None]) -> None:
        unknown.append(asyncio.get_running_loop().create_future())
        await unknown[0]

    found = judged(opaque)
    assert (found.idle, found.runnable) == (False, False)
    assert found.futures == tuple(unknown)
    assert "unknown awaitable" in found.reason


def test_timers_before_the_deadline_are_waited_for_and_later_ones_only_delay() -> None:
    soon = judged(lambda _: asyncio.sleep(0.5))
    assert (soon.idle, soon.wake_at is not None, soon.reason) == (False, True, "a timer is pending")
    late = judged(lambda _: asyncio.sleep(30))
    assert (late.idle, late.later) == (True, True)  # nothing in time: decided, as a timeout


def test_our_own_timers_do_not_count() -> None:
    @not_the_apps
    def heartbeat() -> None:
        pass

    async def beside_our_timer(client: asyncio.Future[None]) -> None:
        asyncio.get_running_loop().call_later(0.5, heartbeat)
        await client

    found = judged(beside_our_timer)
    assert (found.idle, found.later) == (True, False)


def test_runnable_work_threads_and_io_are_not_idle() -> None:
    async def spinning(_client: asyncio.Future[None]) -> None:
        while True:
            await asyncio.sleep(0)

    assert judged(spinning).runnable

    job: Any = types.SimpleNamespace(done=lambda: False)
    assert judged(on_client, jobs=[job]).reason == "a thread of the app is running"

    left, right = socket.socketpair()
    try:

        async def reading(client: asyncio.Future[None]) -> None:
            asyncio.get_running_loop().add_reader(left.fileno(), lambda: None)
            try:
                await client
            finally:
                asyncio.get_running_loop().remove_reader(left.fileno())

        assert judged(reading).reason == "I/O is pending"
    finally:
        left.close()
        right.close()


def test_a_loop_that_cannot_be_inspected_counts_only_the_client_as_idle() -> None:
    blind = types.SimpleNamespace()  # no _ready, _scheduled, _selector
    assert judged(on_client, loop=blind).idle
    assert not judged(on_queue, loop=blind).idle
